-- Payments: one row per payment.received, with the owner of its contract
-- (NULL for an unknown contract: company totals only).
-- grain: one row per payment.received event
-- @materialized table
-- @test unique(event_id)
SELECT p.event_id, p.payment_id, p.invoice_id, p.contract_id, o.owner_id, p.amount,
       p.occurred_at, pulse_date(p.occurred_at) AS local_date
FROM raw.payment_received AS p
LEFT JOIN staging.contract_owners AS o USING (contract_id)
WHERE p.ingested_at <= pulse_cut()
