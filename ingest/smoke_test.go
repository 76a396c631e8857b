package ingest_test

import (
	"testing"

	"github.com/segmentio/kafka-go"
)

func TestStoresEventsTyped(t *testing.T) {
	b := startBroker(t)
	w := openWarehouse(t, t.TempDir())
	defer w.Close()
	produce(t, b.Addrs(),
		kafka.Message{Topic: "finance.events", Key: []byte("K1"), Value: ev("e1", "contract.signed", "2026-10-14T09:30:00+08:00",
			`{"contract_id":"K1","customer_id":"C1","owner_id":"E1","amount":"12800.50","kind":"new","color":"red"}`)},
		kafka.Message{Topic: "crm.events", Key: []byte("C1"), Value: ev("e2", "mystery.happened", "2026-10-14T09:30:00Z", `{"x":1}`)},
		kafka.Message{Topic: "crm.events", Key: []byte("C1"), Value: []byte(`not json`)},
	)
	stop := runIngest(t, w, b.Addrs(), nil)
	waitHandled(t, w.DB(), 3)
	stop()
	db := w.DB()
	var amount string
	var occurred string
	var extra string
	if err := db.QueryRow(`SELECT amount::VARCHAR, occurred_at AT TIME ZONE 'UTC', extra::VARCHAR FROM raw.contract_signed`).Scan(&amount, &occurred, &extra); err != nil {
		t.Fatal(err)
	}
	t.Log(amount, occurred, extra)
	if amount != "12800.50" || extra != `{"color":"red"}` {
		t.Errorf("got amount %s extra %s", amount, extra)
	}
	if n := count(t, db, `SELECT count(*) FROM raw.unknown_events WHERE data->>'x' = '1'`); n != 1 {
		t.Errorf("unknown events: %d", n)
	}
	if n := count(t, db, `SELECT count(*) FROM ops.refused_events WHERE reason_code = 'invalid_json'`); n != 1 {
		t.Errorf("refused: %d", n)
	}
}
