package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsekpi/pulse/warehouse"
)

// duckdbMemory exports duckdb_memory() at each scrape, so that memory
// inside DuckDB can be told from the Go heap when RSS grows.
type duckdbMemory struct {
	wh              *warehouse.Warehouse
	inMemory, spill *prometheus.Desc
}

func newDuckDBMemory(wh *warehouse.Warehouse) *duckdbMemory {
	return &duckdbMemory{wh: wh,
		inMemory: prometheus.NewDesc("pulse_duckdb_memory_bytes", "Memory held by DuckDB's buffer manager, by purpose (duckdb_memory()).", []string{"tag"}, nil),
		spill:    prometheus.NewDesc("pulse_duckdb_temporary_bytes", "DuckDB's temporary files, by purpose (duckdb_memory()).", []string{"tag"}, nil)}
}

func (d *duckdbMemory) Describe(ch chan<- *prometheus.Desc) {
	ch <- d.inMemory
	ch <- d.spill
}

func (d *duckdbMemory) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	uses, err := d.wh.Memory(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(d.inMemory, err)
		return
	}
	for _, u := range uses {
		ch <- prometheus.MustNewConstMetric(d.inMemory, prometheus.GaugeValue, float64(u.Bytes), u.Tag)
		ch <- prometheus.MustNewConstMetric(d.spill, prometheus.GaugeValue, float64(u.Temporary), u.Tag)
	}
}
