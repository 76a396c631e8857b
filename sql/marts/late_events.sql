-- Late events: events that landed in a closed period after it closed (by
-- occurred_at in the business time zone), with where they came from; they
-- are in the live figures and in late_changes, not in the frozen ones.
-- grain: one row per (closed period, event)
-- @materialized view
SELECT z.grain, z.period_start, e.event_id, e.event_type, e.occurred_at, e.recorded_at, e.ingested_at,
       e.kafka_topic, e.kafka_partition, e.kafka_offset, z.closed_at
FROM ops.closed_periods AS z
JOIN raw.events AS e
  ON e.ingested_at > coalesce(z.cut, z.closed_at)
 AND e.occurred_at >= pulse_at(z.period_start)
 AND e.occurred_at < pulse_at(pulse_period_end(z.grain, z.period_start))
