package transform

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the transform runner's Prometheus metrics.
type Metrics struct {
	runs         *prometheus.CounterVec
	runSeconds   *prometheus.HistogramVec
	modelSeconds *prometheus.GaugeVec
	testFailures prometheus.Gauge
}

// NewMetrics creates the runner's metrics and registers them with reg (nil
// registers nowhere, for tests and tools).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_transform_runs_total",
			Help: "Transform runs, by status (ok, failed) and mode (full, incremental).",
		}, []string{"status", "mode"}),
		runSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pulse_transform_run_seconds",
			Help:    "Duration of transform runs (models, data tests and bookkeeping), by mode.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}, []string{"mode"}),
		modelSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pulse_transform_model_seconds",
			Help: "Duration of the last build of each model.",
		}, []string{"model"}),
		testFailures: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pulse_data_test_failures",
			Help: "Data tests that failed or could not run in the last transform run.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.runs, m.runSeconds, m.modelSeconds, m.testFailures)
	}
	return m
}
