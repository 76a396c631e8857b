-- Contract owners: who a contract belongs to, for its invoices and
-- payments: the owner_id of its latest contract.signed.
-- grain: one row per contract_id
-- @materialized table
-- @test unique(contract_id)
SELECT contract_id, arg_max(owner_id, (occurred_at, recorded_at, event_id)) AS owner_id,
       arg_max(customer_id, (occurred_at, recorded_at, event_id)) AS customer_id
FROM raw.contract_signed
WHERE ingested_at <= pulse_cut()
GROUP BY contract_id
