-- Invoices: the latest invoice.issued of each invoice_id, with the owner of
-- its contract (NULL for an unknown contract: company totals only).
-- grain: one row per invoice_id
-- @materialized table
-- @test unique(invoice_id)
-- @test not_null(due_on)
SELECT i.invoice_id, i.contract_id, o.owner_id, i.amount, i.due_on, i.occurred_at
FROM (
    SELECT invoice_id,
           arg_max(contract_id, (occurred_at, recorded_at, event_id)) AS contract_id,
           arg_max(amount, (occurred_at, recorded_at, event_id)) AS amount,
           arg_max(due_on, (occurred_at, recorded_at, event_id)) AS due_on,
           max(occurred_at) AS occurred_at
    FROM raw.invoice_issued
    WHERE ingested_at <= pulse_cut()
    GROUP BY invoice_id
) AS i
LEFT JOIN staging.contract_owners AS o USING (contract_id)
