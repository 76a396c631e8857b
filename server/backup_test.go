package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/internal/testkit"
	"github.com/pulsekpi/pulse/server"
	"github.com/pulsekpi/pulse/warehouse"
)

// TestBackupEndpoint: only an admin may back up, only into a folder
// directly inside backup.dir; the answer is the manifest of a backup that
// is on disk; without backup.dir the endpoint is off.
func TestBackupEndpoint(t *testing.T) {
	w := testkit.Warehouse(t)
	testkit.Load(t, w, "crm.events", testkit.Event("e1", "employee.upserted", "2026-09-01T00:00:00Z",
		`{"employee_id":"e1","name":"N","role":"sales","team_id":"t1","manager_id":"m1","active":true}`))
	users, tokens := testkit.Users(t, w,
		auth.User{Login: "ana", Role: auth.RoleAnalyst},
		auth.User{Login: "boss", Role: auth.RoleAdmin})
	base := t.TempDir()
	outside := t.TempDir()
	do := func(s *server.Server, tok, body string) (int, string) {
		req := httptest.NewRequest(http.MethodPost, "/api/admin/backup", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	s := server.New(server.Options{AdminToken: "admintok", Warehouse: fakeWarehouse{}, Auth: users, Backup: w, BackupDir: base})
	cases := []struct {
		name, tok, body string
		status          int
		want            string
	}{
		{"analyst", tokens["ana"], `{"to":"b1"}`, 403, `"error"`},
		{"absolute path outside", tokens["boss"], `{"to":"` + outside + `"}`, 400, "directly inside backup.dir"},
		{"climbing out", tokens["boss"], `{"to":"../b1"}`, 400, "directly inside backup.dir"},
		{"nested", tokens["boss"], `{"to":"a/b"}`, 400, "directly inside backup.dir"},
		{"no name", tokens["boss"], `{}`, 400, "to: name"},
		{"admin user", tokens["boss"], `{"to":"b1"}`, 200, `"raw.employee_upserted.parquet"`},
		{"admin token, absolute path", "admintok", `{"to":"` + filepath.Join(base, "b2") + `"}`, 200, `"migration_version"`},
		{"same name again", tokens["boss"], `{"to":"b1"}`, 409, "already holds files"},
	}
	for _, c := range cases {
		code, body := do(s, c.tok, c.body)
		if code != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want %d with %s", c.name, code, body, c.status, c.want)
		}
	}
	var m warehouse.BackupManifest
	_, body := do(s, tokens["boss"], `{"to":"b3"}`)
	if err := json.Unmarshal([]byte(body), &m); err != nil || m.Dir != filepath.Join(base, "b3") {
		t.Fatalf("manifest %v: %s", err, body)
	}
	if _, err := warehouse.ReadBackupManifest(m.Dir); err != nil {
		t.Errorf("the backup is not on disk: %v", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("something was written outside backup.dir: %v", entries)
	}

	off := server.New(server.Options{AdminToken: "admintok", Warehouse: fakeWarehouse{}, Auth: users, Backup: w})
	if code, body := do(off, "admintok", `{"to":"b9"}`); code != 503 || !strings.Contains(body, "backups are not configured") {
		t.Errorf("without backup.dir: %d %s", code, body)
	}
}
