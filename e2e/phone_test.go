package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPhoneLayout: a dashboard on a 390×844 phone renders its charts and
// does not scroll sideways.
func TestPhoneLayout(t *testing.T) {
	h := need(t)
	s := newSession(t, h, "executive", h.demo.base)
	s.do("emulating a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	s.signIn()
	if st := s.open("/dashboards/executive"); st != http.StatusOK {
		t.Fatalf("/dashboards/executive: %d", st)
	}
	s.waitFor("the executive dashboard", `document.querySelector('#dashboard[data-loaded="true"]')`, 45*time.Second)
	type size struct {
		Scroll int `json:"scroll"`
		Inner  int `json:"inner"`
	}
	got := must[size](s, `({scroll: document.scrollingElement.scrollWidth, inner: window.innerWidth})`)
	if got.Inner != 390 {
		t.Errorf("innerWidth %d, want the phone's 390", got.Inner)
	}
	if got.Scroll > got.Inner {
		t.Errorf("the page is %dpx wide on a %dpx phone: it scrolls sideways", got.Scroll, got.Inner)
	}
	for _, tl := range must[[]domTile](s, readTiles) {
		if chartKinds[tl.Kind] && (tl.State != "ready" || !tl.ECharts || tl.Series == 0) {
			t.Errorf("on the phone, chart %s is %q (echarts %v, series with data %d)", tl.ID, tl.State, tl.ECharts, tl.Series)
		}
	}
	s.checkPage("phone_dashboard_executive", nil)
}
