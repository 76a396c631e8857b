package server

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pulsekpi/pulse/warehouse"
)

// Backuper writes a consistent backup of the running warehouse.
// *warehouse.Warehouse implements it.
type Backuper interface {
	Backup(ctx context.Context, dir string) (warehouse.BackupManifest, error)
}

// backupRequest is the body of POST /api/admin/backup.
type backupRequest struct {
	// To is the backup's folder: a name, or an absolute path, directly
	// inside BackupDir.
	To string `json:"to"`
}

// backup writes a backup of the warehouse into a new folder inside
// BackupDir and answers its manifest. Only there: an admin token must not
// be a way to write files anywhere the server may.
func (s *Server) backup(c echo.Context) error {
	if s.opts.Backup == nil || s.opts.BackupDir == "" {
		return errStatus(http.StatusServiceUnavailable, "backups are not configured: set backup.dir")
	}
	var req backupRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	dir, err := backupTarget(s.opts.BackupDir, req.To)
	if err != nil {
		return err
	}
	// A large warehouse takes longer than the server's write timeout.
	_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(6 * time.Hour))
	// A client that hangs up does not waste the backup half-way.
	m, err := s.opts.Backup.Backup(context.WithoutCancel(c.Request().Context()), dir)
	switch {
	case errors.Is(err, warehouse.ErrBackupTarget):
		return errStatus(http.StatusConflict, "to: %q already holds files; name a new folder", req.To)
	case err != nil:
		return err
	}
	s.log.Info("backup written", "by", principal(c), "dir", m.Dir, "tables", len(m.Tables), "rows", m.TotalRows())
	return c.JSON(http.StatusOK, m)
}

// backupTarget resolves to inside base: a plain folder name, or an
// absolute path whose parent is base. Nested paths are refused, so that no
// symbolic link below base can lead a backup out of it.
func backupTarget(base, to string) (string, error) {
	base = filepath.Clean(base)
	if to == "" {
		return "", errStatus(http.StatusBadRequest, "to: name the backup's folder")
	}
	name := to
	if filepath.IsAbs(to) {
		clean := filepath.Clean(to)
		if filepath.Dir(clean) != base {
			return "", errStatus(http.StatusBadRequest, "to: must be a folder directly inside backup.dir")
		}
		name = filepath.Base(clean)
	}
	if name == "." || name == ".." || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`) {
		return "", errStatus(http.StatusBadRequest, "to: must be a folder directly inside backup.dir, not %q", to)
	}
	return filepath.Join(base, name), nil
}
