package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSilenceAlert: an admin, and a manager on an alert of their own
// team, silence a firing alert on /alerts; the row shows it silenced and
// GET /api/silences lists the silence.
func TestSilenceAlert(t *testing.T) {
	h := need(t)
	for _, role := range []string{"admin", "manager"} {
		t.Run(role, func(t *testing.T) { silenceAlert(t, h, role) })
	}
}

func silenceAlert(t *testing.T, h *harness, role string) {
	s := newSession(t, h, role, h.demo.base)
	s.signIn()

	type alert struct {
		Key         string `json:"key"`
		Rule        string `json:"rule"`
		SubjectType string `json:"subject_type"`
		Subject     string `json:"subject"`
	}
	var firing struct {
		Alerts []alert `json:"alerts"`
	}
	if st := s.api("/api/alerts?state=firing", &firing); st != http.StatusOK {
		t.Fatalf("GET /api/alerts?state=firing: %d", st)
	}
	if len(firing.Alerts) == 0 {
		t.Fatalf("the demo has no firing alert the %s may silence", role)
	}
	if st := s.open("/alerts"); st != http.StatusOK {
		t.Fatalf("/alerts: status %d", st)
	}
	s.waitFor("table#alerts with rows", `document.querySelectorAll('table#alerts tr[data-alert-key]').length > 0`, 20*time.Second)

	// The first firing alert the page shows with a silence button.
	shown := must[[]string](s, `Array.from(document.querySelectorAll('table#alerts tr[data-alert-key]')).filter(function (tr) {
		return tr.dataset.silenced !== 'true' && tr.querySelector('button.silence');
	}).map(function (tr) { return tr.dataset.alertKey; })`)
	var target alert
	for _, k := range shown {
		for _, a := range firing.Alerts {
			if a.Key == k && target.Key == "" {
				target = a
			}
		}
	}
	if target.Key == "" {
		t.Fatalf("no row of table#alerts is a firing alert with a button.silence (rows %d, firing %d)", len(shown), len(firing.Alerts))
	}
	row := `table#alerts tr[data-alert-key=` + cssString(target.Key) + `]`
	s.do("opening the silence form", chromedp.Click(chromedp.CSS(row+` button.silence`)))
	s.waitFor("form#silence-form", `(function () {
		var f = document.querySelector('form#silence-form');
		return f && f.offsetParent !== null && f.querySelector('textarea[name=reason]') && f.querySelector('button#silence-submit');
	})()`, 10*time.Second)

	// An end or a duration when the form has none filled in.
	must[bool](s, `(function () {
		var f = document.querySelector('form#silence-form');
		var until = f.querySelector('input[name=until]'), dur = f.querySelector('[name=duration]');
		if (until && !until.value) {
			var d = new Date(Date.now() + 2 * 3600 * 1000), p = function (n) { return String(n).padStart(2, '0'); };
			var local = d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes());
			until.value = until.type === 'datetime-local' ? local : until.type === 'date' ? local.slice(0, 10) : d.toISOString();
			until.dispatchEvent(new Event('input', {bubbles: true}));
			until.dispatchEvent(new Event('change', {bubbles: true}));
		}
		if (dur && !dur.value && dur.tagName !== 'SELECT') {
			dur.value = '2h';
			dur.dispatchEvent(new Event('input', {bubbles: true}));
		}
		return true;
	})()`)
	reason := "e2e: silenced by the browser test as " + role
	s.do("silencing",
		chromedp.SendKeys(chromedp.CSS(`form#silence-form textarea[name=reason]`), reason),
		chromedp.Click(chromedp.CSS(`button#silence-submit`)),
	)
	s.waitFor("the row to show it silenced", `(function () {
		var tr = document.querySelector(`+jsString(row)+`);
		return tr && tr.dataset.silenced === 'true';
	})()`, 15*time.Second)

	var silences struct {
		Silences []struct {
			Rule        string `json:"rule"`
			SubjectType string `json:"subject_type"`
			Subject     string `json:"subject"`
			Comment     string `json:"comment"`
			CreatedBy   string `json:"created_by"`
			Active      bool   `json:"active"`
		} `json:"silences"`
	}
	if st := s.api("/api/silences", &silences); st != http.StatusOK {
		t.Fatalf("GET /api/silences: %d", st)
	}
	found := false
	for _, x := range silences.Silences {
		if x.Comment != reason {
			continue
		}
		found = true
		if !x.Active {
			t.Errorf("the new silence is not active: %+v", x)
		}
		if x.Rule != "" && x.Rule != target.Rule || x.Subject != "" && x.Subject != target.Subject {
			t.Errorf("the silence %+v does not match the alert %+v", x, target)
		}
		if x.Rule == "" && x.Subject == "" {
			t.Errorf("the silence matches every alert: %+v", x)
		}
		if x.CreatedBy != h.demo.logins[role].Login {
			t.Errorf("the silence was created by %q, want %q", x.CreatedBy, h.demo.logins[role].Login)
		}
	}
	if !found {
		t.Errorf("GET /api/silences does not list a silence with the reason %q: %+v", reason, silences.Silences)
	}
	s.waitFor("table#silences to list it", `(document.querySelector('table#silences') || {textContent: ''}).textContent.indexOf(`+jsString(reason)+`) >= 0`, 10*time.Second)
	s.checkPage("alerts_silenced", nil)
}
