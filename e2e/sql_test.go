package e2e

import (
	"context"
	"encoding/csv"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// e2eQuery is the analyst's query: its LIMIT makes it recognisable in the
// history and fixes the row count (the demo has far more rows).
const e2eQuery = `SELECT employee_id, period_start, kpi, value
FROM marts.employee_kpis
WHERE grain = 'month' AND value IS NOT NULL
ORDER BY period_start DESC, employee_id, kpi
LIMIT 37`

// TestSQLQueryAndCSV: an analyst runs a query on /sql, sees its rows,
// downloads them as CSV (the same rows) and finds the query in the
// history.
func TestSQLQueryAndCSV(t *testing.T) {
	h := need(t)
	s := newSession(t, h, "analyst", h.demo.base)
	s.signIn()
	if st := s.open("/sql"); st != http.StatusOK {
		t.Fatalf("/sql as analyst: status %d", st)
	}
	s.waitFor("the SQL editor", `document.querySelector('textarea#sql') && document.querySelector('button#run-query')`, 10*time.Second)
	must[string](s, `document.querySelector('textarea#sql').value = ''`)
	s.do("typing the query",
		chromedp.SendKeys(chromedp.CSS("textarea#sql"), e2eQuery),
		chromedp.Click(chromedp.CSS("button#run-query")),
	)
	s.waitFor("the query's rows or its error", `document.querySelectorAll('table#query-result tbody tr').length > 0 ||
		((document.querySelector('#query-error') || {}).textContent || '').trim() !== ''`, 30*time.Second)
	if msg := must[string](s, `((document.querySelector('#query-error') || {}).textContent || '').trim()`); msg != "" {
		s.screenshot("sql_error")
		t.Fatalf("the query failed: %s", msg)
	}
	rows := must[int](s, `document.querySelectorAll('table#query-result tbody tr').length`)
	if rows != 37 {
		t.Errorf("table#query-result has %d rows, want 37", rows)
	}

	dir := t.TempDir()
	file := download(t, s, dir, "a#download-csv")
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("the downloaded CSV does not parse: %v", err)
	}
	if len(records) == 0 || !strings.Contains(strings.Join(records[0], ","), "employee_id") {
		t.Errorf("the CSV has no header naming employee_id: %v", records[:min(1, len(records))])
	}
	if got := len(records) - 1; got != rows {
		t.Errorf("the CSV has %d rows, the page %d", got, rows)
	}
	if b, err := os.ReadFile(file); err == nil {
		_ = os.WriteFile(filepath.Join(h.artifacts, "analyst_query.csv"), b, 0o644)
	}

	s.waitFor("the query in #query-history", `Array.from(document.querySelectorAll('ul#query-history li')).some(function (li) {
		return li.textContent.indexOf('LIMIT 37') >= 0;
	})`, 15*time.Second)
	s.checkPage("sql", nil)
}

// TestSQLForbiddenToEmployee: /sql is refused to an employee, who gets no
// editor.
func TestSQLForbiddenToEmployee(t *testing.T) {
	h := need(t)
	s := newSession(t, h, "employee", h.demo.base)
	s.signIn()
	if st := s.open("/sql"); st != http.StatusForbidden {
		t.Errorf("/sql as employee: status %d, want 403", st)
	}
	if must[bool](s, `!!document.querySelector('textarea#sql, button#run-query')`) {
		t.Errorf("the employee's /sql page has the SQL editor")
	}
	s.checkPage("sql_forbidden", func(p problem) bool {
		return p.source == "network" && strings.Contains(p.text, "403") && strings.HasSuffix(p.url, "/sql")
	})
}

// download clicks the element sel and waits for the browser to save the
// file it starts, in dir; it returns the file's path.
func download(t *testing.T, s *session, dir, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior:         cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName,
		BrowserContextID: s.browserContextID(),
		DownloadPath:     dir,
		EventsEnabled:    new(true),
	}); err != nil {
		t.Fatalf("setting the download folder: %v", err)
	}
	progress := chromedp.BrowserEvents(ctx, cdpbrowser.DownloadProgress)
	s.do("clicking "+sel, chromedp.Click(chromedp.CSS(sel)))
	for ev, err := range progress {
		if err != nil {
			s.screenshot("download_timeout")
			t.Fatalf("waiting for the download of %s: %v", sel, err)
		}
		switch ev.State {
		case cdpbrowser.DownloadProgressStateCompleted:
			return filepath.Join(dir, ev.GUID)
		case cdpbrowser.DownloadProgressStateCanceled:
			t.Fatalf("the download of %s was canceled", sel)
		}
	}
	t.Fatalf("no download from %s", sel)
	return ""
}
