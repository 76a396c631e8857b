package drill

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pulsekpi/pulse/warehouse"
)

// Event is one stored event as its raw table holds it: where it came from
// in Kafka and its data.
type Event struct {
	EventID        string          `json:"event_id"`
	Type           string          `json:"type"`
	KafkaTopic     string          `json:"kafka_topic"`
	KafkaPartition int32           `json:"kafka_partition"`
	KafkaOffset    int64           `json:"kafka_offset"`
	IngestedAt     time.Time       `json:"ingested_at"`
	OccurredAt     time.Time       `json:"occurred_at"`
	RecordedAt     time.Time       `json:"recorded_at"`
	Payload        json.RawMessage `json:"payload"`
	// Employees are the employees the event concerns, for scoping who may
	// read it: its owner_id, employee_id and assignee_id, the owner of its
	// contract and of its opportunity, the ticket's assignee now (as ticket
	// KPIs attribute), and the owner of its customer when it occurred.
	Employees []string `json:"-"`
}

// envelope columns are answered apart from the payload.
const envelope = "event_id, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, kafka_key, ingested_at, envelope_extra"

// Event finds a stored event by id; ErrNotFound when there is none.
func (d *Drill) Event(ctx context.Context, id string) (Event, error) {
	ev := Event{EventID: id}
	err := d.db.QueryRowContext(ctx, `SELECT event_type, kafka_topic, kafka_partition, kafka_offset, ingested_at, occurred_at, recorded_at
		FROM raw.events WHERE event_id = $1 ORDER BY ingested_at LIMIT 1`, id).
		Scan(&ev.Type, &ev.KafkaTopic, &ev.KafkaPartition, &ev.KafkaOffset, &ev.IngestedAt, &ev.OccurredAt, &ev.RecordedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Event{}, fmt.Errorf("%w: event %q", ErrNotFound, id)
	case err != nil:
		return Event{}, fmt.Errorf("finding event %s: %w", id, err)
	}
	table := warehouse.UnknownTable
	for _, t := range warehouse.RawTables() {
		if t.Type.Name == ev.Type && t.Type.Name != "" {
			table = t.Name
		}
	}
	var payload string
	if err := d.db.QueryRowContext(ctx, `SELECT CAST(to_json(x) AS VARCHAR) FROM (SELECT * EXCLUDE (`+envelope+`)
		FROM raw."`+table+`" WHERE event_id = $1 ORDER BY ingested_at LIMIT 1) AS x`, id).Scan(&payload); err != nil {
		return Event{}, fmt.Errorf("reading event %s from raw.%s: %w", id, table, err)
	}
	ev.Payload = json.RawMessage(payload)
	ev.IngestedAt, ev.OccurredAt, ev.RecordedAt = ev.IngestedAt.UTC(), ev.OccurredAt.UTC(), ev.RecordedAt.UTC()
	if ev.Employees, err = d.concerned(ctx, ev); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// concerned lists the employees an event is about.
func (d *Drill) concerned(ctx context.Context, ev Event) ([]string, error) {
	var data map[string]any
	if err := json.Unmarshal(ev.Payload, &data); err != nil {
		return nil, fmt.Errorf("reading event %s: %w", ev.EventID, err)
	}
	var out []string
	add := func(v any) {
		if s, ok := v.(string); ok && s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, f := range []string{"owner_id", "employee_id", "assignee_id"} {
		add(data[f])
	}
	lookups := []struct{ field, query string }{
		{"contract_id", `SELECT owner_id FROM staging.contract_owners WHERE contract_id = $1`},
		{"opportunity_id", `SELECT owner_id FROM staging.opportunities WHERE opportunity_id = $1`},
		{"ticket_id", `SELECT assignee_id FROM staging.tickets WHERE ticket_id = $1`},
		{"customer_id", `SELECT owner_id FROM staging.customer_versions
			WHERE customer_id = $1 AND valid_from <= CAST($2 AS TIMESTAMPTZ) AND valid_until > CAST($2 AS TIMESTAMPTZ)`},
	}
	for _, l := range lookups {
		key, ok := data[l.field].(string)
		if !ok || key == "" {
			continue
		}
		args := []any{key}
		if l.field == "customer_id" {
			args = append(args, ev.OccurredAt)
		}
		rows, err := d.db.QueryContext(ctx, l.query, args...)
		if err != nil {
			return nil, fmt.Errorf("finding whom event %s concerns: %w", ev.EventID, err)
		}
		for rows.Next() {
			var id sql.NullString
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("finding whom event %s concerns: %w", ev.EventID, err)
			}
			add(id.String)
		}
		rows.Close()
	}
	return out, nil
}
