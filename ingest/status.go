package ingest

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/pulsekpi/pulse/warehouse"
)

// StatsReader reads what the warehouse has stored per partition.
// *warehouse.Warehouse implements it.
type StatsReader interface {
	PartitionStats(ctx context.Context) ([]warehouse.PartitionStats, error)
}

// PartitionStatus is one row of GET /api/ingest/status.
type PartitionStatus struct {
	warehouse.PartitionStats
	HighWaterMark *int64 `json:"high_water_mark"` // null when the broker did not answer
	Lag           *int64 `json:"lag"`
	// Problem says what is wrong with the partition, if anything.
	Problem string `json:"problem,omitempty"`
}

// Status is the ingest status: per partition, what is stored against what
// the broker holds.
type Status struct {
	Partitions  []PartitionStatus `json:"partitions"`
	BrokerError string            `json:"broker_error,omitempty"`
	// StoreError says why batches cannot be stored now (see StoreError).
	StoreError string `json:"store_error,omitempty"`
	Ready      bool   `json:"consumers_joined"`
}

// Status combines the warehouse's offsets with the brokers' high-water
// marks. A broker that does not answer leaves the marks null and says why.
func (in *Ingest) Status(ctx context.Context, stats StatsReader) (Status, error) {
	stored, err := stats.PartitionStats(ctx)
	if err != nil {
		return Status{}, err
	}
	st := Status{Ready: in.Ready(), StoreError: in.StoreError()}
	byTP := map[warehouse.TopicPartition]*PartitionStatus{}
	for _, s := range stored {
		byTP[warehouse.TopicPartition{Topic: s.Topic, Partition: s.Partition}] = &PartitionStatus{PartitionStats: s}
	}
	hwms, err := HighWaterMarks(ctx, in.opts.Brokers, in.opts.Topics, in.opts.Transport)
	if err != nil {
		st.BrokerError = err.Error()
	}
	for tp, hwm := range hwms {
		p := byTP[tp]
		if p == nil { // on the broker, not consumed yet
			p = &PartitionStatus{PartitionStats: warehouse.PartitionStats{Topic: tp.Topic, Partition: tp.Partition}}
			byTP[tp] = p
		}
		lag := max(hwm-p.StoredOffset, 0)
		p.HighWaterMark, p.Lag = &hwm, &lag
		if hwm < p.StoredOffset {
			p.Problem = fmt.Sprintf("the warehouse has stored up to offset %d but the broker ends at %d: "+
				"the topic was recreated or the broker lost data; ingest waits for new offsets past %d",
				p.StoredOffset, hwm, p.StoredOffset)
		}
	}
	for _, p := range byTP {
		st.Partitions = append(st.Partitions, *p)
	}
	sort.Slice(st.Partitions, func(i, j int) bool {
		a, b := st.Partitions[i], st.Partitions[j]
		return a.Topic < b.Topic || (a.Topic == b.Topic && a.Partition < b.Partition)
	})
	return st, nil
}

// HighWaterMarks asks the brokers for the end offset of every partition of
// topics. A nil transport uses kafka-go's default.
func HighWaterMarks(ctx context.Context, brokers, topics []string, transport *kafka.Transport) (map[warehouse.TopicPartition]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 3 * time.Second}
	if transport != nil { // a nil *Transport in the interface would not mean the default
		client.Transport = transport
	}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("reading metadata: %w", err)
	}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, t := range meta.Topics {
		if t.Error != nil {
			continue // a topic not created yet has no partitions to report
		}
		for _, p := range t.Partitions {
			req.Topics[t.Name] = append(req.Topics[t.Name], kafka.LastOffsetOf(p.ID))
		}
	}
	res, err := client.ListOffsets(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("listing offsets: %w", err)
	}
	out := map[warehouse.TopicPartition]int64{}
	for topic, parts := range res.Topics {
		for _, p := range parts {
			if p.Error != nil {
				return out, fmt.Errorf("listing offsets of %s/%d: %w", topic, p.Partition, p.Error)
			}
			out[warehouse.TopicPartition{Topic: topic, Partition: p.Partition}] = p.LastOffset
		}
	}
	return out, nil
}
