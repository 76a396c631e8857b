-- raw.events: every stored event of every type in one view, at one row per
-- event, so that an analyst (or a drill-down) can find an event by id and
-- trace it to its Kafka topic, partition and offset.
CREATE VIEW raw.events AS
SELECT event_id, 'employee.upserted' AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.employee_upserted
UNION ALL
SELECT event_id, 'customer.upserted' AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.customer_upserted
UNION ALL
SELECT event_id, 'lead.created' AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.lead_created
UNION ALL
SELECT event_id, 'followup.logged' AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.followup_logged
UNION ALL
SELECT event_id, 'opportunity.created' AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.opportunity_created
UNION ALL
SELECT event_id, 'opportunity.stage_changed' AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.opportunity_stage_changed
UNION ALL
SELECT event_id, 'user.login' AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.user_login
UNION ALL
SELECT event_id, 'target.set' AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.target_set
UNION ALL
SELECT event_id, 'contract.signed' AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.contract_signed
UNION ALL
SELECT event_id, 'invoice.issued' AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.invoice_issued
UNION ALL
SELECT event_id, 'payment.received' AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.payment_received
UNION ALL
SELECT event_id, 'ticket.opened' AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.ticket_opened
UNION ALL
SELECT event_id, 'ticket.assigned' AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.ticket_assigned
UNION ALL
SELECT event_id, 'ticket.responded' AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.ticket_responded
UNION ALL
SELECT event_id, 'ticket.resolved' AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.ticket_resolved
UNION ALL
SELECT event_id, 'ticket.reopened' AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.ticket_reopened
UNION ALL
SELECT event_id, 'csat.submitted' AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.csat_submitted
UNION ALL
SELECT event_id, event_type AS event_type, occurred_at, recorded_at, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM raw.unknown_events;
