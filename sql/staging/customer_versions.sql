-- Customer versions: every customer.upserted with the span in which it is
-- the customer's state (valid_from < t <= valid_to), its owner and stage,
-- and the share of the configured profile fields it fills (present, not
-- null, not blank after trimming; a field outside the contract is read
-- from the event's extra fields).
-- grain: one row per customer.upserted event
-- @materialized table
-- @test unique(event_id)
-- @test not_null(owner_id)
-- @test range(filled_share, 0, 1)
-- @test accepted_values(stage, 'lead', 'prospect', 'customer', 'churned')
SELECT
    customer_id, name, owner_id, stage,
    len(list_filter(pulse_profile_fields(), f -> nullif(trim(
        CASE f
            WHEN 'phone' THEN phone WHEN 'email' THEN email WHEN 'industry' THEN industry
            WHEN 'region' THEN region WHEN 'source' THEN source WHEN 'needs' THEN needs
            WHEN 'name' THEN name
            ELSE json_extract_string(extra, '$.' || f)
        END, ' ' || chr(9) || chr(10) || chr(13) || chr(12288)), '') IS NOT NULL))
        / len(pulse_profile_fields()) AS filled_share,
    list_filter(pulse_profile_fields(), f -> nullif(trim(
        CASE f
            WHEN 'phone' THEN phone WHEN 'email' THEN email WHEN 'industry' THEN industry
            WHEN 'region' THEN region WHEN 'source' THEN source WHEN 'needs' THEN needs
            WHEN 'name' THEN name
            ELSE json_extract_string(extra, '$.' || f)
        END, ' ' || chr(9) || chr(10) || chr(13) || chr(12288)), '') IS NULL) AS missing_fields,
    occurred_at AS valid_from,
    lead(occurred_at) OVER (PARTITION BY customer_id ORDER BY occurred_at, recorded_at, event_id) AS valid_to,
    coalesce(lead(occurred_at) OVER (PARTITION BY customer_id ORDER BY occurred_at, recorded_at, event_id), 'infinity'::TIMESTAMPTZ) AS valid_until,
    event_id, recorded_at
FROM raw.customer_upserted
WHERE ingested_at <= pulse_cut()
