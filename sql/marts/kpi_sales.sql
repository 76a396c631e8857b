-- Sales and finance figures per period and subject (employee, team at t,
-- company): revenue, contracts, new customers, deals won and lost with the
-- conversion cycle, collections, and the two sides of collection_rate. The
-- KPIs themselves (ratios, attainment) are formed in kpis_computed.
--
-- The median is taken through a sort (the middle one or two values of each
-- subject's values in order), not with median(), which keeps every value of
-- its group in C memory outside DuckDB's memory_limit; kpi_tickets.sql says
-- why. The values are median()'s.
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
attributed AS MATERIALIZED (
    SELECT p.*, m.team_id
    FROM pooled AS p
    LEFT JOIN staging.period_members AS m USING (grain, period_start, employee_id)
),
totals AS (
    SELECT
        grain, period_start,
        CASE WHEN grouping(employee_id) = 0 THEN 'employee' WHEN grouping(team_id) = 0 THEN 'team' ELSE 'company' END AS subject_type,
        coalesce(CASE WHEN grouping(employee_id) = 0 THEN employee_id WHEN grouping(team_id) = 0 THEN team_id ELSE '' END, '') AS subject_id,
        sum(revenue) AS revenue, sum(contracts) AS contracts, sum(new_customers) AS new_customers,
        sum(won) AS deals_won, sum(lost) AS deals_lost,
        sum(collections) AS collections,
        sum(due_amount) AS collection_due, sum(paid_amount) AS collection_paid
    FROM attributed
    GROUP BY GROUPING SETS ((grain, period_start, employee_id), (grain, period_start, team_id), (grain, period_start))
    HAVING NOT ((grouping(employee_id) = 0 AND employee_id IS NULL) OR (grouping(employee_id) = 1 AND grouping(team_id) = 0 AND team_id IS NULL))
),
median_subjects AS (
    -- each value once for each subject it counts for, as GROUPING SETS does
    SELECT grain, period_start, 'employee' AS subject_type, employee_id AS subject_id, cycle_days AS v
    FROM attributed WHERE cycle_days IS NOT NULL AND won = 1 AND employee_id IS NOT NULL
    UNION ALL
    SELECT grain, period_start, 'team', team_id, cycle_days
    FROM attributed WHERE cycle_days IS NOT NULL AND won = 1 AND team_id IS NOT NULL
    UNION ALL
    SELECT grain, period_start, 'company', '', cycle_days
    FROM attributed WHERE cycle_days IS NOT NULL AND won = 1
),
medians AS (
    SELECT grain, period_start, subject_type, subject_id, (min(v) + max(v)) / 2 AS conversion_cycle_days
    FROM (SELECT *, row_number() OVER w AS rn,
                 count(*) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n
          FROM median_subjects
          WINDOW w AS (PARTITION BY grain, period_start, subject_type, subject_id ORDER BY v))
    WHERE rn IN ((n + 1) // 2, (n + 2) // 2)
    GROUP BY ALL
)
SELECT
    t.grain, t.period_start, t.subject_type, t.subject_id,
    t.revenue, t.contracts, t.new_customers, t.deals_won, t.deals_lost,
    m.conversion_cycle_days, t.collections, t.collection_due, t.collection_paid
FROM totals AS t
LEFT JOIN medians AS m USING (grain, period_start, subject_type, subject_id)
