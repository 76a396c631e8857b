package dashboard_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/generate"
	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/transform"
	"github.com/pulsekpi/pulse/warehouse"
)

type collectSink struct{ msgs []generate.Message }

func (s *collectSink) Send(_ context.Context, msgs []generate.Message) error {
	s.msgs = append(s.msgs, msgs...)
	return nil
}

// genNow is the generated company's present; the warehouse's clock.
var genNow = time.Date(2026, 4, 5, 10, 0, 0, 0, time.UTC)

var (
	whOnce sync.Once
	whDB   *sql.DB
	whErr  error
	whDir  string
)

// testWarehouse is a warehouse holding 20 days of a generated company of 10
// (a few deliberately bad messages among them), transformed once, with the
// alert rules evaluated: every mart and ops table the dashboards read.
// Built once per test binary.
func testWarehouse(t *testing.T) *sql.DB {
	t.Helper()
	whOnce.Do(func() { whDB, whErr = buildWarehouse() })
	if whErr != nil {
		t.Fatal(whErr)
	}
	return whDB
}

func buildWarehouse() (*sql.DB, error) {
	ctx := context.Background()
	var err error
	whDir, err = mkdirTemp()
	if err != nil {
		return nil, err
	}
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: whDir, Threads: 2})
	if err != nil {
		return nil, err
	}
	gen := generate.New(generate.Options{Seed: 1, Days: 20, Employees: 10, Now: genNow, BadRate: 0.01})
	var sink collectSink
	if _, err := gen.History(ctx, &sink); err != nil {
		return nil, err
	}
	byTopic := map[string][][]byte{}
	var topics []string
	for _, m := range sink.msgs {
		if _, ok := byTopic[m.Topic]; !ok {
			topics = append(topics, m.Topic)
		}
		byTopic[m.Topic] = append(byTopic[m.Topic], m.Value)
	}
	for _, topic := range topics {
		if _, err := ingest.Load(ctx, w, topic, byTopic[topic]); err != nil {
			return nil, err
		}
	}
	ev, err := alert.New(w.DB(), alert.Options{})
	if err != nil {
		return nil, err
	}
	tr, err := transform.New(w.DB(), transform.Options{
		Macros:   ev.Macros(),
		Now:      func() time.Time { return genNow },
		AfterRun: ev.AfterRun,
	})
	if err != nil {
		return nil, err
	}
	defer tr.Stop()
	run, err := tr.RunNow(ctx, transform.RunRequest{})
	if err != nil {
		return nil, err
	}
	if run.Status != transform.StatusOK {
		var b strings.Builder
		for _, m := range run.Models {
			if m.Error != "" {
				b.WriteString("\n  " + m.Name + ": " + m.Error)
			}
		}
		return nil, &runError{status: string(run.Status), detail: run.Error + b.String()}
	}
	return w.DB(), nil
}

type runError struct{ status, detail string }

func (e *runError) Error() string { return "transform run " + e.status + ": " + e.detail }
