package ingest

import "github.com/prometheus/client_golang/prometheus"

// Metrics are ingest's Prometheus metrics.
type Metrics struct {
	messages     *prometheus.CounterVec
	refused      *prometheus.CounterVec
	lag          *prometheus.GaugeVec
	batchRows    prometheus.Histogram
	flushSeconds prometheus.Histogram
}

// NewMetrics creates ingest's metrics and registers them with reg (nil
// registers nowhere, for tests and tools).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_ingest_messages_total",
			Help: "Kafka messages handled, by topic and outcome (stored, unknown, refused, duplicate, stale).",
		}, []string{"topic", "outcome"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_ingest_refused_total",
			Help: "Messages refused by the event contract, by reason code.",
		}, []string{"reason"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pulse_ingest_lag_messages",
			Help: "Messages in the partition not yet stored, as of the last flush.",
		}, []string{"topic", "partition"}),
		batchRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pulse_ingest_batch_rows",
			Help:    "Messages per flushed batch.",
			Buckets: prometheus.ExponentialBuckets(10, 4, 8),
		}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pulse_ingest_flush_seconds",
			Help:    "Time to store one batch in DuckDB (one transaction).",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 12),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.messages, m.refused, m.lag, m.batchRows, m.flushSeconds)
	}
	return m
}
