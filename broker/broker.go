// Package broker runs the embedded Kafka-protocol broker (kfake) that
// `pulse demo`, `pulse broker` and the tests talk to over TCP, exactly as
// they would talk to a real Kafka cluster.
package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Options configure Start.
type Options struct {
	Port       int      // 0 picks a free port
	Topics     []string // created at start
	Partitions int      // per topic, and for topics created on demand; default 3
	DataDir    string   // persist the log here; "" keeps it in memory
	// Retention, when positive, deletes batches older than this, as
	// Kafka's log.retention.ms does. Without it the embedded broker keeps
	// every message in memory, which a long run at thousands of events a
	// second cannot afford.
	Retention time.Duration
	// MinSessionTimeout lets group members ask for short sessions, so that
	// tests which kill consumers need not wait Kafka's usual 6 s.
	MinSessionTimeout time.Duration
	// SASLUsers, when given, make the broker require SASL authentication
	// (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512), as managed clusters do.
	SASLUsers []SASLUser
	// Listen, when set, replaces net.Listen for the broker's listener. The
	// broker names its listener's Addr() in metadata, so a listener that
	// reports another address (a proxy in front of it) makes clients
	// connect there: the fault tests cut connections that way.
	Listen func(network, address string) (net.Listener, error)
	Logger *slog.Logger
}

// SASLUser is one user the broker accepts.
type SASLUser struct {
	Mechanism string // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	User      string
	Password  string
}

// Broker is a running embedded broker.
type Broker struct {
	cluster *kfake.Cluster
	log     *slog.Logger
	stop    chan struct{}
	stopped sync.Once
}

// Start starts the broker and returns once it listens.
func Start(opts Options) (*Broker, error) {
	if opts.Partitions <= 0 {
		opts.Partitions = 3
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(opts.Port),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(opts.Partitions),
	}
	if len(opts.Topics) > 0 {
		kopts = append(kopts, kfake.SeedTopics(int32(opts.Partitions), opts.Topics...))
	}
	if opts.MinSessionTimeout > 0 {
		kopts = append(kopts, kfake.GroupMinSessionTimeout(opts.MinSessionTimeout))
	}
	if len(opts.SASLUsers) > 0 {
		kopts = append(kopts, kfake.EnableSASL())
		for _, u := range opts.SASLUsers {
			kopts = append(kopts, kfake.Superuser(u.Mechanism, u.User, u.Password))
		}
	}
	if os.Getenv("PULSE_KFAKE_LOG") != "" {
		kopts = append(kopts, kfake.WithLogger(kfake.BasicLogger(os.Stderr, kfake.LogLevelDebug)))
	}
	if opts.Listen != nil {
		kopts = append(kopts, kfake.ListenFn(opts.Listen))
	}
	if opts.DataDir != "" {
		kopts = append(kopts, kfake.DataDir(opts.DataDir))
	}
	if opts.Retention > 0 {
		kopts = append(kopts, kfake.BrokerConfigs(map[string]string{
			"log.retention.ms": strconv.FormatInt(opts.Retention.Milliseconds(), 10)}))
	}
	c, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, fmt.Errorf("starting embedded broker on port %d: %w", opts.Port, err)
	}
	b := &Broker{cluster: c, log: opts.Logger, stop: make(chan struct{})}
	if opts.Retention > 0 {
		// kfake applies broker-wide retention only when asked; Kafka's log
		// cleaner checks every few minutes, this a tenth of the retention.
		go b.applyRetention(max(opts.Retention/10, time.Second))
	}
	b.log.Info("embedded broker listening", "addrs", c.ListenAddrs(), "partitions", opts.Partitions,
		"retention", opts.Retention)
	return b, nil
}

func (b *Broker) applyRetention(every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-tick.C:
			b.cluster.ApplyRetention()
		}
	}
}

// Addrs are the broker's listen addresses (host:port).
func (b *Broker) Addrs() []string { return b.cluster.ListenAddrs() }

// Run blocks until ctx is done, then stops the broker.
func (b *Broker) Run(ctx context.Context) error {
	<-ctx.Done()
	b.Close()
	return nil
}

// Close stops the broker.
func (b *Broker) Close() {
	b.stopped.Do(func() { close(b.stop) })
	b.cluster.Close()
}
