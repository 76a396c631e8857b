package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/server"
	"github.com/pulsekpi/pulse/warehouse"
)

type fakeWarehouse struct{ pingErr error }

func (f fakeWarehouse) Ping(context.Context) error { return f.pingErr }
func (f fakeWarehouse) PartitionStats(context.Context) ([]warehouse.PartitionStats, error) {
	return []warehouse.PartitionStats{{Topic: "crm.events", Partition: 0, StoredOffset: 5}}, nil
}

type fakeIngest struct {
	ready    bool
	storeErr string
}

func (f fakeIngest) Ready() bool        { return f.ready }
func (f fakeIngest) StoreError() string { return f.storeErr }
func (f fakeIngest) Status(ctx context.Context, s ingest.StatsReader) (ingest.Status, error) {
	stats, err := s.PartitionStats(ctx)
	if err != nil {
		return ingest.Status{}, err
	}
	hwm, lag := int64(9), int64(4)
	return ingest.Status{Ready: f.ready, Partitions: []ingest.PartitionStatus{{PartitionStats: stats[0], HighWaterMark: &hwm, Lag: &lag}}}, nil
}

func TestEndpoints(t *testing.T) {
	cases := []struct {
		name       string
		wh         fakeWarehouse
		in         fakeIngest
		path, auth string
		status     int
		body       string
	}{
		{"healthz", fakeWarehouse{}, fakeIngest{}, "/healthz", "", 200, `"ok"`},
		{"ready", fakeWarehouse{}, fakeIngest{ready: true}, "/readyz", "", 200, `"ready":true`},
		{"consumers not joined", fakeWarehouse{}, fakeIngest{}, "/readyz", "", 503, `not joined`},
		{"duckdb down", fakeWarehouse{pingErr: errors.New("database is closed")}, fakeIngest{ready: true}, "/readyz", "", 503, `database is closed`},
		{"storing fails", fakeWarehouse{}, fakeIngest{ready: true, storeErr: "storing batches fails since 2026-12-06T21:33:00Z (retrying): No space left on device"}, "/readyz", "", 503, `No space left on device`},
		{"status needs a token", fakeWarehouse{}, fakeIngest{}, "/api/ingest/status", "", 401, `"error":"sign-in required`},
		{"status wrong token", fakeWarehouse{}, fakeIngest{}, "/api/ingest/status", "Bearer nope", 401, `"error"`},
		{"status", fakeWarehouse{}, fakeIngest{}, "/api/ingest/status", "Bearer s3cret", 200, `"lag":4`},
		{"unknown route is JSON", fakeWarehouse{}, fakeIngest{}, "/api/nothing", "Bearer s3cret", 404, `"error":"Not Found"`},
		{"metrics", fakeWarehouse{}, fakeIngest{}, "/metrics", "", 200, ``},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := server.New(server.Options{AdminToken: "s3cret", Warehouse: c.wh, Ingest: c.in})
			req := httptest.NewRequest(http.MethodGet, c.path, nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.body) {
				t.Errorf("%s: got %d %s, want %d containing %s", c.path, rec.Code, rec.Body, c.status, c.body)
			}
			if strings.HasPrefix(c.path, "/api/") {
				var v map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
					t.Errorf("answer is not JSON: %s", rec.Body)
				}
			}
		})
	}
}

// TestNoAdminTokenRefusesEverything: with PULSE_ADMIN_TOKEN unset there is
// no key at all, not an empty one.
func TestNoAdminTokenRefusesEverything(t *testing.T) {
	s := server.New(server.Options{Warehouse: fakeWarehouse{}, Ingest: fakeIngest{}})
	req := httptest.NewRequest(http.MethodGet, "/api/ingest/status", nil)
	req.Header.Set("Authorization", "Bearer ")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("got %d, want 401", rec.Code)
	}
}
