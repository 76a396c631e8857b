package ingest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/pulsekpi/pulse/ingest"
)

const validFollowup = `{"followup_id":"F%d","customer_id":"C1","employee_id":"E1","channel":"phone"}`

// TestRefusalsLandWithReasons sends one message for every refusal reason of
// events.md, each followed by a valid event on the same partition, and
// expects every refusal in ops.refused_events with its reason and every
// valid event stored: a refusal never stops its partition.
func TestRefusalsLandWithReasons(t *testing.T) {
	cases := []struct {
		name, value, code, reason string
	}{
		{"not json", `{"event_id":`, "invalid_json", "not valid JSON"},
		{"not utf8", "{\"event_id\":\"\xff\"}", "invalid_json", "UTF-8"},
		{"array", `[1,2]`, "not_object", "not an object"},
		{"missing event_id", `{"event_type":"user.login","occurred_at":"2026-10-14T09:30:00Z","data":{"employee_id":"E1"}}`, "missing_field", "event_id"},
		{"event_id number", `{"event_id":7,"event_type":"user.login","occurred_at":"2026-10-14T09:30:00Z","data":{"employee_id":"E1"}}`, "wrong_type", "event_id"},
		{"missing occurred_at", `{"event_id":"x1","event_type":"user.login","data":{"employee_id":"E1"}}`, "missing_field", "occurred_at"},
		{"bad occurred_at", `{"event_id":"x2","event_type":"user.login","occurred_at":"2026-10-14 09:30","data":{"employee_id":"E1"}}`, "bad_timestamp", "occurred_at"},
		{"no offset", `{"event_id":"x3","event_type":"user.login","occurred_at":"2026-10-14T09:30:00","data":{"employee_id":"E1"}}`, "bad_timestamp", "occurred_at"},
		{"bad recorded_at", `{"event_id":"x4","event_type":"user.login","occurred_at":"2026-10-14T09:30:00Z","recorded_at":"soon","data":{"employee_id":"E1"}}`, "bad_timestamp", "recorded_at"},
		{"data missing", `{"event_id":"x5","event_type":"user.login","occurred_at":"2026-10-14T09:30:00Z"}`, "missing_field", "data"},
		{"data not object", `{"event_id":"x6","event_type":"user.login","occurred_at":"2026-10-14T09:30:00Z","data":"E1"}`, "wrong_type", "data"},
		{"required field missing", `{"event_id":"x7","event_type":"contract.signed","occurred_at":"2026-10-14T09:30:00Z","data":{"contract_id":"K1","customer_id":"C1","amount":5}}`, "missing_field", "owner_id"},
		{"wrong type", `{"event_id":"x8","event_type":"employee.upserted","occurred_at":"2026-10-14T09:30:00Z","data":{"employee_id":"E1","name":"Li Wei","role":"sales","team_id":"T1","active":"yes"}}`, "wrong_type", "active"},
		{"enum outside set", `{"event_id":"x9","event_type":"followup.logged","occurred_at":"2026-10-14T09:30:00Z","data":{"followup_id":"F1","customer_id":"C1","employee_id":"E1","channel":"fax"}}`, "out_of_range", "channel"},
		{"money 3 decimals", `{"event_id":"x10","event_type":"payment.received","occurred_at":"2026-10-14T09:30:00Z","data":{"payment_id":"P1","invoice_id":"I1","contract_id":"K1","amount":10.125}}`, "out_of_range", "amount"},
		{"money negative", `{"event_id":"x11","event_type":"payment.received","occurred_at":"2026-10-14T09:30:00Z","data":{"payment_id":"P1","invoice_id":"I1","contract_id":"K1","amount":"-5"}}`, "out_of_range", "amount"},
		{"score out of range", `{"event_id":"x12","event_type":"csat.submitted","occurred_at":"2026-10-14T09:30:00Z","data":{"ticket_id":"T1","score":6}}`, "out_of_range", "score"},
		{"oversized", `{"event_id":"x13","event_type":"user.login","occurred_at":"2026-10-14T09:30:00Z","data":{"employee_id":"E1","pad":"` + strings.Repeat("a", 5000) + `"}}`, "too_large", "limit"},
	}
	b := startBroker(t)
	w := openWarehouse(t, t.TempDir())
	defer w.Close()
	var msgs []kafka.Message
	for i, c := range cases {
		key := []byte(fmt.Sprintf("k%d", i))
		msgs = append(msgs,
			kafka.Message{Topic: topics[i%3], Key: key, Value: []byte(c.value)},
			kafka.Message{Topic: topics[i%3], Key: key, Value: ev(fmt.Sprintf("ok%d", i), "followup.logged", "2026-10-14T09:30:00Z", fmt.Sprintf(validFollowup, i))})
	}
	produce(t, b.Addrs(), msgs...)
	stop := runIngest(t, w, b.Addrs(), func(o *ingest.Options) { o.MaxMessageBytes = 4096; o.RefusedRawBytes = 1000 })
	waitHandled(t, w.DB(), int64(len(msgs)))
	stop()
	db := w.DB()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var code, reason, topic string
			var size, kept int64
			err := db.QueryRow(`SELECT r.reason_code, r.reason, r.kafka_topic, r.raw_size, octet_length(r.raw)
				FROM ops.refused_events r WHERE r.kafka_key = ?`, fmt.Sprintf("k%d", i)).Scan(&code, &reason, &topic, &size, &kept)
			if err != nil {
				t.Fatalf("refusal not stored: %v", err)
			}
			if code != c.code || !strings.Contains(reason, c.reason) || topic != topics[i%3] {
				t.Errorf("got %s %q on %s, want %s containing %q on %s", code, reason, topic, c.code, c.reason, topics[i%3])
			}
			if size != int64(len(c.value)) || kept != min(size, 1000) {
				t.Errorf("raw bytes: size %d kept %d, message had %d", size, kept, len(c.value))
			}
			if n := count(t, db, `SELECT count(*) FROM raw.followup_logged WHERE event_id = ?`, fmt.Sprintf("ok%d", i)); n != 1 {
				t.Errorf("the valid event after the refusal: stored %d times", n)
			}
		})
	}
	if n := count(t, db, `SELECT count(*) FROM ops.refused_events`); n != int64(len(cases)) {
		t.Errorf("refused_events has %d rows, want %d", n, len(cases))
	}
	if n := count(t, db, `SELECT sum(refused_events) FROM ops.kafka_offsets`); n != int64(len(cases)) {
		t.Errorf("kafka_offsets counts %d refusals, want %d", n, len(cases))
	}
}

// TestDuplicatesStoredOnce replays events at other offsets, on other
// partitions and topics, in the same batch and in later batches.
func TestDuplicatesStoredOnce(t *testing.T) {
	b := startBroker(t)
	w := openWarehouse(t, t.TempDir())
	defer w.Close()
	login := func(id, key, topic string) kafka.Message {
		return kafka.Message{Topic: topic, Key: []byte(key), Value: ev(id, "user.login", "2026-10-14T09:30:00+08:00", `{"employee_id":"E1","client":"web"}`)}
	}
	var first []kafka.Message
	for i := range 50 {
		id := fmt.Sprintf("dup-%d", i)
		// The same event three times in one go: other keys (so other
		// partitions) and another topic.
		first = append(first, login(id, "a", topics[0]), login(id, fmt.Sprintf("other-%d", i), topics[0]), login(id, "b", topics[2]))
	}
	produce(t, b.Addrs(), first...)
	stop := runIngest(t, w, b.Addrs(), nil)
	waitHandled(t, w.DB(), int64(len(first)))
	// A replay later, in new batches, after the originals are stored.
	var replay []kafka.Message
	for i := range 50 {
		replay = append(replay, login(fmt.Sprintf("dup-%d", i), "c", topics[1]))
	}
	replay = append(replay, login("fresh", "c", topics[1]))
	produce(t, b.Addrs(), replay...)
	waitHandled(t, w.DB(), int64(len(first)+len(replay)))
	stop()
	db := w.DB()
	if n := count(t, db, `SELECT count(*) FROM raw.user_login`); n != 51 {
		t.Errorf("stored %d logins, want 51", n)
	}
	if n := count(t, db, `SELECT count(DISTINCT event_id) FROM raw.user_login`); n != 51 {
		t.Errorf("distinct ids %d, want 51", n)
	}
	if n := count(t, db, `SELECT sum(duplicate_events) FROM ops.kafka_offsets`); n != 150 {
		t.Errorf("counted %d duplicates, want 150", n)
	}
}

// TestLateAndOutOfOrderStored: events days late and out of order are stored
// like any other, with their own occurred_at.
func TestLateAndOutOfOrderStored(t *testing.T) {
	b := startBroker(t)
	w := openWarehouse(t, t.TempDir())
	defer w.Close()
	occurred := []string{"2026-10-20T10:00:00+08:00", "2026-10-01T10:00:00+08:00", "2026-10-19T23:59:59+08:00", "2026-09-30T16:00:00Z"}
	var msgs []kafka.Message
	for i, at := range occurred {
		msgs = append(msgs, kafka.Message{Topic: topics[0], Key: []byte("C1"),
			Value: []byte(fmt.Sprintf(`{"event_id":"late-%d","event_type":"followup.logged","occurred_at":%q,"recorded_at":"2026-10-21T09:00:00+08:00","data":{"followup_id":"F%d","customer_id":"C1","employee_id":"E1","channel":"visit"}}`, i, at, i))})
	}
	produce(t, b.Addrs(), msgs...)
	stop := runIngest(t, w, b.Addrs(), nil)
	waitHandled(t, w.DB(), int64(len(msgs)))
	stop()
	rows, err := w.DB().Query(`SELECT event_id, strftime(occurred_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S') FROM raw.followup_logged ORDER BY kafka_offset`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := []string{"2026-10-20T02:00:00", "2026-10-01T02:00:00", "2026-10-19T15:59:59", "2026-09-30T16:00:00"}
	i := 0
	for rows.Next() {
		var id, at string
		if err := rows.Scan(&id, &at); err != nil {
			t.Fatal(err)
		}
		if id != fmt.Sprintf("late-%d", i) || at != want[i] {
			t.Errorf("row %d: %s at %s, want late-%d at %s", i, id, at, i, want[i])
		}
		i++
	}
	if i != len(want) {
		t.Errorf("stored %d events, want %d", i, len(want))
	}
}
