package generate

import (
	"testing"
)

func TestDebugAttainment(t *testing.T) {
	msgs := history(t, Options{Seed: 7, Now: testNow, Days: 240})
	rev := map[string]float64{}
	tg := map[string]float64{}
	renew := map[string]float64{}
	nb := map[string]float64{}
	for _, m := range msgs {
		e, _ := checkEvent(m.Value)
		switch e.Type {
		case "contract.signed":
			mo := e.Occurred.Format("2006-01")
			k := e.str("owner_id") + " " + mo
			rev[k] += e.num("amount")
			if e.str("kind") == "renewal" {
				renew[mo] += e.num("amount")
			} else {
				nb[mo] += e.num("amount")
			}
		case "target.set":
			if e.str("metric") == "revenue" {
				tg[e.str("employee_id")+" "+e.str("month")] = e.num("value")
			}
		}
	}
	for _, m := range []string{"2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"} {
		var r, g float64
		n := 0
		for k, v := range tg {
			if k[6:] == m {
				r += rev[k]
				g += v
				n++
			}
		}
		t.Logf("%s: reps %d revenue %.0f target %.0f attainment %.2f renewals %.0f new business %.0f", m, n, r, g, r/g, renew[m], nb[m])
	}
}
