package kafkaconn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOptions(t *testing.T) {
	cases := []struct {
		name    string
		opts    Options
		mech    string // SASL mechanism name on the wire, "" for none
		tls     bool
		wantErr string
	}{
		{"plain TCP", Options{}, "", false, ""},
		{"plain", Options{SASLMechanism: "plain", SASLUsername: "u", SASLPassword: "p"}, "PLAIN", false, ""},
		{"scram-256 over TLS", Options{TLS: true, SASLMechanism: "SCRAM-SHA-256", SASLUsername: "u"}, "SCRAM-SHA-256", true, ""},
		{"scram-512", Options{SASLMechanism: "scram-sha-512", SASLUsername: "u"}, "SCRAM-SHA-512", false, ""},
		{"unknown mechanism", Options{SASLMechanism: "kerberos"}, "", false, `unknown SASL mechanism "kerberos"`},
		{"missing CA file", Options{TLS: true, TLSCAFile: "/nonexistent/ca.pem"}, "", true, "reading Kafka CA file"},
		{"CA file without PEM", Options{TLS: true, TLSCAFile: "notpem"}, "", true, "holds no PEM certificate"},
	}
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o644)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.opts.TLSCAFile == "notpem" {
				c.opts.TLSCAFile = notPEM
			}
			d, derr := c.opts.Dialer()
			tr, terr := c.opts.Transport()
			for _, err := range []error{derr, terr} {
				if c.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), c.wantErr) {
						t.Fatalf("got %v, want an error containing %q", err, c.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if c.wantErr != "" {
				return
			}
			if (d.SASLMechanism == nil) != (c.mech == "") || (tr.SASL == nil) != (c.mech == "") {
				t.Fatalf("SASL set on dialer %v, transport %v; want %q", d.SASLMechanism, tr.SASL, c.mech)
			}
			if c.mech != "" && (d.SASLMechanism.Name() != c.mech || tr.SASL.Name() != c.mech) {
				t.Errorf("mechanism %s/%s, want %s", d.SASLMechanism.Name(), tr.SASL.Name(), c.mech)
			}
			if (d.TLS != nil) != c.tls || (tr.TLS != nil) != c.tls {
				t.Errorf("TLS on dialer %v, transport %v; want %v", d.TLS != nil, tr.TLS != nil, c.tls)
			}
		})
	}
}
