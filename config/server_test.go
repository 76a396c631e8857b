package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// The server and query hardening settings: read from the file and the
// environment, and bad values reported with their line.
func TestServerSettings(t *testing.T) {
	cfg, err := Load(writeFile(t, "server:\n  trusted_proxies: [10.0.0.0/8, 192.0.2.1]\n  max_body: 2MiB\nquery:\n  burst: 3\n"),
		[]string{"PULSE_QUERY_RATE_PER_MINUTE=30", "PULSE_QUERY_HISTORY_KEEP=50"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Server.TrustedProxies, []string{"10.0.0.0/8", "192.0.2.1"}) || cfg.Server.MaxBody != 2<<20 ||
		cfg.Query.Burst != 3 || cfg.Query.RatePerMinute != 30 || cfg.Query.HistoryKeep != 50 {
		t.Errorf("got %+v %+v", cfg.Server, cfg.Query)
	}
	for _, c := range []struct {
		src, env, want string
	}{
		{"server:\n  trusted_proxies:\n    - 10.0.0.0/8\n    - not-a-net\n", "", "x.yaml:4: server.trusted_proxies[1]: must be a CIDR"},
		{"server:\n  max_body: 10\n", "", "x.yaml:2: server.max_body: must be between 1KiB and 1GiB"},
		{"query:\n  rate_per_minute: 0\n", "", "x.yaml:2: query.rate_per_minute: must be between 1 and 100000"},
		{"query:\n  burst: -1\n", "", "x.yaml:2: query.burst: must be between"},
		{"query:\n  history_keep: 0\n", "", "x.yaml:2: query.history_keep: must be between"},
		{"", "PULSE_SERVER_TRUSTED_PROXIES=10.0.0.0/33", "environment: PULSE_SERVER_TRUSTED_PROXIES: must be a CIDR"},
		{"server:\n  debug_addr: localhost\n", "", "x.yaml:2: server.debug_addr: must be host:port"},
		{"", "PULSE_SERVER_DEBUG_ADDR=127.0.0.1:http", "environment: PULSE_SERVER_DEBUG_ADDR: must be host:port"},
	} {
		path := writeFile(t, c.src)
		var env []string
		if c.env != "" {
			env = []string{c.env}
		}
		_, err := Load(path, env)
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("%q %q: %v, want a config error", c.src, c.env, err)
			continue
		}
		want := strings.Replace(c.want, "x.yaml", path, 1)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q %q: %v, want %q", c.src, c.env, err, want)
		}
	}
}
