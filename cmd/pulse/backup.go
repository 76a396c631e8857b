package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pulsekpi/pulse/warehouse"
)

// runBackup asks a running Pulse for a backup: the running process holds
// the DuckDB file's lock, so only it can read a consistent snapshot.
func runBackup(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "backup")
	srv := fs.String("server", "http://localhost:8080", "the running Pulse's base URL")
	token := fs.String("token", "", "an admin's API token (default: PULSE_ADMIN_TOKEN)")
	name := fs.String("name", "", "the backup's folder name inside the server's backup.dir (default: pulse-<UTC time>)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("backup: unexpected arguments %v", fs.Args())
	}
	if *token == "" {
		*token = lookupEnv(e.environ, "PULSE_ADMIN_TOKEN")
	}
	if *token == "" {
		return errors.New("backup: no token: pass --token or set PULSE_ADMIN_TOKEN")
	}
	if *name == "" {
		*name = "pulse-" + time.Now().UTC().Format("20060102T150405Z")
	}
	body, _ := json.Marshal(map[string]string{"to": *name})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(*srv, "/")+"/api/admin/backup", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+*token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("backup: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var apiErr struct{ Error string }
		if json.Unmarshal(answer, &apiErr) == nil && apiErr.Error != "" {
			return fmt.Errorf("backup: %s: %s", resp.Status, apiErr.Error)
		}
		return fmt.Errorf("backup: %s", resp.Status)
	}
	var m warehouse.BackupManifest
	if err := json.Unmarshal(answer, &m); err != nil {
		return fmt.Errorf("backup: reading the manifest: %w", err)
	}
	fmt.Fprintf(e.stdout, "backup written on the server to %s: %d tables, %d rows, %.1f MB in %.1fs\n",
		m.Dir, len(m.Tables), m.TotalRows(), float64(m.TotalBytes())/1e6, m.DurationMS/1000)
	return nil
}

// runRestore makes a new database from a backup, with Pulse stopped.
func runRestore(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "restore")
	from := fs.String("from", "", "the backup's folder (holding manifest.json)")
	sf := addSettingFlags(fs, "data")
	cfg, err := sf.parse(args, e.environ)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("restore: unexpected arguments %v", fs.Args())
	}
	if *from == "" {
		return errors.New("restore: name the backup with --from")
	}
	m, err := warehouse.ReadBackupManifest(*from)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	start := time.Now()
	if err := warehouse.Restore(ctx, *from, warehouse.Options{Dir: cfg.Data, File: cfg.Warehouse.File,
		Threads: cfg.Warehouse.Threads, MemoryLimit: cfg.Warehouse.MemoryLimit}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored %d tables, %d rows (backup of %s) into %s in %.1fs\n",
		len(m.Tables), m.TotalRows(), m.CreatedAt.Format(time.RFC3339), cfg.Data, time.Since(start).Seconds())
	fmt.Fprintln(e.stdout, "the first transform run after Pulse starts rebuilds staging, marts and alerts whole")
	return nil
}

// lookupEnv finds a variable in environ (KEY=value lines).
func lookupEnv(environ []string, key string) string {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}
