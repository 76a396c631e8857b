// Package testkit builds what the tests of several packages share: a real
// warehouse in a temporary folder, events in the contract's envelope
// stored as ingest stores them, a transform run over them, and users with
// API tokens. Only tests import it.
package testkit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/transform"
	"github.com/pulsekpi/pulse/warehouse"
)

// Warehouse opens a warehouse in t's temporary folder, closed when t ends.
func Warehouse(t testing.TB) *warehouse.Warehouse {
	t.Helper()
	w, err := warehouse.Open(context.Background(), warehouse.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// Event is an event in the contract's envelope; data is its JSON object.
func Event(id, typ, at, data string) []byte {
	return []byte(fmt.Sprintf(`{"event_id":%q,"event_type":%q,"occurred_at":%q,"data":%s}`, id, typ, at, data))
}

// Load stores values on topic as ingest would (ingest.Load).
func Load(t testing.TB, w *warehouse.Warehouse, topic string, values ...[]byte) {
	t.Helper()
	if _, err := ingest.Load(context.Background(), w, topic, values); err != nil {
		t.Fatal(err)
	}
}

// Transform is a transformer over w with the default alert rules, the
// clock stopped at now, after one run that must succeed.
func Transform(t testing.TB, w *warehouse.Warehouse, now time.Time) *transform.Transformer {
	t.Helper()
	tr, err := transform.New(w.DB(), transform.Options{Macros: alert.Statements(alert.DefaultRules()),
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if run, err := tr.RunNow(context.Background(), transform.RunRequest{}); err != nil || run.Status != "ok" {
		t.Fatalf("transform run: %v %+v", err, run)
	}
	return tr
}

// Password is the password Users gives everyone.
const Password = "correct horse battery"

// Users is a user store over w with cheap password hashing, holding
// users (their Password is set to Password), and each user's API token by
// login.
func Users(t testing.TB, w *warehouse.Warehouse, users ...auth.User) (*auth.Store, map[string]string) {
	t.Helper()
	ctx := context.Background()
	st := auth.NewStore(w.DB(), auth.StoreOptions{Params: auth.Params{Memory: 8 << 10, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	tokens := map[string]string{}
	for _, u := range users {
		u.Password = Password
		if _, err := st.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		tok, err := st.CreateToken(ctx, u.Login, "test")
		if err != nil {
			t.Fatal(err)
		}
		tokens[u.Login] = tok
	}
	return st, tokens
}
