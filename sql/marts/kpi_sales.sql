-- Sales and finance figures per period and subject (employee, team at t,
-- company): revenue, contracts, new customers, deals won and lost with the
-- conversion cycle, collections, and the two sides of collection_rate. The
-- KPIs themselves (ratios, attainment) are formed in kpis_computed.
-- grain: one row per (grain, period_start, subject_type, subject_id)
-- @materialized incremental
-- @key grain, period_start
-- @scope staging.dirty_periods
-- @test unique(grain, period_start, subject_type, subject_id)
WITH since AS (SELECT min(start_at) AS start_at, min(period_start) AS first_day FROM staging.dirty_periods),
items AS (
    SELECT owner_id AS employee_id, local_date, amount AS revenue, 1 AS contracts,
           CASE WHEN nth_of_customer = 1 THEN 1 ELSE 0 END AS new_customers,
           0 AS won, 0 AS lost, NULL::DOUBLE AS cycle_days, 0::DECIMAL(18,2) AS collections
    FROM staging.contracts WHERE occurred_at >= (SELECT start_at FROM since)
    UNION ALL
    SELECT owner_id, pulse_date(won_at), 0, 0, 0, 1, 0,
           epoch(won_at - created_at) / 86400.0, 0
    FROM staging.opportunities WHERE won_at >= (SELECT start_at FROM since)
    UNION ALL
    SELECT owner_id, pulse_date(lost_at), 0, 0, 0, 0, 1, NULL, 0
    FROM staging.opportunities WHERE lost_at >= (SELECT start_at FROM since)
    UNION ALL
    SELECT owner_id, local_date, 0, 0, 0, 0, 0, NULL, amount
    FROM staging.payments WHERE occurred_at >= (SELECT start_at FROM since)
),
bucketed AS (
    SELECT d.grain, d.period_start, i.*
    FROM items AS i
    CROSS JOIN (SELECT unnest(['day', 'week', 'month', 'quarter']) AS grain) AS g
    JOIN staging.dirty_periods AS d ON d.grain = g.grain AND d.period_start = pulse_period_start(g.grain, i.local_date)
),
due AS (
    -- invoices due in the period, and what was paid on them before its end
    SELECT d.grain, d.period_start, i.owner_id AS employee_id,
           i.amount AS due_amount,
           coalesce((SELECT sum(p.amount) FROM staging.payments AS p
                     WHERE p.invoice_id = i.invoice_id AND p.occurred_at < d.end_at), 0) AS paid_amount
    FROM staging.invoices AS i
    CROSS JOIN (SELECT unnest(['day', 'week', 'month', 'quarter']) AS grain) AS g
    JOIN staging.dirty_periods AS d ON d.grain = g.grain AND d.period_start = pulse_period_start(g.grain, i.due_on)
    WHERE i.due_on >= (SELECT first_day FROM since)
),
pooled AS (
    SELECT grain, period_start, employee_id,
           revenue, contracts, new_customers, won, lost, cycle_days, collections,
           NULL::DECIMAL(18,2) AS due_amount, NULL::DECIMAL(38,2) AS paid_amount
    FROM bucketed
    UNION ALL
    SELECT grain, period_start, employee_id, 0, 0, 0, 0, 0, NULL, 0, due_amount, paid_amount
    FROM due
),
attributed AS (
    SELECT p.*, m.team_id
    FROM pooled AS p
    LEFT JOIN staging.period_members AS m USING (grain, period_start, employee_id)
)
SELECT
    grain, period_start,
    CASE WHEN grouping(employee_id) = 0 THEN 'employee' WHEN grouping(team_id) = 0 THEN 'team' ELSE 'company' END AS subject_type,
    coalesce(CASE WHEN grouping(employee_id) = 0 THEN employee_id WHEN grouping(team_id) = 0 THEN team_id ELSE '' END, '') AS subject_id,
    sum(revenue) AS revenue, sum(contracts) AS contracts, sum(new_customers) AS new_customers,
    sum(won) AS deals_won, sum(lost) AS deals_lost,
    median(cycle_days) FILTER (WHERE won = 1) AS conversion_cycle_days,
    sum(collections) AS collections,
    sum(due_amount) AS collection_due, sum(paid_amount) AS collection_paid
FROM attributed
GROUP BY GROUPING SETS ((grain, period_start, employee_id), (grain, period_start, team_id), (grain, period_start))
HAVING NOT ((grouping(employee_id) = 0 AND employee_id IS NULL) OR (grouping(employee_id) = 1 AND grouping(team_id) = 0 AND team_id IS NULL))
