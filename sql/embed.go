// Package sqlfiles embeds the SQL models of Pulse (staging/, marts/,
// alerts/) so that the binary carries them; package transform loads them.
// README.md explains the conventions a model follows.
package sqlfiles

import "embed"

// FS holds the three model folders. Files that do not end in .sql (the
// READMEs) are ignored by the loader.
//
//go:embed staging marts alerts
var FS embed.FS

// DrillFS holds the drill-down queries (drill/), apart from FS because they
// are not models: package drill runs them per request with parameters.
//
//go:embed drill
var DrillFS embed.FS
