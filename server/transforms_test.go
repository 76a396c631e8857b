package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/server"
	"github.com/pulsekpi/pulse/transform"
)

type fakeTransforms struct {
	reqs []transform.RunRequest
	err  error
}

func (f *fakeTransforms) RunNow(ctx context.Context, req transform.RunRequest) (*transform.Run, error) {
	f.reqs = append(f.reqs, req)
	if f.err != nil {
		return nil, f.err
	}
	rows := int64(3)
	at := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	return &transform.Run{ID: 7, Status: "failed", Full: req.Full, AsOf: at, StartedAt: at, FinishedAt: at.Add(time.Second), DurationMS: 1000,
		Models: []transform.ModelRun{
			{Name: "staging.a", Layer: "staging", Materialized: "table", Status: "ok", Rows: &rows, RowsChanged: &rows},
			{Name: "marts.b", Layer: "marts", Materialized: "table", Status: "failed", Error: "boom"},
		},
		Tests: []transform.TestResult{{Model: "staging.a", Test: "unique(id)", Status: "pass", Query: "SELECT 1"}},
		Error: "models failed: marts.b"}, nil
}

func TestRunTransforms(t *testing.T) {
	post := func(s *server.Server, method, path, auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec
	}
	newServer := func(tr server.Transforms) *server.Server {
		return server.New(server.Options{AdminToken: "s3cret", Warehouse: fakeWarehouse{}, Transforms: tr})
	}
	errorOf := func(t *testing.T, rec *httptest.ResponseRecorder) string {
		t.Helper()
		var v map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("answer is not a JSON error: %s", rec.Body)
		}
		return v["error"]
	}

	t.Run("needs the token", func(t *testing.T) {
		f := &fakeTransforms{}
		rec := post(newServer(f), http.MethodPost, "/api/transforms/run", "Bearer wrong")
		if rec.Code != http.StatusUnauthorized || len(f.reqs) != 0 {
			t.Errorf("got %d %s, %d runs", rec.Code, rec.Body, len(f.reqs))
		}
	})
	t.Run("not configured", func(t *testing.T) {
		rec := post(server.New(server.Options{AdminToken: "s3cret", Warehouse: fakeWarehouse{}}), http.MethodPost, "/api/transforms/run", "Bearer s3cret")
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(errorOf(t, rec), "not running") {
			t.Errorf("got %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("incremental", func(t *testing.T) {
		f := &fakeTransforms{}
		rec := post(newServer(f), http.MethodPost, "/api/transforms/run", "Bearer s3cret")
		if rec.Code != http.StatusOK || len(f.reqs) != 1 || f.reqs[0].Full {
			t.Fatalf("got %d %s, requests %+v", rec.Code, rec.Body, f.reqs)
		}
		var run map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &run); err != nil {
			t.Fatal(err)
		}
		models, _ := run["models"].([]any)
		if run["id"] != float64(7) || run["status"] != "failed" || run["full"] != false || len(models) != 2 ||
			run["error"] != "models failed: marts.b" || run["cut"] != nil {
			t.Errorf("run JSON: %s", rec.Body)
		}
		if m := models[0].(map[string]any); m["rows"] != float64(3) || m["rows_changed"] != float64(3) || m["materialized"] != "table" {
			t.Errorf("model JSON: %v", m)
		}
		if m := models[1].(map[string]any); m["rows"] != nil || m["error"] != "boom" {
			t.Errorf("failed model JSON: %v", m)
		}
	})
	t.Run("full", func(t *testing.T) {
		f := &fakeTransforms{}
		rec := post(newServer(f), http.MethodPost, "/api/transforms/run?full=true", "Bearer s3cret")
		if rec.Code != http.StatusOK || len(f.reqs) != 1 || !f.reqs[0].Full || !strings.Contains(rec.Body.String(), `"full":true`) {
			t.Errorf("got %d %s, requests %+v", rec.Code, rec.Body, f.reqs)
		}
	})
	t.Run("bad full", func(t *testing.T) {
		f := &fakeTransforms{}
		rec := post(newServer(f), http.MethodPost, "/api/transforms/run?full=maybe", "Bearer s3cret")
		if rec.Code != http.StatusBadRequest || !strings.Contains(errorOf(t, rec), "maybe") || len(f.reqs) != 0 {
			t.Errorf("got %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("GET is not allowed", func(t *testing.T) {
		f := &fakeTransforms{}
		rec := post(newServer(f), http.MethodGet, "/api/transforms/run", "Bearer s3cret")
		// Echo answers 404 for a method a group route lacks.
		if (rec.Code != http.StatusMethodNotAllowed && rec.Code != http.StatusNotFound) || len(f.reqs) != 0 {
			t.Errorf("got %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("run impossible", func(t *testing.T) {
		rec := post(newServer(&fakeTransforms{err: errors.New("database is closed")}), http.MethodPost, "/api/transforms/run", "Bearer s3cret")
		if rec.Code != http.StatusInternalServerError || !strings.Contains(errorOf(t, rec), "database is closed") {
			t.Errorf("got %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("stopping", func(t *testing.T) {
		rec := post(newServer(&fakeTransforms{err: transform.ErrStopped}), http.MethodPost, "/api/transforms/run", "Bearer s3cret")
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("got %d %s", rec.Code, rec.Body)
		}
	})
}
