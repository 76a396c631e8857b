// Command soak runs Pulse as production does, for a long time, and fails
// if its memory or its ingest lag grow without bound.
//
// Every part is a separate process of the real binary, talking over TCP:
//
//	pulse broker --retention   the embedded Kafka-protocol broker
//	pulse generate --live      the company's history, then -rate events/s
//	pulse run                  ingest, transforms, alerts and the server
//
// all with GOMAXPROCS=2. Once the history is stored and a transform run
// has landed, this program keeps -clients dashboard clients busy (an
// executive, a manager and an employee opening every shipped dashboard's
// tiles, in a closed loop on keep-alive connections) and -analysts analysts
// sending ad-hoc SQL through POST /api/query. Every -sample it records the
// ingest lag, the freshness of the marts (now minus the cut of the last
// successful transform run), the tiles' and queries' latencies in that
// window, and the resident memory of each process (samples.csv).
//
// At the end it stops the generator, waits for Pulse to catch up, checks
// that every offset is accounted for exactly once, stops Pulse with
// SIGTERM, and judges the second half of the run (see verdict.go). It exits
// with status 1 if a verdict fails. Heap profiles of pulse run at half-time
// and at the end (heap-half.pb.gz, heap-end.pb.gz, through
// server.debug_addr) show what its Go heap holds: go tool pprof -top.
//
//	make build && GOMAXPROCS=2 go run -tags duckdb_arrow ./bench/soak -pulse bin/pulse -for 30m
//
// With -judge it runs nothing and judges an earlier run's samples.csv
// again, up to -until into the load (the first half hour of a longer run):
//
//	go run -tags duckdb_arrow ./bench/soak -judge /var/tmp/soak/samples.csv -until 30m
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pulsekpi/pulse/generate"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// judgeAgain applies the trend verdicts to an earlier run's samples, e.g.
// the first 30 minutes of a longer run.
func judgeAgain(path string, until time.Duration, rate int) error {
	lim := math.Inf(1)
	if until > 0 {
		lim = until.Seconds()
	}
	samples, err := readSamples(path, lim)
	if err != nil {
		return err
	}
	if len(samples) == 0 {
		return fmt.Errorf("%s: no samples within the first %v", path, until)
	}
	verdicts, split := trends(samples, float64(rate))
	fmt.Printf("%d samples, %.0f s to %.0f s; the second half starts at %.0f s\n%s\n",
		len(samples), samples[0].t, samples[len(samples)-1].t, samples[len(samples)/2].t, split)
	failed := 0
	for _, v := range verdicts {
		fmt.Println(v)
		if !v.ok {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d verdicts failed", failed, len(verdicts))
	}
	return nil
}

type options struct {
	pulse     string
	dir       string
	dur       time.Duration
	rate      int
	clients   int
	analysts  int
	think     time.Duration
	sample    time.Duration
	retention time.Duration
	employees int
	seed      int64
	procs     int
	rssLimit  int64
	pulseEnv  []string // extra PULSE_* settings for pulse run
}

func run() error {
	var o options
	flag.StringVar(&o.pulse, "pulse", "bin/pulse", "the pulse binary (make build)")
	flag.StringVar(&o.dir, "dir", "/var/tmp/soak", "working folder, emptied at the start (data, logs, samples.csv)")
	flag.DurationVar(&o.dur, "for", 30*time.Minute, "how long the measured load runs")
	flag.IntVar(&o.rate, "rate", 10_000, "live events per second")
	flag.IntVar(&o.clients, "clients", 50, "concurrent dashboard clients")
	flag.IntVar(&o.analysts, "analysts", 3, "analysts sending ad-hoc SQL")
	flag.DurationVar(&o.think, "think", 3*time.Second, "each analyst's pause between queries (the default rate limit allows 60 a minute)")
	flag.DurationVar(&o.sample, "sample", 10*time.Second, "sampling interval")
	flag.DurationVar(&o.retention, "retention", 10*time.Minute, "the broker's retention: without one it keeps every message in memory")
	flag.IntVar(&o.employees, "employees", 60, "company size")
	flag.Int64Var(&o.seed, "seed", 1, "generator seed")
	flag.IntVar(&o.procs, "gomaxprocs", 2, "GOMAXPROCS of every process")
	flag.Int64Var(&o.rssLimit, "rss-limit-mb", 4096, "fail if pulse run's resident memory ever exceeds this (MiB)")
	flag.Func("set", "a setting for pulse run as PULSE_NAME=value, e.g. PULSE_WAREHOUSE_TRIM_INTERVAL=0s (repeatable)", func(s string) error {
		if k, _, ok := strings.Cut(s, "="); !ok || !strings.HasPrefix(k, "PULSE_") {
			return fmt.Errorf("want PULSE_NAME=value, got %q", s)
		}
		o.pulseEnv = append(o.pulseEnv, s)
		return nil
	})
	judge := flag.String("judge", "", "judge the samples.csv of an earlier run again instead of running one (with -until and -rate)")
	until := flag.Duration("until", 0, "with -judge: judge only the samples up to this far into the load (0: all)")
	flag.Parse()
	if *judge != "" {
		return judgeAgain(*judge, *until, o.rate)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bin, err := filepath.Abs(o.pulse)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("the pulse binary: %w (make build)", err)
	}
	if err := os.RemoveAll(o.dir); err != nil {
		return err
	}
	data := filepath.Join(o.dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	host, _ := os.Hostname()
	fmt.Printf("soak: %v at %d events/s, %d dashboard clients, %d analysts, GOMAXPROCS=%d on %d CPUs (%s), %s\n",
		o.dur, o.rate, o.clients, o.analysts, o.procs, runtime.NumCPU(), host, time.Now().UTC().Format(time.DateOnly))

	now := time.Now().UTC().Truncate(time.Hour)
	mgr, emp, err := pickPeople(ctx, generate.Options{Seed: o.seed, Employees: o.employees, Now: now})
	if err != nil {
		return err
	}
	env := append(withoutPulseVars(os.Environ()), fmt.Sprintf("GOMAXPROCS=%d", o.procs))
	pulse := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("pulse %s: %w: %s", strings.Join(args, " "), err, errb.String())
		}
		return strings.TrimSpace(out.String()), nil
	}

	// The people who use it, made with the real CLI before Pulse starts.
	type person struct{ login, role, employee, token string }
	people := []*person{{login: "soak-exec", role: "executive"}, {login: "soak-mgr", role: "manager", employee: mgr},
		{login: "soak-emp", role: "employee", employee: emp}}
	for i := range o.analysts {
		people = append(people, &person{login: fmt.Sprintf("soak-analyst-%d", i+1), role: "analyst"})
	}
	for _, p := range people {
		args := []string{"users", "add", "--data", data, "--login", p.login, "--role", p.role}
		if p.employee != "" {
			args = append(args, "--employee", p.employee)
		}
		if _, err := pulse(args...); err != nil {
			return err
		}
		if p.token, err = pulse("users", "token", "--data", data, "--login", p.login, "--name", "soak"); err != nil {
			return err
		}
	}
	adminToken := randomHex(24)

	brokerPort, err := freePort()
	if err != nil {
		return err
	}
	httpPort, err := freePort()
	if err != nil {
		return err
	}
	debugPort, err := freePort()
	if err != nil {
		return err
	}
	brokers := fmt.Sprintf("127.0.0.1:%d", brokerPort)
	procs := map[string]*proc{}
	defer func() { // whatever happened, nothing is left running
		for _, p := range procs {
			p.kill()
		}
	}()
	if procs["broker"], err = startProc(o.dir, "broker", env, bin, "broker", "--port", fmt.Sprint(brokerPort),
		"--retention", o.retention.String(), "--log-level", "warn"); err != nil {
		return err
	}
	if err := waitTCP(ctx, brokers, 30*time.Second); err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	if procs["pulse"], err = startProc(o.dir, "pulse", append(slices.Concat(env, o.pulseEnv), "PULSE_ADMIN_TOKEN="+adminToken, fmt.Sprintf("PULSE_SERVER_DEBUG_ADDR=127.0.0.1:%d", debugPort)),
		bin, "run", "--brokers", brokers, "--data", data, "--addr", fmt.Sprintf("127.0.0.1:%d", httpPort), "--log-level", "warn"); err != nil {
		return err
	}
	if procs["generate"], err = startProc(o.dir, "generate", env, bin, "generate", "--brokers", brokers,
		"--seed", fmt.Sprint(o.seed), "--employees", fmt.Sprint(o.employees), "--now", now.Format(time.RFC3339),
		"--live", "--rate", fmt.Sprint(o.rate), "--log-level", "warn"); err != nil {
		return err
	}

	a := &api{base: fmt.Sprintf("http://127.0.0.1:%d", httpPort), admin: adminToken, debug: fmt.Sprintf("http://127.0.0.1:%d", debugPort),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
	setupStart := time.Now()
	fmt.Println("waiting for the history to be stored and a transform run to land…")
	if err := a.waitSettled(ctx, procs, 10*time.Minute); err != nil {
		return err
	}
	fmt.Printf("settled in %v\n", time.Since(setupStart).Round(time.Second))

	tokens := map[string]string{}
	for _, p := range people[:3] {
		tokens[p.login] = p.token
	}
	reqs, err := a.tileRequests(tokens)
	if err != nil {
		return err
	}
	var analystTokens []string
	for _, p := range people[3:] {
		analystTokens = append(analystTokens, p.token)
	}
	for _, q := range analystQueries { // each must work before the run, or the run measures errors
		if _, err := a.query(analystTokens[0], q); err != nil {
			return fmt.Errorf("analyst query %q: %w", q, err)
		}
	}
	fmt.Printf("load: %d tile requests from %d people, %d clients; %d analysts, %d queries\n",
		len(reqs), len(tokens), o.clients, o.analysts, len(analystQueries))

	s := &soak{o: o, a: a, procs: procs, tiles: newRecorder(), queries: newRecorder(), start: time.Now()}
	s.csv, err = os.Create(filepath.Join(o.dir, "samples.csv"))
	if err != nil {
		return err
	}
	defer s.csv.Close()
	fmt.Fprintln(s.csv, sampleHeader)

	loadCtx, stopLoad := context.WithTimeout(ctx, o.dur)
	defer stopLoad()
	var wg sync.WaitGroup
	var next atomic.Int64
	loadClient := &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: o.clients, MaxConnsPerHost: o.clients}}
	for range o.clients {
		wg.Go(func() {
			for loadCtx.Err() == nil {
				r := reqs[int(next.Add(1)-1)%len(reqs)]
				t0 := time.Now()
				err := get(loadCtx, loadClient, a.base+r.path, r.token, nil)
				if loadCtx.Err() != nil {
					return
				}
				s.tiles.add(time.Since(t0), err)
			}
		})
	}
	for i, tok := range analystTokens {
		wg.Go(func() {
			for k := i; loadCtx.Err() == nil; k++ {
				t0 := time.Now()
				_, err := a.query(tok, analystQueries[k%len(analystQueries)])
				if loadCtx.Err() != nil {
					return
				}
				s.queries.add(time.Since(t0), err)
				select {
				case <-loadCtx.Done():
				case <-time.After(o.think):
				}
			}
		})
	}

	tick := time.NewTicker(o.sample)
	half := time.After(o.dur / 2)
	for loadCtx.Err() == nil {
		select {
		case <-loadCtx.Done():
		case <-half:
			if err := a.heapProfile(filepath.Join(o.dir, "heap-half.pb.gz")); err != nil {
				fmt.Println("heap profile at half-time:", err)
			}
		case <-tick.C:
			if err := s.takeSample(); err != nil {
				return err
			}
		}
	}
	tick.Stop()
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	if err := a.heapProfile(filepath.Join(o.dir, "heap-end.pb.gz")); err != nil {
		fmt.Println("heap profile at the end:", err)
	}
	wg.Wait()

	// The end: the generator stops, Pulse catches up, every offset is
	// accounted for, and SIGTERM stops Pulse cleanly.
	if err := procs["generate"].stop(30 * time.Second); err != nil {
		return fmt.Errorf("stopping the generator: %w", err)
	}
	end, err := a.catchUp(ctx, 10*time.Minute)
	if err != nil {
		return err
	}
	shutdown := time.Now()
	if err := procs["pulse"].stop(10 * time.Minute); err != nil {
		return fmt.Errorf("pulse run did not stop cleanly: %w", err)
	}
	end.shutdown = time.Since(shutdown)
	procs["broker"].stop(30 * time.Second)

	rep := s.report(end)
	fmt.Print(rep.text)
	if err := os.WriteFile(filepath.Join(o.dir, "summary.md"), []byte(rep.text), 0o644); err != nil {
		return err
	}
	if !rep.ok {
		return errors.New("a verdict failed (above)")
	}
	return nil
}

// analystQueries are what the analysts ask, in turn: the marts of
// interfaces.md, grouped and filtered as analysts do.
var analystQueries = []string{
	`SELECT kpi, grain, count(*) AS n, avg(value) AS mean FROM marts.employee_kpis GROUP BY ALL ORDER BY ALL`,
	`SELECT employee_id, sum(value) AS revenue FROM marts.employee_kpis WHERE kpi = 'revenue' AND grain = 'month' GROUP BY 1 ORDER BY 2 DESC LIMIT 20`,
	`SELECT * FROM marts.company_kpis WHERE grain = 'day' ORDER BY period_start DESC LIMIT 200`,
	`SELECT team_id, kpi, max(value) AS best FROM marts.team_kpis WHERE grain = 'week' GROUP BY ALL ORDER BY ALL`,
	`SELECT * FROM marts.scorecards ORDER BY ALL LIMIT 500`,
}

// pickPeople finds, in the generated company, a team manager and one of
// their people, as serverbench does in the warehouse: the employee has a
// manager who in turn has one (not the top), and manages no one.
func pickPeople(ctx context.Context, opts generate.Options) (manager, employee string, err error) {
	var sink employeeSink
	if _, err := generate.New(opts).History(ctx, &sink); err != nil {
		return "", "", fmt.Errorf("generating the company: %w", err)
	}
	managerOf := map[string]string{}
	hasReports := map[string]bool{}
	for id, e := range sink.latest {
		if e.Active {
			managerOf[id] = e.ManagerID
			hasReports[e.ManagerID] = true
		}
	}
	ids := make([]string, 0, len(managerOf))
	for id := range managerOf {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		m := managerOf[id]
		if m != "" && !hasReports[id] && managerOf[m] != "" {
			return m, id, nil
		}
	}
	return "", "", errors.New("no manager with people in the generated company")
}

type employeeSink struct {
	latest map[string]employeeData
}

type employeeData struct {
	EmployeeID string `json:"employee_id"`
	ManagerID  string `json:"manager_id"`
	Active     bool   `json:"active"`
}

func (s *employeeSink) Send(_ context.Context, msgs []generate.Message) error {
	if s.latest == nil {
		s.latest = map[string]employeeData{}
	}
	for _, m := range msgs {
		if !bytes.Contains(m.Value, []byte(`"employee.upserted"`)) {
			continue
		}
		var ev struct {
			Type string       `json:"event_type"`
			Data employeeData `json:"data"`
		}
		if json.Unmarshal(m.Value, &ev) == nil && ev.Type == "employee.upserted" {
			s.latest[ev.Data.EmployeeID] = ev.Data // history is in occurred_at order
		}
	}
	return nil
}

// proc is one child process, its output in <dir>/<name>.log.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func startProc(dir, name string, env []string, bin string, args ...string) (*proc, error) {
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited: %v (see its log)", p.name, p.err)
	default:
		return nil
	}
}

// stop sends SIGTERM and waits up to timeout for a clean exit.
func (p *proc) stop(timeout time.Duration) error {
	if err := p.exited(); err != nil {
		return err
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("%s: still running %v after SIGTERM", p.name, timeout)
	}
}

func (p *proc) kill() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Kill()
		<-p.done
	}
}

// rss is the process's resident memory in bytes (VmRSS).
func (p *proc) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// api talks to pulse run's HTTP API.
type api struct {
	base, admin string
	debug       string // pulse run's runtime profiles (server.debug_addr)
	client      *http.Client
}

// heapProfile saves a heap profile of what is live (after a GC) to path,
// for go tool pprof.
func (a *api) heapProfile(path string) error {
	res, err := a.client.Get(a.debug + "/debug/pprof/heap?gc=1")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return statusError{res.StatusCode}
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// ingest is what /api/ingest/status says, summed over partitions.
type ingest struct {
	lag, next, hwm, stored, refused, dups, unknown int64
	brokerErr, storeErr                            string
}

func (a *api) ingest() (ingest, error) {
	var st struct {
		Partitions []struct {
			StoredOffset int64  `json:"stored_offset"`
			Stored       int64  `json:"events_stored"`
			Refused      int64  `json:"events_refused"`
			Dups         int64  `json:"duplicates_skipped"`
			Unknown      int64  `json:"unknown_events"`
			HWM          *int64 `json:"high_water_mark"`
			Lag          *int64 `json:"lag"`
		} `json:"partitions"`
		BrokerError string `json:"broker_error"`
		StoreError  string `json:"store_error"`
	}
	if err := get(context.Background(), a.client, a.base+"/api/ingest/status", a.admin, &st); err != nil {
		return ingest{}, err
	}
	in := ingest{brokerErr: st.BrokerError, storeErr: st.StoreError}
	for _, p := range st.Partitions {
		in.next += p.StoredOffset
		in.stored += p.Stored
		in.refused += p.Refused
		in.dups += p.Dups
		in.unknown += p.Unknown
		if p.HWM != nil {
			in.hwm += *p.HWM
		}
		if p.Lag != nil {
			in.lag += *p.Lag
		}
	}
	return in, nil
}

// runs are the transform runs: the latest successful one's cut and end,
// and how many finished.
type runs struct {
	lastOK     int64
	cut        time.Time
	okCount    int
	lastDurMS  float64
	failed     int
	inProgress bool
}

func (a *api) runs() (runs, error) {
	var list struct {
		Runs []struct {
			RunID      int64    `json:"run_id"`
			Status     string   `json:"status"`
			DurationMS *float64 `json:"duration_ms"`
		} `json:"runs"`
	}
	if err := get(context.Background(), a.client, a.base+"/api/transforms/runs?limit=1000", a.admin, &list); err != nil {
		return runs{}, err
	}
	var r runs
	for _, run := range list.Runs {
		switch run.Status {
		case "ok":
			r.okCount++
			if r.lastOK == 0 {
				r.lastOK = run.RunID
				if run.DurationMS != nil {
					r.lastDurMS = *run.DurationMS
				}
			}
		case "failed":
			r.failed++
		case "running":
			r.inProgress = true
		}
	}
	if r.lastOK != 0 {
		var d struct {
			Cut time.Time `json:"cut"`
		}
		if err := get(context.Background(), a.client, fmt.Sprintf("%s/api/transforms/runs/%d", a.base, r.lastOK), a.admin, &d); err != nil {
			return runs{}, err
		}
		r.cut = d.Cut
	}
	return r, nil
}

// waitSettled waits until the history is stored (lag under a second of
// traffic) and a transform run has landed after that.
func (a *api) waitSettled(ctx context.Context, procs map[string]*proc, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var caughtUp time.Time
	for ; time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, p := range procs {
			if err := p.exited(); err != nil {
				return err
			}
		}
		in, err := a.ingest()
		if err != nil {
			continue // not listening yet
		}
		if caughtUp.IsZero() {
			if in.hwm > 0 && in.lag < 20_000 {
				caughtUp = time.Now()
			}
			continue
		}
		r, err := a.runs()
		if err == nil && r.lastOK != 0 && r.cut.After(caughtUp.Add(-time.Minute)) {
			return nil
		}
	}
	return fmt.Errorf("not settled within %v", timeout)
}

// tileReq is one tile as a person's dashboard asks for it.
type tileReq struct{ token, path string }

// tileRequests lists every tile each person sees on every dashboard with
// its default filters, as the UI asks for them; tiles outside a person's
// scope (403) are left out, as the UI shows them as such.
func (a *api) tileRequests(tokens map[string]string) ([]tileReq, error) {
	var out []tileReq
	logins := slices.Sorted(func(yield func(string) bool) {
		for l := range tokens {
			if !yield(l) {
				return
			}
		}
	})
	for _, login := range logins {
		tok := tokens[login]
		var list struct {
			Dashboards []struct{ ID string } `json:"dashboards"`
		}
		if err := get(context.Background(), a.client, a.base+"/api/dashboards", tok, &list); err != nil {
			return nil, err
		}
		for _, d := range list.Dashboards {
			var view struct {
				Tiles   []struct{ ID string } `json:"tiles"`
				Options struct {
					Default struct{ Grain, Team, Employee string } `json:"default"`
				} `json:"options"`
			}
			if err := get(context.Background(), a.client, a.base+"/api/dashboards/"+d.ID, tok, &view); err != nil {
				return nil, err
			}
			q := url.Values{}
			def := view.Options.Default
			for k, v := range map[string]string{"grain": def.Grain, "team": def.Team, "employee": def.Employee} {
				if v != "" {
					q.Set(k, v)
				}
			}
			for _, t := range view.Tiles {
				path := "/api/dashboards/" + d.ID + "/tiles/" + t.ID + "?" + q.Encode()
				err := get(context.Background(), a.client, a.base+path, tok, nil)
				var se statusError
				if errors.As(err, &se) && se.code == http.StatusForbidden {
					continue
				}
				if err != nil {
					return nil, fmt.Errorf("%s as %s: %w", path, login, err)
				}
				out = append(out, tileReq{tok, path})
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no tiles to ask for")
	}
	return out, nil
}

// query sends one ad-hoc statement and reads the whole answer.
func (a *api) query(token, sql string) (int64, error) {
	body, _ := json.Marshal(map[string]string{"sql": sql, "format": "json"})
	req, _ := http.NewRequest(http.MethodPost, a.base+"/api/query", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := a.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusOK {
		return n, statusError{res.StatusCode}
	}
	return n, err
}

// final is the state at the end, after the generator stopped.
type final struct {
	in       ingest
	catchUp  time.Duration
	shutdown time.Duration
}

// catchUp waits until Pulse has stored everything the broker holds and
// two successive looks agree.
func (a *api) catchUp(ctx context.Context, timeout time.Duration) (final, error) {
	t0 := time.Now()
	var prev ingest
	for time.Since(t0) < timeout {
		if ctx.Err() != nil {
			return final{}, ctx.Err()
		}
		in, err := a.ingest()
		if err == nil && in.lag == 0 && in.hwm > 0 && in.next == prev.next && in.hwm == prev.hwm {
			return final{in: in, catchUp: time.Since(t0)}, nil
		}
		prev = in
		time.Sleep(2 * time.Second)
	}
	return final{}, fmt.Errorf("pulse did not catch up within %v of the generator stopping", timeout)
}

type statusError struct{ code int }

func (e statusError) Error() string { return fmt.Sprintf("HTTP %d", e.code) }

func get(ctx context.Context, c *http.Client, u, token string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		io.Copy(io.Discard, res.Body)
		return statusError{res.StatusCode}
	}
	if out == nil {
		_, err = io.Copy(io.Discard, res.Body)
		return err
	}
	return json.NewDecoder(res.Body).Decode(out)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitTCP(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// withoutPulseVars keeps the caller's PULSE_* settings away from the
// children, so that the run is the defaults plus the flags above.
func withoutPulseVars(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return strings.HasPrefix(kv, "PULSE_") || strings.HasPrefix(kv, "GOMAXPROCS=")
	})
}
