package broker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// TestRetention: with Retention set, messages older than it leave the log
// (its first offset moves past them) while newer ones stay readable.
func TestRetention(t *testing.T) {
	b, err := Start(Options{Topics: []string{"t"}, Partitions: 1, Retention: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	w := &kafka.Writer{Addr: kafka.TCP(b.Addrs()...), Topic: "t", BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	produce := func(from, n int) {
		t.Helper()
		msgs := make([]kafka.Message, n)
		for i := range msgs {
			msgs[i] = kafka.Message{Value: fmt.Appendf(nil, "m%d", from+i)}
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	client := &kafka.Client{Addr: kafka.TCP(b.Addrs()...)}
	offsets := func() (first, last int64) {
		t.Helper()
		res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
			"t": {kafka.FirstOffsetOf(0), kafka.LastOffsetOf(0)}}})
		if err != nil {
			t.Fatal(err)
		}
		p := res.Topics["t"][0]
		if p.Error != nil {
			t.Fatal(p.Error)
		}
		return p.FirstOffset, p.LastOffset
	}

	produce(0, 10)
	if first, last := offsets(); first != 0 || last != 10 {
		t.Fatalf("after producing 10: first %d, last %d; want 0, 10", first, last)
	}
	time.Sleep(2500 * time.Millisecond) // the first ten are now older than the retention; the next five stay younger for a tick or two
	produce(10, 5)
	deadline := time.Now().Add(10 * time.Second)
	for {
		first, last := offsets()
		if first == 10 && last == 15 {
			break
		}
		if time.Now().After(deadline) || first > 10 {
			t.Fatalf("first offset %d, last %d; want 10 and 15: the old messages deleted, the new kept", first, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// What is left is readable from the new start.
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: b.Addrs(), Topic: "t", Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	if err := r.SetOffset(kafka.FirstOffset); err != nil {
		t.Fatal(err)
	}
	m, err := r.ReadMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Offset != 10 || string(m.Value) != "m10" {
		t.Errorf("first readable message: offset %d %q, want 10 \"m10\"", m.Offset, m.Value)
	}
}
