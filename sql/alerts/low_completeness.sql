-- Low completeness: an employee active at now who owns at least
-- min_customers non-churned customers at now, and whose completeness (the
-- mean share of filled profile fields over those customers: the KPI
-- completeness of metrics.md at now) is below the threshold. The summary
-- names the profile field most often missing (ties: the first in
-- pulse_profile_fields() order) and how many customers lack it.
-- grain: one row per employee that fires (no window)
-- @materialized table
-- @test unique(subject_type, subject_id, alert_window)
-- @test not_null(subject_id)
-- @test not_null(value)
-- @test not_null(summary_en)
-- @test not_null(summary_zh)
-- @test range(value, 0, 1)
WITH staff AS (
    -- employees active at now
    SELECT employee_id, name, team_id
    FROM staging.employee_versions
    WHERE valid_from < pulse_now() AND valid_until >= pulse_now() AND active
),
owned AS (
    SELECT v.owner_id AS employee_id, v.filled_share, v.missing_fields
    FROM staging.customer_versions AS v
    WHERE v.valid_from < pulse_now() AND v.valid_until >= pulse_now() AND v.stage <> 'churned'
),
per_owner AS (
    SELECT employee_id, count(*) AS customers, avg(filled_share) AS completeness
    FROM owned
    GROUP BY employee_id
    HAVING count(*) >= pulse_alert_param('low_completeness', 'min_customers')
       AND avg(filled_share) < pulse_alert_threshold('low_completeness')
),
missing AS (
    -- how many of each firing owner's customers lack each field
    SELECT employee_id, field, list_position(pulse_profile_fields(), field) AS field_order,
           count(*) AS lacking
    FROM (SELECT o.employee_id, unnest(o.missing_fields) AS field
          FROM owned AS o SEMI JOIN per_owner AS p USING (employee_id))
    GROUP BY employee_id, field
),
worst AS (
    SELECT employee_id,
           arg_max(field, (lacking, -field_order)) AS field,
           max(lacking) AS lacking,
           json_group_object(field, lacking) AS lacking_by_field
    FROM missing
    GROUP BY employee_id
),
fired AS (
    SELECT p.employee_id, coalesce(s.name, p.employee_id) AS name, s.team_id,
           p.customers, p.completeness, w.field, w.lacking, w.lacking_by_field,
           pulse_alert_threshold('low_completeness') AS threshold,
           -- whole percentages, rounded down so that a figure below the
           -- threshold never reads as equal to it
           CAST(floor(p.completeness * 100 + 1e-9) AS BIGINT) AS pct,
           CAST(round(pulse_alert_threshold('low_completeness') * 100) AS BIGINT) AS threshold_pct
    FROM per_owner AS p
    JOIN staff AS s USING (employee_id)
    JOIN worst AS w USING (employee_id)
)
SELECT
    'employee' AS subject_type,
    employee_id AS subject_id,
    name AS subject_name,
    '' AS alert_window,
    employee_id,
    team_id,
    completeness AS value,
    threshold,
    format('{}''s customer records are {}% complete (threshold {}%): {} of {} customers lack {}.',
           name, pct, threshold_pct, lacking, customers,
           CASE field
               WHEN 'phone' THEN 'a phone number' WHEN 'email' THEN 'an email address'
               WHEN 'industry' THEN 'an industry' WHEN 'region' THEN 'a region'
               WHEN 'source' THEN 'a source' WHEN 'needs' THEN 'their needs'
               ELSE 'the field ' || field
           END) AS summary_en,
    format('{}的客户资料完整度为 {}%（阈值 {}%）：{} 个客户中有 {} 个缺少{}。',
           name, pct, threshold_pct, customers, lacking,
           CASE field
               WHEN 'phone' THEN '电话' WHEN 'email' THEN '邮箱' WHEN 'industry' THEN '行业'
               WHEN 'region' THEN '地区' WHEN 'source' THEN '来源' WHEN 'needs' THEN '需求'
               ELSE field
           END) AS summary_zh,
    json_object('customers', customers, 'completeness', completeness,
                'most_missing_field', field, 'lacking', lacking,
                'lacking_by_field', lacking_by_field) AS details
FROM fired
