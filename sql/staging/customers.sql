-- Customers as they stand now: the latest version of each customer.
-- grain: one row per customer_id
-- @materialized table
-- @test unique(customer_id)
SELECT customer_id, name, owner_id, stage, filled_share, missing_fields, valid_from AS updated_at
FROM staging.customer_versions
WHERE valid_to IS NULL
