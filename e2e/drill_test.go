package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDrillToEvent: from a KPI link on the executive dashboard to the
// events behind the figure, and from one of them to the Kafka message it
// came from.
func TestDrillToEvent(t *testing.T) {
	h := need(t)
	s := newSession(t, h, "executive", h.demo.base)
	s.signIn()
	if st := s.open("/dashboards/executive"); st != http.StatusOK {
		t.Fatalf("/dashboards/executive: %d", st)
	}
	s.waitFor("the executive dashboard", `document.querySelector('#dashboard[data-loaded="true"]')`, 45*time.Second)
	links := must[[]string](s, `Array.from(new Set(Array.from(document.querySelectorAll('#dashboard a[href^="/drill?"]')).map(function (a) {
		return a.getAttribute('href');
	})))`)
	if len(links) == 0 {
		t.Fatalf("the executive dashboard has no KPI link to /drill")
	}
	// The first link whose figure has events behind it (a KPI of the
	// running period can have none yet).
	var href string
	for _, l := range links {
		var d struct {
			Rows [][]any `json:"rows"`
		}
		st := s.api("/api/drill"+strings.TrimPrefix(l, "/drill"), &d)
		if st != http.StatusOK {
			t.Errorf("GET /api/drill for the dashboard's link %s: %d", l, st)
			continue
		}
		if len(d.Rows) > 0 {
			href = l
			break
		}
	}
	if href == "" {
		t.Fatalf("no KPI link of the executive dashboard has events behind it: %v", links)
	}
	s.do("following the KPI link", chromedp.Click(chromedp.CSS(`#dashboard a[href=`+cssString(href)+`]`)))
	s.waitFor("the drill page's rows", `location.pathname === '/drill' && document.querySelectorAll('table#drill-rows tbody tr').length > 0`, 20*time.Second)
	noLink := must[int](s, `Array.from(document.querySelectorAll('table#drill-rows tbody tr')).filter(function (tr) {
		return !tr.querySelector('a.event-link[href^="/events/"]');
	}).length`)
	if noLink > 0 {
		t.Errorf("%d rows of table#drill-rows have no a.event-link to /events/", noLink)
	}
	s.checkPage("drill", nil)

	event := must[string](s, `document.querySelector('table#drill-rows a.event-link').getAttribute('href')`)
	s.do("opening an event", chromedp.Click(chromedp.CSS(`table#drill-rows a.event-link`)))
	s.waitFor("the event page", `location.pathname.indexOf('/events/') === 0 && document.querySelector('dl#event')`, 15*time.Second)
	var ev struct {
		EventID   string `json:"event_id"`
		Topic     string `json:"kafka_topic"`
		Partition int64  `json:"kafka_partition"`
		Offset    int64  `json:"kafka_offset"`
	}
	if st := s.api("/api/events/"+strings.TrimPrefix(event, "/events/"), &ev); st != http.StatusOK {
		t.Fatalf("GET /api%s: %d", event, st)
	}
	// The page fills dl#event from the API after it loads.
	s.waitFor("dl#event to show the event", `document.querySelector('dl#event').textContent.indexOf(`+jsString(ev.Topic)+`) >= 0`, 15*time.Second)
	text := must[string](s, `document.querySelector('dl#event').textContent`)
	for name, want := range map[string]string{"topic": ev.Topic, "partition": fmt.Sprint(ev.Partition), "offset": fmt.Sprint(ev.Offset)} {
		if want == "" || !strings.Contains(text, want) {
			t.Errorf("dl#event of %s does not show the %s %q: %.300q", event, name, want, text)
		}
	}
	s.checkPage("event", nil)
}
