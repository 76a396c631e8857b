package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// roles are the roles the demo signs in, in the order it prints them.
var roles = []string{"admin", "executive", "analyst", "manager", "employee"}

// credential is one demo sign-in as `pulse demo` prints it.
type credential struct {
	Login, Password string
}

// demo is a running `pulse demo`.
type demo struct {
	base   string // http://127.0.0.1:port
	token  string // admin bearer token, for set-up calls only
	logins map[string]credential
	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited
	err    error         // of Wait, once done is closed
	log    string        // the process's stderr, kept as an artefact
}

var (
	webLine    = regexp.MustCompile(`^\s*web:\s+(http://\S+)`)
	signInLine = regexp.MustCompile(`^\s+(admin|executive|analyst|manager|employee)\s+(\S+)\s+password\s+(\S+)\s*$`)
)

// startDemo builds the binary (or takes $PULSE_E2E_BINARY), starts `pulse
// demo` in a folder of tmp on a free loopback port, reads its address and
// sign-ins from stdout, and waits until ingest has caught up with the
// generated history and a transform run has made the marts of all of it.
func startDemo(ctx context.Context, tmp, artifacts string) (*demo, error) {
	bin := os.Getenv("PULSE_E2E_BINARY")
	if bin == "" {
		bin = filepath.Join(tmp, "pulse")
		build := exec.CommandContext(ctx, "go", "build", "-tags", "duckdb_arrow", "-o", bin, "./cmd/pulse")
		build.Dir = ".."
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building pulse: %w\n%s", err, out)
		}
	}
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	d := &demo{token: hex.EncodeToString(tok), logins: map[string]credential{}, done: make(chan struct{}),
		log: filepath.Join(artifacts, "pulse-demo.log")}

	logFile, err := os.Create(d.log)
	if err != nil {
		return nil, fmt.Errorf("demo log: %w", err)
	}
	// --rate 0: the history only, so that every page sees the same figures
	// and no live transform run competes with the browser for the CPU.
	// --bad-rate: a few malformed events, for the refused-events tiles.
	d.cmd = exec.Command(bin, "demo", "--data", filepath.Join(tmp, "data"),
		"--addr", "127.0.0.1:0", "--broker-port", "0", "--rate", "0", "--bad-rate", "0.002")
	d.cmd.Env = append(withoutPulseVars(os.Environ()), "PULSE_ADMIN_TOKEN="+d.token)
	d.cmd.Stderr = logFile
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := d.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting pulse demo: %w", err)
	}
	go func() {
		d.err = d.cmd.Wait()
		logFile.Close()
		close(d.done)
	}()

	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(logFile, "stdout:", sc.Text())
			select {
			case lines <- sc.Text():
			default: // nobody reads any more: keep draining the pipe
			}
		}
	}()
	if err := d.readStdout(ctx, lines); err != nil {
		return d, d.failed(err)
	}
	if err := d.waitReady(ctx); err != nil {
		return d, d.failed(err)
	}
	return d, nil
}

// readStdout takes the address and the sign-ins from the demo's banner.
func (d *demo) readStdout(ctx context.Context, lines <-chan string) error {
	history := false
	for d.base == "" || !history || len(d.logins) < len(roles) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the demo's address, history and sign-ins: %w", ctx.Err())
		case <-d.done:
			return errors.New("pulse demo exited before printing its sign-ins")
		case l, ok := <-lines:
			if !ok {
				return errors.New("pulse demo closed its stdout before printing its sign-ins")
			}
			if m := webLine.FindStringSubmatch(l); m != nil {
				d.base = strings.TrimSuffix(m[1], "/")
			}
			if strings.HasPrefix(l, "history: ") {
				history = true
			}
			if m := signInLine.FindStringSubmatch(l); m != nil {
				d.logins[m[1]] = credential{Login: m[2], Password: m[3]}
			}
		}
	}
	return nil
}

// waitReady waits for /readyz, for ingest to have stored every generated
// event, and then runs the transforms once, so that the marts hold the
// whole history before the first page opens.
func (d *demo) waitReady(ctx context.Context) error {
	err := poll(ctx, 200*time.Millisecond, func() (bool, error) {
		resp, err := http.Get(d.base + "/readyz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for /readyz: %w", err)
	}
	err = poll(ctx, 500*time.Millisecond, func() (bool, error) {
		var st struct {
			Partitions []struct {
				Stored int64  `json:"events_stored"`
				Lag    *int64 `json:"lag"`
			} `json:"partitions"`
		}
		if err := d.call(ctx, http.MethodGet, "/api/ingest/status", &st); err != nil {
			return false, err
		}
		var stored int64
		for _, p := range st.Partitions {
			if p.Lag == nil || *p.Lag != 0 {
				return false, nil
			}
			stored += p.Stored
		}
		return stored > 0, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for ingest to catch up: %w", err)
	}
	var run struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	if err := d.call(ctx, http.MethodPost, "/api/transforms/run", &run); err != nil {
		return fmt.Errorf("running the transforms: %w", err)
	}
	if run.Status != "ok" {
		return fmt.Errorf("transform run %d: status %q", run.ID, run.Status)
	}
	return nil
}

// call sends a request with the admin token and decodes the JSON answer.
func (d *demo) call(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s %s: decoding %q: %w", method, path, body, err)
	}
	return nil
}

// failed kills a demo that did not come up and names its log.
func (d *demo) failed(err error) error {
	_ = d.cmd.Process.Kill()
	<-d.done
	return fmt.Errorf("%w (demo log: %s)", err, d.log)
}

// stop sends SIGTERM and expects a clean exit (status 0) within wait.
func (d *demo) stop(wait time.Duration) error {
	select {
	case <-d.done:
		return fmt.Errorf("pulse demo had already exited: %v (log: %s)", d.err, d.log)
	default:
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM: %w", err)
	}
	select {
	case <-d.done:
		if d.err != nil {
			return fmt.Errorf("pulse demo after SIGTERM: %w (log: %s)", d.err, d.log)
		}
		return nil
	case <-time.After(wait):
		_ = d.cmd.Process.Kill()
		<-d.done
		return fmt.Errorf("pulse demo still running %s after SIGTERM; killed (log: %s)", wait, d.log)
	}
}

// withoutPulseVars drops PULSE_* variables so that a developer's settings
// do not reach the demo.
func withoutPulseVars(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PULSE_") {
			out = append(out, kv)
		}
	}
	return out
}

// poll calls f every interval until it reports done, fails, or ctx ends.
func poll(ctx context.Context, interval time.Duration, f func() (bool, error)) error {
	for {
		ok, err := f()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}
