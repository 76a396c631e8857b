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

// cMemory exports what DuckDB's allocators hold, and the time spent handing
// their free pages back, so that a climb of resident memory outside the Go
// heap and the buffer pool can be placed.
type cMemory struct {
	wh                 *warehouse.Warehouse
	bytes, trims, took *prometheus.Desc
}

func newCMemory(wh *warehouse.Warehouse) *cMemory {
	return &cMemory{wh: wh,
		bytes: prometheus.NewDesc("pulse_c_memory_bytes", "DuckDB's C allocators: jemalloc (allocated, active, resident, retained) and glibc malloc (in_use, free, mapped).", []string{"allocator", "state"}, nil),
		trims: prometheus.NewDesc("pulse_c_memory_releases_total", "Times the C allocators' free pages were handed back to the system (warehouse.trim_interval).", nil, nil),
		took:  prometheus.NewDesc("pulse_c_memory_release_seconds_total", "Time spent handing the C allocators' free pages back to the system.", nil, nil)}
}

func (c *cMemory) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.bytes
	ch <- c.trims
	ch <- c.took
}

func (c *cMemory) Collect(ch chan<- prometheus.Metric) {
	for _, m := range warehouse.ReadCMemory() {
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(m.Bytes), m.Allocator, m.State)
	}
	n, took := c.wh.TrimStats()
	ch <- prometheus.MustNewConstMetric(c.trims, prometheus.CounterValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.took, prometheus.CounterValue, took.Seconds())
}
