-- Contracts: one row per contract.signed event (each one counts as
-- revenue), with its local date. first_contract marks the customer's first
-- contract by occurred_at, then recorded_at, then event_id.
-- grain: one row per contract.signed event
-- @materialized table
-- @test unique(event_id)
-- @test not_null(owner_id)
SELECT
    event_id, contract_id, customer_id, owner_id, amount, opportunity_id, kind,
    occurred_at, pulse_date(occurred_at) AS local_date,
    row_number() OVER (PARTITION BY customer_id ORDER BY occurred_at, recorded_at, event_id) AS nth_of_customer
FROM raw.contract_signed
WHERE ingested_at <= pulse_cut()
