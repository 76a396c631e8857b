package alert

import (
	"context"
	"database/sql"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the alert evaluator's Prometheus metrics.
type Metrics struct {
	seconds  prometheus.Histogram
	changes  *prometheus.CounterVec
	active   *prometheus.GaugeVec
	problems prometheus.Gauge
}

// NewMetrics registers the metrics with reg; nil keeps them unregistered.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "pulse_alert_evaluation_seconds", Help: "Time to evaluate the alert rules after a transform run.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_alert_changes_total", Help: "Alerts that fired or resolved, by change.",
		}, []string{"change"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pulse_alerts", Help: "Alerts firing or pending, by rule, severity and state.",
		}, []string{"rule", "severity", "state"}),
		problems: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pulse_alert_rule_problems", Help: "Rules that could not be evaluated in the last evaluation.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.seconds, m.changes, m.active, m.problems)
	}
	return m
}

func (m *Metrics) observe(ev *Evaluation) {
	m.seconds.Observe(ev.DurationMS / 1000)
	m.changes.WithLabelValues("fired").Add(float64(ev.Fired))
	m.changes.WithLabelValues("resolved").Add(float64(ev.Resolved))
	m.problems.Set(float64(len(ev.Problems)))
}

// count sets the gauges from ops.alerts.
func (m *Metrics) count(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT rule, severity, state, count(*) FROM ops.alerts
		WHERE state IN ('pending', 'firing') GROUP BY ALL`)
	if err != nil {
		return err
	}
	defer rows.Close()
	m.active.Reset()
	for rows.Next() {
		var rule, sev, state string
		var n float64
		if err := rows.Scan(&rule, &sev, &state, &n); err != nil {
			return err
		}
		m.active.WithLabelValues(rule, sev, state).Set(n)
	}
	return rows.Err()
}
