package drill_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/drill"
	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/internal/testkit"
	"github.com/pulsekpi/pulse/transform"
)

// Hand-made cases of attribution, where a drill-down could easily blame
// the wrong person: a move between teams, a customer changing owner, a
// reassigned ticket, a payment on an unknown contract.
func TestAttributionAsMarts(t *testing.T) {
	ctx := context.Background()
	w := testkit.Warehouse(t)
	ev := testkit.Event
	emp := func(id, at, team string) []byte {
		return ev("u"+id+team, "employee.upserted", at,
			fmt.Sprintf(`{"employee_id":%q,"name":"N %s","role":"sales","team_id":%q,"active":true}`, id, id, team))
	}
	cust := func(id, at, owner string) []byte {
		return ev("c"+id+owner, "customer.upserted", at,
			fmt.Sprintf(`{"customer_id":%q,"name":"C %s","owner_id":%q,"stage":"customer","phone":"1"}`, id, id, owner))
	}
	for topic, evs := range map[string][][]byte{
		"crm.events": {
			emp("e1", "2026-09-01T00:00:00Z", "t1"), emp("e2", "2026-09-01T00:00:00Z", "t1"), emp("e3", "2026-09-01T00:00:00Z", "t2"),
			// e2 moves to t2 on 20 October: October is t2's
			emp("e2", "2026-10-20T00:00:00Z", "t2"),
			// c1 passes from e1 to e3 on 25 October
			cust("c1", "2026-09-02T00:00:00Z", "e1"), cust("c1", "2026-10-25T00:00:00Z", "e3"),
			cust("c2", "2026-09-02T00:00:00Z", "e2"),
			ev("f1", "followup.logged", "2026-10-10T10:00:00Z", `{"followup_id":"f1","customer_id":"c1","employee_id":"e1","channel":"visit"}`),
		},
		"finance.events": {
			ev("k1", "contract.signed", "2026-10-05T09:00:00Z", `{"contract_id":"k1","customer_id":"c1","owner_id":"e1","amount":100}`),
			ev("k2", "contract.signed", "2026-10-06T09:00:00Z", `{"contract_id":"k2","customer_id":"c2","owner_id":"e2","amount":150}`),
			ev("p1", "payment.received", "2026-10-09T09:00:00Z", `{"payment_id":"p1","invoice_id":"i1","contract_id":"k1","amount":30}`),
			ev("px", "payment.received", "2026-10-09T09:00:00Z", `{"payment_id":"px","invoice_id":"ix","contract_id":"kx","amount":5}`),
		},
		"service.events": {
			ev("o1", "ticket.opened", "2026-10-02T09:00:00Z", `{"ticket_id":"T1","customer_id":"c1","priority":"high","assignee_id":"e1"}`),
			ev("a1", "ticket.assigned", "2026-10-03T09:00:00Z", `{"ticket_id":"T1","assignee_id":"e3"}`),
		},
	} {
		if _, err := ingest.Load(ctx, w, topic, evs); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := transform.New(w.DB(), transform.Options{Macros: alert.Statements(alert.DefaultRules()),
		Now: func() time.Time { return time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) },
		Lag: func(context.Context) (int64, error) { return 1, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if run, err := tr.RunNow(ctx, transform.RunRequest{}); err != nil || run.Status != "ok" {
		t.Fatalf("run: %v %+v", err, run)
	}
	defer tr.Stop()
	d, err := drill.New(w.DB(), drill.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kpi, typ, id string
		events       []string
		value        float64
	}{
		{"revenue", "team", "t2", []string{"k2"}, 150},
		{"revenue", "team", "t1", []string{"k1"}, 100},
		{"revenue", "employee", "e2", []string{"k2"}, 150},
		{"collections", "employee", "e1", []string{"p1"}, 30},
		{"collections", "company", "", []string{"p1", "px"}, 35},
		{"customer_coverage", "employee", "e3", []string{"cc1e3"}, 1},
		{"customer_coverage", "employee", "e1", nil, 0},
		{"dormant_customers", "team", "t2", []string{"cc1e3", "cc2e2"}, 1},
		{"tickets_assigned", "employee", "e3", []string{"o1"}, 1},
		{"tickets_assigned", "employee", "e1", nil, 0},
	} {
		res, err := d.Rows(ctx, drill.Request{KPI: c.kpi, PeriodStart: "2026-10-01", SubjectType: c.typ, SubjectID: c.id})
		if err != nil {
			t.Fatalf("%s %s %s: %v", c.kpi, c.typ, c.id, err)
		}
		ei := slices.IndexFunc(res.Columns, func(col drill.Column) bool { return col.Name == "event_id" })
		var events []string
		for _, r := range res.Rows {
			events = append(events, r[ei].(string))
		}
		slices.Sort(events)
		if !slices.Equal(events, c.events) {
			t.Errorf("%s of %s %s: events %v, want %v", c.kpi, c.typ, c.id, events, c.events)
		}
		if c.kpi == "customer_coverage" && c.events == nil {
			if res.Value != nil {
				t.Errorf("%s of %s: value %v, want NULL", c.kpi, c.id, *res.Value)
			}
			continue
		}
		if res.Value == nil || *res.Value != c.value {
			t.Errorf("%s of %s %s: value %v, want %v", c.kpi, c.typ, c.id, res.Value, c.value)
		}
	}

	// a closed period answers its frozen figure, the live one beside it,
	// and the live rows, late ones included
	if err := tr.Close(ctx, "month", "2026-10-01", "test"); err != nil {
		t.Fatal(err)
	}
	testkit.Load(t, w, "finance.events",
		ev("k9", "contract.signed", "2026-10-07T09:00:00Z", `{"contract_id":"k9","customer_id":"c9","owner_id":"e1","amount":7}`),
	)
	if run, err := tr.RunNow(ctx, transform.RunRequest{}); err != nil || run.Status != "ok" {
		t.Fatalf("run: %v %+v", err, run)
	}
	res, err := d.Rows(ctx, drill.Request{KPI: "revenue", PeriodStart: "2026-10-01", SubjectType: "employee", SubjectID: "e1"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Frozen || res.Value == nil || *res.Value != 100 || res.LiveValue == nil || *res.LiveValue != 107 || len(res.Rows) != 2 {
		t.Errorf("closed October: frozen %v, value %v, live %v, %d rows", res.Frozen, res.Value, res.LiveValue, len(res.Rows))
	}
}
