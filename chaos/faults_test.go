package chaos

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// ---------------------------------------------------------------------
// The webhook receiver of the alert-delivery rounds.

// Modes of the receiver.
const (
	hookAccept = "accept" // 200
	hookHang   = "hang"   // no answer until the client goes away
	hookFail   = "fail"   // 500
)

// hook is the webhook channel's receiver: it records every request by
// the message's id, and every 2xx answer with its instant, so that the
// end can count the deliveries each notification got.
type hook struct {
	srv *httptest.Server

	mu       sync.Mutex
	mode     string
	requests int                        // every request
	inflight int                        // hanging now
	ids      map[string]int             // requests by message id
	ok       map[string][]time.Time     // 2xx answers by message id
	keys     map[string]map[string]bool // Idempotency-Keys seen by message id
	bad      []string                   // requests that were not a notification
}

func startHook(t *testing.T) *hook {
	h := &hook{mode: hookAccept, ids: map[string]int{}, ok: map[string][]time.Time{}, keys: map[string]map[string]bool{}}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var m struct {
		ID string `json:"id"`
	}
	if err == nil {
		err = json.Unmarshal(body, &m)
	}
	h.mu.Lock()
	h.requests++
	if err != nil || m.ID == "" {
		h.bad = append(h.bad, fmt.Sprintf("%v: %.200s", err, body))
		h.mu.Unlock()
		http.Error(w, "not a notification", http.StatusBadRequest)
		return
	}
	h.ids[m.ID]++
	if h.keys[m.ID] == nil {
		h.keys[m.ID] = map[string]bool{}
	}
	h.keys[m.ID][r.Header.Get("Idempotency-Key")] = true
	switch h.mode {
	case hookHang:
		// Never a 2xx: the request hangs until Pulse (killed) hangs up, or
		// its own time limit ends it.
		h.inflight++
		h.mu.Unlock()
		<-r.Context().Done()
		h.mu.Lock()
		h.inflight--
		h.mu.Unlock()
		return
	case hookFail:
		h.mu.Unlock()
		http.Error(w, "chaos: receiver down", http.StatusInternalServerError)
		return
	}
	// The answer counts as accepted once written: record it first, so
	// that a kill right after it is seen as after it.
	h.ok[m.ID] = append(h.ok[m.ID], time.Now())
	h.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (h *hook) setMode(mode string) {
	h.mu.Lock()
	h.mode = mode
	h.mu.Unlock()
}

// snapshot is what the receiver has seen so far.
func (h *hook) snapshot() (requests, inflight int, ids map[string]int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids = map[string]int{}
	for k, v := range h.ids {
		ids[k] = v
	}
	return h.requests, h.inflight, ids
}

func (h *hook) accepted(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ok[id])
}

// alertConfig writes the config file routing every alert to the hook, with
// retries quick enough for a test (backoff 200 ms to 2 s) and a time
// limit per attempt long enough for a hanging request to be in flight
// when Pulse is killed.
func alertConfig(t *testing.T, dir string, h *hook) string {
	path := filepath.Join(dir, "pulse.yaml")
	cfg := "alerts:\n" +
		"  channels:\n" +
		"    hook: {kind: webhook, url: \"" + h.srv.URL + "\", timeout: 20s}\n" +
		"  routes:\n" +
		"    - {channels: [hook], rules: [login_gap, low_completeness]}\n" +
		"  delivery:\n" +
		"    poll: 200ms\n" +
		"    backoff_min: 200ms\n" +
		"    backoff_max: 2s\n"
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// notification is one row of GET /api/alerts/notifications.
type notification struct {
	ID        int64  `json:"id"`
	Key       string `json:"key"`
	Episode   int    `json:"episode"`
	Kind      string `json:"kind"`
	Status    string `json:"status"`
	LastError string `json:"last_error"`
}

func (n notification) messageID() string { return fmt.Sprintf("%s#%d/%s", n.Key, n.Episode, n.Kind) }

func (p *pulse) notifications() ([]notification, error) {
	var out struct {
		Notifications []notification `json:"notifications"`
	}
	err := p.call(context.Background(), http.MethodGet, "/api/alerts/notifications?limit=1000000", &out)
	return out.Notifications, err
}

// waitDelivered waits until no notification is pending (every one sent,
// dropped or failed) and returns how many were still pending at timeout.
func (p *pulse) waitDelivered(timeout time.Duration) int {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	pending := -1
	for time.Now().Before(deadline) {
		ns, err := p.notifications()
		if err == nil {
			pending = 0
			for _, n := range ns {
				if n.Status == "pending" {
					pending++
				}
			}
			if pending == 0 {
				return 0
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return pending
}

// alertDelivery is the alert-delivery round: the receiver hangs (or
// answers 500), a transform run queues notifications, Pulse is killed
// while a delivery is in flight, restarted, and the receiver recovers. It
// returns the requests in flight (hanging or refused) at the kill.
func alertDelivery(t *testing.T, round int, p *pulse, h *hook, mode string, killAfter time.Duration) (atKill int) {
	t.Helper()
	h.setMode(mode)
	before, _, _ := h.snapshot()
	// A run evaluates the rules and queues what changed; the notifier is
	// woken at once. Some rounds queue nothing new (nothing changed since
	// the scheduler's last run): then run again, a little later.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := p.transformRun(context.Background(), false); err != nil {
			t.Fatalf("round %d (alert-delivery): transform run: %v", round, err)
		}
		wait := time.Now().Add(2 * time.Second)
		for time.Now().Before(wait) {
			if n, inflight, _ := h.snapshot(); (mode == hookHang && inflight > 0) || (mode == hookFail && n > before) {
				goto deliveries
			}
			time.Sleep(20 * time.Millisecond)
		}
		if time.Now().After(deadline) {
			t.Errorf("round %d (alert-delivery): no notification reached the receiver in 20 s: the round proves nothing", round)
			break
		}
	}
deliveries:
	time.Sleep(killAfter)
	n, inflight, _ := h.snapshot()
	atKill = n - before
	if mode == hookHang {
		atKill = inflight
	}
	p.kill()
	p.start()
	p.waitReady(readyWait)
	// The receiver stays down a little after the restart (the retries of
	// the new process fail too), then recovers.
	time.Sleep(time.Second)
	h.setMode(hookAccept)
	if left := p.waitDelivered(30 * time.Second); left > 0 {
		t.Errorf("round %d (alert-delivery): %d notifications still pending 30 s after the receiver recovered", round, left)
	}
	return atKill
}

// alertResult counts the notifications at the end.
type alertResult struct {
	notifications, sent, dropped, failed, pending int
	accepted, duplicates, excused                 int
}

// checkAlerts: every notification in ops.alert_notifications was
// accepted by the receiver at most once (a second 2xx is allowed only
// across a SIGKILL that fell after the first: the window docs/alerts.md
// names), every sent one at least once, none is pending, and a failed or
// dropped one says why; the receiver accepted nothing that is not a row.
func checkAlerts(t *testing.T, db *sql.DB, h *hook, kills []time.Time) alertResult {
	t.Helper()
	var res alertResult
	rows, err := db.Query(`SELECT notification_id, alert_key, episode, kind, status, coalesce(last_error, ''), attempts FROM ops.alert_notifications`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	killedBetween := func(a, b time.Time) bool {
		for _, k := range kills {
			if !k.Before(a) && !k.After(b) {
				return true
			}
		}
		return false
	}
	seen := map[string]bool{}
	var problems []string
	for rows.Next() {
		var n notification
		var attempts int
		if err := rows.Scan(&n.ID, &n.Key, &n.Episode, &n.Kind, &n.Status, &n.LastError, &attempts); err != nil {
			t.Fatal(err)
		}
		res.notifications++
		id := n.messageID()
		if seen[id] {
			problems = append(problems, fmt.Sprintf("%s queued twice", id))
		}
		seen[id] = true
		oks := h.ok[id]
		res.accepted += len(oks)
		for i := 1; i < len(oks); i++ {
			if killedBetween(oks[i-1], oks[i]) {
				res.excused++
			} else {
				res.duplicates++
				problems = append(problems, fmt.Sprintf("%s accepted %d times, with no kill between (at %s and %s)", id, len(oks),
					oks[i-1].Format("15:04:05.000"), oks[i].Format("15:04:05.000")))
			}
		}
		if len(h.keys[id]) > 1 {
			problems = append(problems, fmt.Sprintf("%s sent with %d different Idempotency-Keys", id, len(h.keys[id])))
		}
		switch n.Status {
		case "sent":
			res.sent++
			if len(oks) == 0 {
				problems = append(problems, fmt.Sprintf("%s recorded as sent, never accepted by the receiver", id))
			}
		case "dropped", "failed":
			if n.Status == "dropped" {
				res.dropped++
			} else {
				res.failed++
			}
			if strings.TrimSpace(n.LastError) == "" {
				problems = append(problems, fmt.Sprintf("%s %s without a reason", id, n.Status))
			}
			if len(oks) > 0 && !killedBetween(oks[0], time.Now()) {
				problems = append(problems, fmt.Sprintf("%s accepted by the receiver but recorded as %s (%s)", id, n.Status, n.LastError))
			}
		default:
			res.pending++
			problems = append(problems, fmt.Sprintf("%s still %s after %d attempts (%s)", id, n.Status, attempts, n.LastError))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for id, oks := range h.ok {
		if !seen[id] {
			problems = append(problems, fmt.Sprintf("the receiver accepted %s %d times; no such notification", id, len(oks)))
		}
	}
	for _, b := range h.bad {
		problems = append(problems, "the receiver got a request that is not a notification: "+b)
	}
	if res.notifications == 0 {
		problems = append(problems, "no notification was queued: the alert rounds proved nothing")
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		t.Errorf("alert notifications (%d: %d sent, %d dropped, %d failed, %d pending): %d problems, e.g.\n  %s",
			res.notifications, res.sent, res.dropped, res.failed, res.pending, len(problems), strings.Join(problems[:min(len(problems), 15)], "\n  "))
	}
	return res
}

// ---------------------------------------------------------------------
// Rebalance: a foreign member in Pulse's consumer group.

const pulseGroup = "pulse" // ingest.group_id's default, which the harness keeps

// rebalance joins Pulse's consumer group with a kafka-go ConsumerGroup of
// the test's, takes the partitions the group hands it, commits the
// broker's high-water marks for them (offsets Pulse must not trust: it
// resumes from DuckDB), holds them for hold, and leaves. It checks that
// Pulse stores nothing of those partitions while another member holds
// them (the rebalance really happened) and returns them.
func rebalance(t *testing.T, round int, c *cluster, p *pulse, hold time.Duration) []tp {
	t.Helper()
	dialer := &kafka.Dialer{Timeout: 10 * time.Second, DualStack: false,
		DialFunc: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, c.real)
		}}
	g, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID: pulseGroup, Brokers: []string{c.real}, Topics: topics, Dialer: dialer,
		HeartbeatInterval: 200 * time.Millisecond, SessionTimeout: time.Second, RebalanceTimeout: 5 * time.Second,
		JoinGroupBackoff: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("round %d (rebalance): joining group %s: %v", round, pulseGroup, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gen, err := g.Next(ctx)
	if err != nil {
		g.Close()
		t.Fatalf("round %d (rebalance): the foreign member's first generation: %v", round, err)
	}
	var held []tp
	commit := map[string]map[int]int64{}
	hwm := c.hwms(t)
	for topic, parts := range gen.Assignments {
		for _, a := range parts {
			k := tp{topic, a.ID}
			held = append(held, k)
			if commit[topic] == nil {
				commit[topic] = map[int]int64{}
			}
			commit[topic][a.ID] = hwm[k]
		}
	}
	sort.Slice(held, func(i, j int) bool { return held[i].String() < held[j].String() })
	if len(held) == 0 {
		t.Errorf("round %d (rebalance): the foreign member was given no partition (generation %d)", round, gen.ID)
	}
	// Offsets ahead of what Pulse stored: Pulse resuming from them would
	// skip events.
	if err := gen.CommitOffsets(commit); err != nil {
		t.Logf("round %d (rebalance): committing the foreign member's offsets: %v", round, err)
	}
	// Pulse's readers of these partitions stop with their generation; the
	// batch in hand is stored within a flush interval or two.
	time.Sleep(min(hold/2, time.Second))
	before, hBefore := storedOf(t, p, held), c.hwms(t)
	time.Sleep(hold - min(hold/2, time.Second))
	after, hAfter := storedOf(t, p, held), c.hwms(t)
	p.checkAlive("while another member held partitions")
	for _, k := range held {
		if after[k] != before[k] && hAfter[k] > hBefore[k] {
			t.Errorf("round %d (rebalance): pulse stored %s from %d to %d while the foreign member held it (generation %d)",
				round, k, before[k], after[k], gen.ID)
		}
	}
	if err := g.Close(); err != nil {
		t.Logf("round %d (rebalance): leaving the group: %v", round, err)
	}
	return held
}

func storedOf(t *testing.T, p *pulse, which []tp) map[tp]int64 {
	t.Helper()
	st, err := p.status()
	if err != nil {
		t.Fatalf("GET /api/ingest/status: %v", err)
	}
	all := st.stored()
	out := map[tp]int64{}
	for _, k := range which {
		out[k] = all[k]
	}
	return out
}

// ---------------------------------------------------------------------
// Disk full: the data folder on a tmpfs of its own.

// disk is a tmpfs mounted on Pulse's data folder.
type disk struct {
	dir  string
	size int64 // bytes, as mounted
}

const diskSize = 4 << 30 // tmpfs holds what is written, not its size

// mountDisk mounts a tmpfs on dir, or says why it cannot (not root, no
// mount in this container).
func mountDisk(t *testing.T, dir string) (*disk, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("not root")
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", diskSize), "tmpfs", dir).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("mount -t tmpfs: %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v: %s", dir, err, out)
		}
	})
	return &disk{dir: dir, size: diskSize}, nil
}

func (d *disk) used() int64 {
	var s syscall.Statfs_t
	if err := syscall.Statfs(d.dir, &s); err != nil {
		return 0
	}
	return int64(s.Blocks-s.Bfree) * s.Bsize
}

func (d *disk) resize(size int64) error {
	out, err := exec.Command("mount", "-o", fmt.Sprintf("remount,size=%d", size), d.dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("remount size=%d: %v: %s", size, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (d *disk) fillerPath() string { return filepath.Join(d.dir, "chaos-filler") }

// fill shrinks the tmpfs to what is used plus headroom and fills the rest
// with a filler file until ENOSPC; it returns the filler's size.
func (d *disk) fill(headroom int64) (int64, error) {
	if err := d.resize(d.used() + headroom); err != nil {
		return 0, err
	}
	f, err := os.Create(d.fillerPath())
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	var n int64
	for {
		w, err := f.Write(buf)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// free removes the filler and gives the tmpfs its size back.
func (d *disk) free() error {
	if err := os.Remove(d.fillerPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return d.resize(d.size)
}

// diskFull is the disk-full round: the data folder's tmpfs is filled
// until ENOSPC and held full for hold, then freed. Pulse must keep running
// (no exit, no restart), say so loudly (an error in its log naming the
// full disk, and /readyz or the ingest status reporting the failing
// store) and, once freed, catch up by itself (checked after the round).
func diskFull(t *testing.T, round int, p *pulse, d *disk, hold time.Duration) int64 {
	t.Helper()
	logStart := fileSize(p.logPath)
	filled, err := d.fill(1 << 20)
	if err != nil {
		d.free()
		t.Fatalf("round %d (disk-full): filling the data folder: %v", round, err)
	}
	start := time.Now()
	storedAtFull := storedSum(t, p)
	var notReady, storeErr string
	for time.Since(start) < hold {
		p.checkAlive("with the data folder full")
		if res, err := http.Get("http://" + p.addr + "/readyz"); err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK && notReady == "" {
				notReady = fmt.Sprintf("%s %s", res.Status, strings.TrimSpace(string(b)))
			}
		}
		if st, err := p.status(); err == nil && st.StoreError != "" && storeErr == "" {
			storeErr = st.StoreError
		}
		time.Sleep(200 * time.Millisecond)
	}
	logged := readFrom(p.logPath, logStart)
	storedWhileFull := storedSum(t, p) - storedAtFull
	if err := d.free(); err != nil {
		t.Fatalf("round %d (disk-full): freeing the data folder: %v", round, err)
	}
	p.checkAlive("after the data folder was freed")
	if !strings.Contains(strings.ToLower(logged), "no space left on device") {
		t.Errorf("round %d (disk-full): %.1fs with the data folder full and pulse's log never says so (no \"no space left on device\"); it logged:\n%s",
			round, hold.Seconds(), lastLines(logged, 20))
	}
	if notReady == "" || storeErr == "" {
		t.Errorf("round %d (disk-full): with the data folder full, /readyz said %q and the ingest status's store_error %q: want both to report it",
			round, notReady, storeErr)
	}
	t.Logf("round %d (disk-full): %.1f MiB of filler, full for %.1fs, %d messages stored meanwhile; /readyz: %.160s; store_error: %.160s",
		round, float64(filled)/(1<<20), hold.Seconds(), storedWhileFull, notReady, storeErr)
	return filled
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func readFrom(path string, off int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	f.Seek(off, io.SeekStart)
	b, _ := io.ReadAll(f)
	return string(b)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
