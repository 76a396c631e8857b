package server

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/internal/testkit"
)

// TestRunWithoutEvents: the detail of a run that saw no event (a new
// install's first run) answers with a null cut. It answered 500 before,
// because the cut is stored as -infinity, which JSON cannot carry; the
// soak run found it.
func TestRunWithoutEvents(t *testing.T) {
	w := testkit.Warehouse(t)
	testkit.Transform(t, w, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	d, err := scanRun(w.DB().QueryRow(runSelect + ` ORDER BY r.run_id DESC LIMIT 1`))
	if err != nil {
		t.Fatal(err)
	}
	if d.Cut != nil {
		t.Errorf("cut %v, want none", d.Cut)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatalf("the run as JSON: %v", err)
	}
	var back map[string]any
	json.Unmarshal(b, &back)
	if v, ok := back["cut"]; !ok || v != nil {
		t.Errorf("cut in JSON: %v (present %v), want null", v, ok)
	}
}
