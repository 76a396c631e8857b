package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// pulseCSP is the policy the contract has the server send on every answer.
const pulseCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

// TestHarnessCatchesPageErrors proves the watch on which every other test
// relies: a clean page under Pulse's CSP yields nothing, and a page that
// logs an error, throws, and runs inline code yields each of those.
func TestHarnessCatchesPageErrors(t *testing.T) {
	h := needBrowser(t)
	mux := http.NewServeMux()
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", pulseCSP)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte("<!doctype html><html lang=en><head><title>t</title><link rel=icon href=\"data:,\"></head><body>" + body + "</body></html>"))
		}
	}
	script := func(js string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write([]byte(js))
		}
	}
	mux.HandleFunc("/clean", page(`<p id=p>clean</p><script src="/clean.js"></script>`))
	mux.HandleFunc("/clean.js", script(`document.body.dataset.done = "1"; console.log("fine");`))
	mux.HandleFunc("/dirty", page(`<script>document.title = "inline ran"</script><p id=p>dirty</p><script src="/dirty.js"></script>`))
	mux.HandleFunc("/dirty.js", script(`console.error("e2e-probe-error"); setTimeout(function () { document.body.dataset.done = "1"; throw new Error("e2e-probe-throw"); }, 0);`))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		path string
		want []string // kinds that must be reported (in any order)
	}{
		{"/clean", nil},
		{"/dirty", []string{"console.error", "exception", "csp"}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "/"), func(t *testing.T) {
			s := newSession(t, h, "harness", srv.URL)
			if st := s.open(tt.path); st != http.StatusOK {
				t.Fatalf("status %d", st)
			}
			s.waitFor("the page script", `document.body && document.body.dataset.done === "1"`, 10*time.Second)
			time.Sleep(100 * time.Millisecond) // the thrown error comes after done is set
			var got []problem
			s.checkPage("harness"+strings.ReplaceAll(tt.path, "/", "_"), func(p problem) bool {
				got = append(got, p)
				return true
			})
			kinds := map[string]bool{}
			for _, p := range got {
				kinds[p.kind] = true
			}
			for _, k := range tt.want {
				if !kinds[k] {
					t.Errorf("%s: no %s reported; got %v", tt.path, k, got)
				}
			}
			if tt.want == nil && len(got) > 0 {
				t.Errorf("%s: clean page reported %v", tt.path, got)
			}
			if tt.path == "/dirty" {
				if title := must[string](s, "document.title"); title == "inline ran" {
					t.Errorf("the inline script ran: the CSP was not enforced")
				}
				t.Logf("reported: %v", got)
			}
		})
	}
}
