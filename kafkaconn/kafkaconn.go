// Package kafkaconn turns Pulse's Kafka connection settings (TLS and SASL)
// into the kafka-go dialer and transport that consumers, producers and
// admin requests use, so that every client of a cluster connects the same
// way.
package kafkaconn

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Options are the connection settings. The zero value is a plain TCP
// connection without authentication.
type Options struct {
	ClientID              string
	TLS                   bool
	TLSCAFile             string // PEM bundle; "" uses the system's roots
	TLSInsecureSkipVerify bool
	// SASLMechanism is "", "plain", "scram-sha-256" or "scram-sha-512".
	SASLMechanism string
	SASLUsername  string
	SASLPassword  string
}

// Mechanisms are the SASL mechanisms Pulse speaks.
var Mechanisms = []string{"plain", "scram-sha-256", "scram-sha-512"}

func (o Options) tlsConfig() (*tls.Config, error) {
	if !o.TLS {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.TLSInsecureSkipVerify}
	if o.TLSCAFile != "" {
		pem, err := os.ReadFile(o.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("reading Kafka CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka CA file %s holds no PEM certificate", o.TLSCAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func (o Options) mechanism() (sasl.Mechanism, error) {
	switch strings.ToLower(o.SASLMechanism) {
	case "":
		return nil, nil
	case "plain":
		return plain.Mechanism{Username: o.SASLUsername, Password: o.SASLPassword}, nil
	case "scram-sha-256":
		return scram.Mechanism(scram.SHA256, o.SASLUsername, o.SASLPassword)
	case "scram-sha-512":
		return scram.Mechanism(scram.SHA512, o.SASLUsername, o.SASLPassword)
	}
	return nil, fmt.Errorf("unknown SASL mechanism %q (want one of %s)", o.SASLMechanism, strings.Join(Mechanisms, ", "))
}

// parts are the TLS configuration and SASL mechanism both kinds of client
// take.
func (o Options) parts() (*tls.Config, sasl.Mechanism, error) {
	t, err := o.tlsConfig()
	if err != nil {
		return nil, nil, err
	}
	m, err := o.mechanism()
	return t, m, err
}

// Dialer is for consumer groups and readers.
func (o Options) Dialer() (*kafka.Dialer, error) {
	t, m, err := o.parts()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{ClientID: o.ClientID, Timeout: 10 * time.Second, DualStack: true, TLS: t, SASLMechanism: m}, nil
}

// Transport is for writers and admin requests (kafka.Client).
func (o Options) Transport() (*kafka.Transport, error) {
	t, m, err := o.parts()
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{ClientID: o.ClientID, DialTimeout: 10 * time.Second, TLS: t, SASL: m}, nil
}
