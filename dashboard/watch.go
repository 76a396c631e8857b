package dashboard

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// WatchOption configures Watch.
type WatchOption func(*watchOptions)

type watchOptions struct {
	log   *slog.Logger
	check func(ctx context.Context, s *Set) error
}

// WithLogger logs reloads and refused changes there (default slog.Default()).
func WithLogger(l *slog.Logger) WatchOption { return func(o *watchOptions) { o.log = l } }

// WithCheck runs check on every set loaded (e.g. s.Check against the
// warehouse); a set it refuses is treated as a bad change.
func WithCheck(check func(ctx context.Context, s *Set) error) WatchOption {
	return func(o *watchOptions) { o.check = check }
}

// Watcher holds the last good set of a folder.
type Watcher struct {
	mu      sync.Mutex
	set     *Set
	lastErr error
	done    chan struct{}
}

// Current is the last set that loaded (and passed the check).
func (w *Watcher) Current() *Set {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.set
}

// Err is why the last change was refused (nil once a good set loads).
func (w *Watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

// Done is closed when the watcher stops (ctx ended).
func (w *Watcher) Done() <-chan struct{} { return w.done }

// Watch loads dir (an error stops start-up: nothing is watched), then
// every interval compares the files' modification times and sizes with the
// last look (fsnotify is not used: polling works on every file system,
// mounted volumes included); when a file was added, changed or removed it
// loads the folder again. A good set replaces the current one and is passed
// to onChange; a bad one is logged with every problem and the last good set
// stays in force.
func Watch(ctx context.Context, dir string, interval time.Duration, onChange func(*Set), opts ...WatchOption) (*Watcher, error) {
	o := watchOptions{log: slog.Default()}
	for _, f := range opts {
		f(&o)
	}
	load := func() (*Set, error) {
		s, err := Load(dir)
		if err == nil && o.check != nil {
			err = o.check(ctx, s)
		}
		return s, err
	}
	stamp := snapshot(dir)
	set, err := load()
	if err != nil {
		return nil, err
	}
	w := &Watcher{set: set, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			now := snapshot(dir)
			if now == stamp {
				continue
			}
			stamp = now
			s, err := load()
			if err != nil {
				o.log.Error("dashboards: change refused, keeping the previous dashboards", "dir", dir, "error", err)
				w.mu.Lock()
				w.lastErr = err
				w.mu.Unlock()
				continue
			}
			w.mu.Lock()
			w.set, w.lastErr = s, nil
			w.mu.Unlock()
			o.log.Info("dashboards: reloaded", "dir", dir, "dashboards", len(s.Dashboards))
			if onChange != nil {
				onChange(s)
			}
		}
	}()
	return w, nil
}

// snapshot is the folder's dashboard files with their modification times
// and sizes, as one comparable string.
func snapshot(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "error: " + err.Error()
	}
	var b []byte
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		b = append(b, e.Name()...)
		b = append(b, 0)
		b = info.ModTime().AppendFormat(b, time.RFC3339Nano)
		b = append(b, 0)
		b = append(b, []byte(time.Duration(info.Size()).String())...)
		b = append(b, '\n')
	}
	return string(b)
}
