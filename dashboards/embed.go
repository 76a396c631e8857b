// Package dashboards holds the dashboards shipped with Pulse, embedded in
// the binary so that `pulse run` serves them without a dashboards folder.
package dashboards

import (
	"embed"
	"io/fs"
)

//go:embed *.yaml
var shipped embed.FS

// Shipped is the shipped dashboards' YAML files, at the top of the FS, for
// dashboard.LoadFS(dashboards.Shipped(), "dashboards").
func Shipped() fs.FS { return shipped }
