// Command serverbench measures the dashboard API as the server issue asks.
//
// On a warehouse of -events generated events, with ingest storing the
// stream's next events at -rate events/s and the transform scheduler (and
// the alerts' evaluation) running as in `pulse run`, a load tool (this
// program again, as a child process) keeps -clients HTTP clients busy on
// loopback, each asking in turn for the tiles that an executive, a manager
// and an employee see on every shipped dashboard with its default filters.
// Three ways of answering take turns, -rounds times, -phase each:
//
//	direct   the same tiles' SQL, scoped as the server scopes it, run on
//	         the warehouse's *sql.DB by -clients goroutines: no HTTP
//	direct4  the same, with at most server.DefaultTileTurns queries at once,
//	         as the server runs them
//	nocache  the server with its tile cache off: every request runs its SQL
//	cached   the server as shipped: a tile runs once per transform run
//	cached5s the same, its cache dropped every 5 s as if a transform run
//	         landed at every scheduler interval: the worst case
//
// The server's overhead is nocache against direct at the same concurrency.
//
// The warehouse is built once per -dir and kept as base.duckdb beside the
// working copy, so a second run starts from the same state in seconds.
//
//	GOMAXPROCS=2 go run -tags duckdb_arrow ./bench/serverbench -events 10000000 -dir /var/tmp/serverbench
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/bench/internal/stream"
	"github.com/pulsekpi/pulse/dashboard"
	"github.com/pulsekpi/pulse/dashboards"
	"github.com/pulsekpi/pulse/generate"
	"github.com/pulsekpi/pulse/server"
	"github.com/pulsekpi/pulse/transform"
	"github.com/pulsekpi/pulse/warehouse"
)

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == "load" {
		err = loadTool(os.Args[2:])
	} else {
		err = run()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "serverbench:", err)
		os.Exit(1)
	}
}

// base records what base.duckdb holds, so that a run with other flags
// rebuilds it.
type base struct {
	Events, Total int
}

func run() error {
	events := flag.Int("events", 10_000_000, "events in the warehouse before the run")
	rate := flag.Int("rate", 10_000, "events/s stored while the clients run")
	clients := flag.Int("clients", 50, "concurrent clients")
	phase := flag.Duration("phase", 15*time.Second, "length of each measured phase")
	rounds := flag.Int("rounds", 2, "turns of direct, nocache and cached")
	warmup := flag.Duration("warmup", 20*time.Second, "ingest and clients before measuring")
	interval := flag.Duration("interval", 5*time.Second, "transform scheduler interval (pulse run's default)")
	dir := flag.String("dir", "", "data folder, kept for the next run (required)")
	tz := flag.String("timezone", "Asia/Shanghai", "business time zone")
	feedFor := flag.Duration("feed", 200*time.Second, "live events generated: this long at -rate (part of the warehouse's identity: changing it rebuilds base.duckdb)")
	profile := flag.Bool("profile", false, "first time each tile's SQL alone, one at a time, before the live traffic")
	flag.Parse()
	if *dir == "" {
		return errors.New("-dir is required: the warehouse is kept there between runs")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return err
	}
	fmt.Printf("serverbench: %d events, %d events/s live, %d clients, GOMAXPROCS=%d, %d CPUs, %s\n",
		*events, *rate, *clients, runtime.GOMAXPROCS(0), runtime.NumCPU(), time.Now().Format(time.DateOnly))

	// The stream: the history, then the live feed for the whole run.
	if need := *warmup + time.Duration(*rounds*5)*(*phase); need+10*time.Second > *feedFor {
		return fmt.Errorf("-feed %v is too short for a %v run: raise it", *feedFor, need)
	}
	total := *events + *rate*int(feedFor.Seconds())
	start := time.Now()
	all := stream.Generate(generate.Options{Seed: 7, Now: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)}, total)
	fmt.Printf("generated %d events in %v\n", len(all), time.Since(start).Round(time.Millisecond))
	history, feed := all[:*events], all[*events:]

	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	want := base{Events: *events, Total: total}
	basePath, work := filepath.Join(*dir, "base.duckdb"), filepath.Join(*dir, "pulse.duckdb")
	reuse := sameBase(filepath.Join(*dir, "base.json"), want) && exists(basePath)
	os.Remove(work + ".wal")
	if reuse {
		if err := copyFile(basePath, work); err != nil {
			return err
		}
		fmt.Println("warehouse: from base.duckdb")
	} else {
		os.Remove(work)
	}

	w, err := warehouse.Open(ctx, warehouse.Options{Dir: *dir, MemoryLimit: "8GB", Logger: log})
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			w.Close()
		}
	}()
	var mu sync.Mutex
	clock := stream.Occurred(history[len(history)-1].Value)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	p := transform.DefaultParams()
	p.Timezone = *tz
	ev, err := alert.New(w.DB(), alert.Options{Logger: log})
	if err != nil {
		return err
	}
	var srvs []*server.Server // their caches are dropped after each run
	var runs atomic.Int64
	tr, err := transform.New(w.DB(), transform.Options{Params: p, Now: now, Logger: log, Interval: *interval,
		Macros: ev.Macros(),
		AfterRun: func(ctx context.Context, run *transform.Run) error {
			built := map[string]bool{}
			for _, m := range run.Models {
				if m.Layer == "alerts" && m.Status == transform.StatusOK {
					built[strings.TrimPrefix(m.Name, "alerts.")] = true
				}
			}
			_, err := ev.Evaluate(ctx, run.ID, run.AsOf, built)
			for _, s := range srvs {
				s.InvalidateTiles()
			}
			runs.Add(1)
			return err
		}})
	if err != nil {
		return err
	}
	if !reuse {
		start = time.Now()
		if err := stream.Store(ctx, w, history, 200_000); err != nil {
			return err
		}
		fmt.Printf("loaded %d events in %v\n", len(history), time.Since(start).Round(time.Millisecond))
		run, err := tr.RunNow(ctx, transform.RunRequest{Full: true})
		if err != nil {
			return err
		}
		if run.Status != "ok" {
			return fmt.Errorf("full rebuild: %s", run.Status)
		}
		fmt.Printf("full rebuild in %.0f ms\n", run.DurationMS)
		// A clean copy for the next run: checkpointed, then copied.
		if err := w.Close(); err != nil {
			return err
		}
		closed = true
		if err := copyFile(work, basePath); err != nil {
			return err
		}
		b, _ := json.Marshal(want)
		if err := os.WriteFile(filepath.Join(*dir, "base.json"), b, 0o644); err != nil {
			return err
		}
		fmt.Println("warehouse built and kept as base.duckdb: run again to measure")
		return nil
	}

	// Users: an executive, a manager of one team and one of their people.
	users := auth.NewStore(w.DB(), auth.StoreOptions{})
	var empID, mgrID string
	if err := w.DB().QueryRowContext(ctx, `SELECT employee_id, manager_id FROM staging.employees e
		WHERE manager_id IS NOT NULL AND active
		  AND NOT EXISTS (SELECT 1 FROM staging.employees r WHERE r.manager_id = e.employee_id)
		  AND manager_id IN (SELECT employee_id FROM staging.employees WHERE manager_id IS NOT NULL)
		ORDER BY employee_id LIMIT 1`).Scan(&empID, &mgrID); err != nil {
		return fmt.Errorf("choosing the bench's manager and employee: %w", err)
	}
	type who struct {
		login    string
		role     auth.Role
		employee string
		token    string
		scope    dashboard.ViewerScope
	}
	people := []*who{{login: "bench-exec", role: auth.RoleExecutive}, {login: "bench-mgr", role: auth.RoleManager, employee: mgrID},
		{login: "bench-emp", role: auth.RoleEmployee, employee: empID}}
	for _, u := range people {
		if _, err := users.AddUser(ctx, auth.User{Login: u.login, Role: u.role, EmployeeID: u.employee,
			Password: "a long enough benchmark password"}); err != nil {
			return err
		}
		if u.token, err = users.CreateToken(ctx, u.login, "serverbench"); err != nil {
			return err
		}
		sc, err := auth.ScopeFor(ctx, w.DB(), auth.Principal{Login: u.login, Role: u.role, EmployeeID: u.employee})
		if err != nil {
			return err
		}
		u.scope = dashboard.ViewerScope{All: sc.All}
		if !sc.All {
			u.scope.EmployeeIDs, u.scope.TeamIDs = sc.EmployeeIDs(), sc.TeamIDs()
		}
		fmt.Printf("  %s (%s %s): sees %d employees, %d teams\n", u.login, u.role, u.employee, len(u.scope.EmployeeIDs), len(u.scope.TeamIDs))
	}

	set, err := dashboard.LoadFS(dashboards.Shipped(), "dashboards")
	if err != nil {
		return err
	}
	newServer := func(cacheEntries int) (*server.Server, error) {
		s := server.New(server.Options{Addr: "127.0.0.1:0", Auth: users, Dashboards: set, Logger: log,
			Tiles: server.TileOptions{DB: w.DB(), Location: loc, Now: now, CacheEntries: cacheEntries}})
		if err := s.Listen(); err != nil {
			return nil, err
		}
		go s.Run(ctx)
		return s, nil
	}
	cached, err := newServer(0)
	if err != nil {
		return err
	}
	nocache, err := newServer(-1)
	if err != nil {
		return err
	}
	srvs = []*server.Server{cached, nocache}

	// What each person's dashboards ask for, found as the UI finds it.
	type tileReq struct {
		who  *who
		path string
		tile *dashboard.Tile
		vals dashboard.Values
	}
	var reqs []tileReq
	base := "http://" + cached.Addr()
	for _, u := range people {
		var list struct {
			Dashboards []struct{ ID string } `json:"dashboards"`
		}
		if err := getJSON(base+"/api/dashboards", u.token, &list); err != nil {
			return err
		}
		for _, d := range list.Dashboards {
			var view struct {
				Tiles   []struct{ ID string } `json:"tiles"`
				Options struct {
					Default struct{ Grain, Team, Employee string } `json:"default"`
				} `json:"options"`
			}
			if err := getJSON(base+"/api/dashboards/"+d.ID, u.token, &view); err != nil {
				return err
			}
			def := view.Options.Default
			dash, _ := set.Get(d.ID)
			for _, t := range view.Tiles {
				q := url.Values{}
				for k, v := range map[string]string{"grain": def.Grain, "team": def.Team, "employee": def.Employee} {
					if v != "" {
						q.Set(k, v)
					}
				}
				path := "/api/dashboards/" + d.ID + "/tiles/" + t.ID + "?" + q.Encode()
				st, err := status(base+path, u.token)
				if err != nil {
					return err
				}
				if st == http.StatusForbidden {
					continue // outside this person's scope: the UI shows it as such
				}
				if st != http.StatusOK {
					return fmt.Errorf("%s as %s: %d", path, u.login, st)
				}
				tile, _ := dash.Tile(t.ID)
				reqs = append(reqs, tileReq{who: u, path: path, tile: tile, vals: dashboard.Values{Grain: def.Grain,
					TeamID: def.Team, EmployeeID: def.Employee, Viewer: u.employee, Lang: "en"}})
			}
		}
	}
	counts := map[string]int{}
	for _, r := range reqs {
		counts[r.who.login]++
	}
	fmt.Printf("requests: %d tiles (%v)\n", len(reqs), counts)
	pathsFile := filepath.Join(*dir, "paths.tsv")
	var pf bytes.Buffer
	for _, r := range reqs {
		fmt.Fprintf(&pf, "%s\t%s\n", r.who.token, r.path)
	}
	if err := os.WriteFile(pathsFile, pf.Bytes(), 0o600); err != nil {
		return err
	}

	if *profile {
		type timing struct {
			what string
			d    time.Duration
		}
		var ts []timing
		var sum time.Duration
		for _, r := range reqs {
			var best time.Duration
			for i := range 3 {
				t0 := time.Now()
				if err := runDirect(ctx, w.DB(), r.tile, r.vals, now().In(loc), r.who.scope); err != nil {
					return fmt.Errorf("%s: %w", r.path, err)
				}
				if d := time.Since(t0); i == 0 || d < best {
					best = d
				}
			}
			ts = append(ts, timing{r.who.login + " " + r.path, best})
			sum += best
		}
		sort.Slice(ts, func(i, j int) bool { return ts[i].d > ts[j].d })
		fmt.Printf("tile SQL alone (best of 3, one at a time): mean %s; slowest:\n", ms(sum/time.Duration(len(ts))))
		for _, t := range ts[:min(15, len(ts))] {
			fmt.Printf("  %9s  %s\n", ms(t.d), t.what)
		}
	}

	// Live traffic from here on: the feed, and the scheduler.
	var stored atomic.Int64
	feedErr := make(chan error, 1)
	go func() {
		// Every 100 ms, what is due at -rate since the start: when a batch
		// took longer, the next one is bigger, as a consumer's next fetch
		// is after a slow store.
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		begin, done := time.Now(), 0
		for {
			select {
			case <-ctx.Done():
				feedErr <- nil
				return
			case <-tick.C:
			}
			due := min(int(float64(*rate)*time.Since(begin).Seconds()), len(feed))
			if due == len(feed) {
				break
			}
			if due == done {
				continue
			}
			batch := feed[done:due]
			done = due
			if err := stream.Store(ctx, w, batch, len(batch)); err != nil && ctx.Err() == nil {
				feedErr <- err
				return
			}
			mu.Lock()
			clock = stream.Occurred(batch[len(batch)-1].Value)
			mu.Unlock()
			stored.Add(int64(len(batch)))
		}
		feedErr <- errors.New("the feed ran out: raise its length")
	}()
	schedDone := make(chan error, 1)
	benchStart := time.Now()
	go func() { schedDone <- tr.Run(ctx) }()

	// direct runs the tiles' SQL as the server would: the latest run's id,
	// then the scoped statement, every row read. Employee leaderboards are
	// scoped to the viewer here where the server widens them to the
	// viewer's team (names and ranks only): the same statement with a
	// longer IN list.
	direct := func(d time.Duration, turns int) (result, error) {
		var sem chan struct{}
		if turns > 0 {
			sem = make(chan struct{}, turns)
		}
		var next atomic.Int64
		lat := make([][]time.Duration, *clients)
		var errs atomic.Int64
		stop := time.Now().Add(d)
		var wg sync.WaitGroup
		for c := range *clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(stop) {
					r := reqs[int(next.Add(1)-1)%len(reqs)]
					t0 := time.Now()
					if sem != nil {
						sem <- struct{}{}
					}
					err := runDirect(ctx, w.DB(), r.tile, r.vals, now().In(loc), r.who.scope)
					if sem != nil {
						<-sem
					}
					if err != nil {
						errs.Add(1)
						continue
					}
					lat[c] = append(lat[c], time.Since(t0))
				}
			}()
		}
		wg.Wait()
		return newResult(slices.Concat(lat...), int(errs.Load()), d), nil
	}
	overHTTP := func(s *server.Server, d time.Duration) (result, error) {
		out, err := exec.CommandContext(ctx, os.Args[0], "load", "-url", "http://"+s.Addr(), "-paths", pathsFile,
			"-clients", fmt.Sprint(*clients), "-for", d.String()).Output()
		if err != nil {
			return result{}, fmt.Errorf("load tool: %w", err)
		}
		var lr loadResult
		if err := json.Unmarshal(out, &lr); err != nil {
			return result{}, fmt.Errorf("load tool's answer: %w", err)
		}
		lat := make([]time.Duration, len(lr.Micros))
		for i, us := range lr.Micros {
			lat[i] = time.Duration(us) * time.Microsecond
		}
		return newResult(lat, lr.Errors, d), nil
	}

	fmt.Printf("warm-up %v (ingest, scheduler and cached clients)\n", *warmup)
	if _, err := overHTTP(cached, *warmup); err != nil {
		return err
	}
	modes := []string{"direct", "direct4", "nocache", "cached", "cached5s"}
	merged := map[string]*result{}
	for round := 1; round <= *rounds; round++ {
		for _, m := range modes {
			runs0, stored0, t0 := runs.Load(), stored.Load(), time.Now()
			var r result
			switch m {
			case "direct":
				r, err = direct(*phase, 0)
			case "direct4":
				r, err = direct(*phase, server.DefaultTileTurns)
			case "nocache":
				r, err = overHTTP(nocache, *phase)
			case "cached":
				r, err = overHTTP(cached, *phase)
			case "cached5s":
				// As if a transform run landed every scheduler interval
				// (5 s, the most often one can): the worst case of cold tiles.
				stop := make(chan struct{})
				go func() {
					tick := time.NewTicker(5 * time.Second)
					defer tick.Stop()
					for {
						select {
						case <-stop:
							return
						case <-tick.C:
							cached.InvalidateTiles()
						}
					}
				}()
				r, err = overHTTP(cached, *phase)
				close(stop)
			}
			if err != nil {
				return err
			}
			el := time.Since(t0).Seconds()
			fmt.Printf("round %d %-8s %s; ingest %.0f events/s, %d transform runs\n", round, m, r,
				float64(stored.Load()-stored0)/el, runs.Load()-runs0)
			if merged[m] == nil {
				merged[m] = &result{}
			}
			merged[m].merge(r)
		}
	}
	select {
	case err := <-feedErr:
		return fmt.Errorf("feed: %w", err)
	default:
	}
	cancel()
	<-schedDone
	var nRuns int
	var avgS, maxS sql.NullFloat64
	if err := w.DB().QueryRow(`SELECT count(*), avg(epoch(finished_at - started_at)), max(epoch(finished_at - started_at))
		FROM ops.transform_runs WHERE status = 'ok' AND NOT full_rebuild AND started_at >= ?`, benchStart).Scan(&nRuns, &avgS, &maxS); err != nil {
		return err
	}
	fmt.Printf("\ntransform runs during the measurement: %d, mean %.0f s, longest %.0f s; events stored %d\n",
		nRuns, avgS.Float64, maxS.Float64, stored.Load())

	fmt.Printf("\n| way | requests | req/s | p50 | p90 | p99 | max | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, m := range modes {
		r := merged[m]
		r.sort()
		fmt.Printf("| %s | %d | %.0f | %s | %s | %s | %s | %d |\n", m, len(r.lat), float64(len(r.lat))/r.secs,
			ms(r.q(0.5)), ms(r.q(0.9)), ms(r.q(0.99)), ms(r.q(1)), r.errors)
	}
	n := merged["nocache"]
	for _, m := range []string{"direct", "direct4"} {
		d := merged[m]
		fmt.Printf("\nserver overhead (nocache against %s): p50 %+.1f%%, p99 %+.1f%%, throughput %+.1f%%", m,
			100*(float64(n.q(0.5))/float64(d.q(0.5))-1), 100*(float64(n.q(0.99))/float64(d.q(0.99))-1),
			100*((float64(len(n.lat))/n.secs)/(float64(len(d.lat))/d.secs)-1))
	}
	fmt.Println()
	return nil
}

// runDirect is the server's work for one tile minus HTTP, authentication
// and JSON: render, scope, the run id, the rows.
func runDirect(ctx context.Context, db *sql.DB, t *dashboard.Tile, v dashboard.Values, now time.Time, vs dashboard.ViewerScope) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	q, err := t.Render(v, now)
	if err != nil {
		return err
	}
	sq, err := q.Scoped(vs)
	if err != nil {
		return err
	}
	var runID int64
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(run_id), 0) FROM ops.transform_runs WHERE status = 'ok'`).Scan(&runID); err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, sq.SQL, sq.Args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	cells := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range cells {
		ptrs[i] = &cells[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
	}
	return rows.Err()
}

type result struct {
	lat    []time.Duration
	errors int
	secs   float64
}

func newResult(lat []time.Duration, errs int, d time.Duration) result {
	r := result{lat: lat, errors: errs, secs: d.Seconds()}
	r.sort()
	return r
}

func (r *result) sort() { sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] }) }

func (r *result) merge(o result) {
	r.lat = append(r.lat, o.lat...)
	r.errors += o.errors
	r.secs += o.secs
}

func (r result) q(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))]
}

func (r result) String() string {
	return fmt.Sprintf("%6d requests (%4.0f/s): p50 %s, p90 %s, p99 %s, max %s, %d errors", len(r.lat),
		float64(len(r.lat))/r.secs, ms(r.q(0.5)), ms(r.q(0.9)), ms(r.q(0.99)), ms(r.q(1)), r.errors)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// loadResult is what the load tool prints: every answered request's
// latency in microseconds, and the failures.
type loadResult struct {
	Micros []int64 `json:"micros"`
	Errors int     `json:"errors"`
	First  string  `json:"first_error,omitempty"`
}

// loadTool is the child process: -clients clients with keep-alive
// connections ask for the paths in turn for -for, and print a loadResult.
func loadTool(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	base := fs.String("url", "", "server base URL")
	paths := fs.String("paths", "", "file of token<TAB>path lines")
	clients := fs.Int("clients", 50, "concurrent clients")
	dur := fs.Duration("for", 20*time.Second, "how long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.Open(*paths)
	if err != nil {
		return err
	}
	type req struct{ token, path string }
	var reqs []req
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		tok, path, ok := strings.Cut(sc.Text(), "\t")
		if ok {
			reqs = append(reqs, req{tok, path})
		}
	}
	f.Close()
	if len(reqs) == 0 {
		return errors.New("no requests")
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients}, Timeout: 30 * time.Second}
	var next atomic.Int64
	var mu sync.Mutex
	var out loadResult
	stop := time.Now().Add(*dur)
	var wg sync.WaitGroup
	for c := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []int64
			fails, first := 0, ""
			for i := int64(c); time.Now().Before(stop); i = next.Add(1) + int64(*clients) {
				r := reqs[int(i)%len(reqs)]
				hreq, _ := http.NewRequest(http.MethodGet, *base+r.path, nil)
				hreq.Header.Set("Authorization", "Bearer "+r.token)
				t0 := time.Now()
				res, err := client.Do(hreq)
				if err == nil {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if err == nil && res.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s: %s", r.path, res.Status)
					}
				}
				if err != nil {
					fails++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				mine = append(mine, time.Since(t0).Microseconds())
			}
			mu.Lock()
			out.Micros = append(out.Micros, mine...)
			out.Errors += fails
			if out.First == "" {
				out.First = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return json.NewEncoder(os.Stdout).Encode(out)
}

func getJSON(u, token string, v any) error {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("GET %s: %s %s", u, res.Status, b)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

func status(u, token string) (int, error) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

func sameBase(path string, want base) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var got base
	return json.Unmarshal(b, &got) == nil && got == want
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
