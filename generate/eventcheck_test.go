package generate

import (
	"bytes"
	"testing"

	pevent "github.com/pulsekpi/pulse/event"
)

// TestEventCheck runs the warehouse's own validator (package event) over the
// generated messages: all valid without BadRate, and with BadRate exactly the
// replaced messages refused.
func TestEventCheck(t *testing.T) {
	msgs, _ := defaultHistory(t)
	for i, m := range msgs {
		if err := pevent.Check(m.Value); err != nil {
			t.Fatalf("message %d refused by event.Check: %v\n%s", i, err, m.Value)
		}
	}
	o := Options{Seed: 3, Now: testNow, Days: 30, Employees: 40}
	good := history(t, o)
	o.BadRate = 0.05
	bad := history(t, o)
	refused := 0
	for i := range bad {
		err := pevent.Check(bad[i].Value)
		if err != nil {
			refused++
		}
		if changed := !bytes.Equal(good[i].Value, bad[i].Value); changed != (err != nil) {
			t.Errorf("message %d: replaced %v, event.Check: %v\n%s", i, changed, err, bad[i].Value)
		}
	}
	share := float64(refused) / float64(len(bad))
	t.Logf("event.Check refused %d of %d (%.2f%%)", refused, len(bad), 100*share)
	if share < 0.04 || share > 0.06 {
		t.Errorf("refused share %.4f, want about 0.05", share)
	}
}
