-- Drill-down of the sales and finance KPIs (marts/kpi_sales.sql): the
-- contracts, won and lost opportunities, payments and due invoices behind
-- revenue, contracts, avg_deal_size, new_customers, deals_won, deals_lost,
-- win_rate, conversion_cycle_days, collections and collection_rate, for
-- one period of every owner. Package drill keeps the rows of one KPI and
-- one subject (owner_id, or the owner's team at t).
-- Parameters: $1 grain, $2 period_start (the period's first date).
-- Every row: kpi, owner_id (the employee the item is attributed to, NULL
-- for company totals only), event_id (the event behind the row), value
-- (what the row adds), counts_as (numerator/denominator/both for ratios,
-- medians and means).
WITH per AS (
    SELECT * FROM staging.periods WHERE grain = $1 AND period_start = CAST($2 AS DATE)
),
contracts AS (
    SELECT c.event_id, c.contract_id, c.customer_id, c.owner_id, c.opportunity_id, c.kind,
           CAST(c.amount AS DOUBLE) AS amount, c.occurred_at, c.nth_of_customer
    FROM staging.contracts AS c, per AS p
    WHERE c.local_date >= p.period_start AND c.local_date < p.period_end
),
-- the first change of an opportunity to won and to lost, as staging keeps it
first_changes AS (
    SELECT opportunity_id, to_stage,
           arg_min(event_id, (occurred_at, recorded_at, event_id)) AS event_id
    FROM raw.opportunity_stage_changed
    WHERE ingested_at <= pulse_cut() AND to_stage IN ('won', 'lost')
    GROUP BY opportunity_id, to_stage
),
closes AS (
    SELECT opportunity_id, owner_id, customer_id, created_at, 'won' AS outcome, won_at AS closed_at
    FROM staging.opportunities WHERE won_at IS NOT NULL
    UNION ALL
    SELECT opportunity_id, owner_id, customer_id, created_at, 'lost', lost_at
    FROM staging.opportunities WHERE lost_at IS NOT NULL
),
closed AS (
    SELECT c.*,
           CASE WHEN c.outcome = 'won' THEN epoch(c.closed_at - c.created_at) / 86400.0 END AS cycle_days,
           f.event_id
    FROM closes AS c
    CROSS JOIN per AS p
    LEFT JOIN first_changes AS f ON f.opportunity_id = c.opportunity_id AND f.to_stage = c.outcome
    WHERE pulse_date(c.closed_at) >= p.period_start AND pulse_date(c.closed_at) < p.period_end
),
payments AS (
    SELECT y.event_id, y.payment_id, y.invoice_id, y.contract_id, y.owner_id,
           CAST(y.amount AS DOUBLE) AS amount, y.occurred_at
    FROM staging.payments AS y, per AS p
    WHERE y.local_date >= p.period_start AND y.local_date < p.period_end
),
-- invoices due in the period (latest invoice.issued), for the contract's owner
due AS (
    SELECT i.invoice_id, i.contract_id, i.owner_id, CAST(i.amount AS DOUBLE) AS amount, i.due_on,
           (SELECT arg_max(r.event_id, (r.occurred_at, r.recorded_at, r.event_id)) FROM raw.invoice_issued AS r
            WHERE r.invoice_id = i.invoice_id AND r.ingested_at <= pulse_cut()) AS event_id
    FROM staging.invoices AS i, per AS p
    WHERE i.due_on >= p.period_start AND i.due_on < p.period_end
),
-- what was paid on them before the period's end, for the invoice's owner
paid AS (
    SELECT y.event_id, y.payment_id, y.invoice_id, y.contract_id, d.owner_id,
           CAST(y.amount AS DOUBLE) AS amount, y.occurred_at, d.due_on
    FROM due AS d JOIN staging.payments AS y ON y.invoice_id = d.invoice_id, per AS p
    WHERE y.occurred_at < p.end_at
)
SELECT 'revenue' AS kpi, owner_id, event_id, amount AS value, NULL AS counts_as,
       contract_id, customer_id, kind, amount, occurred_at
FROM contracts
UNION ALL BY NAME
SELECT 'contracts' AS kpi, owner_id, event_id, 1.0 AS value, NULL AS counts_as,
       contract_id, customer_id, kind, amount, occurred_at
FROM contracts
UNION ALL BY NAME
SELECT 'avg_deal_size' AS kpi, owner_id, event_id, amount AS value, 'both' AS counts_as,
       contract_id, customer_id, kind, amount, occurred_at
FROM contracts
UNION ALL BY NAME
SELECT 'new_customers' AS kpi, owner_id, event_id, 1.0 AS value, NULL AS counts_as,
       contract_id, customer_id, kind, amount, occurred_at
FROM contracts WHERE nth_of_customer = 1
UNION ALL BY NAME
SELECT 'deals_won' AS kpi, owner_id, event_id, 1.0 AS value, NULL AS counts_as,
       opportunity_id, customer_id, outcome, created_at, closed_at, cycle_days
FROM closed WHERE outcome = 'won'
UNION ALL BY NAME
SELECT 'deals_lost' AS kpi, owner_id, event_id, 1.0 AS value, NULL AS counts_as,
       opportunity_id, customer_id, outcome, created_at, closed_at
FROM closed WHERE outcome = 'lost'
UNION ALL BY NAME
SELECT 'win_rate' AS kpi, owner_id, event_id, 1.0 AS value,
       CASE outcome WHEN 'won' THEN 'both' ELSE 'denominator' END AS counts_as,
       opportunity_id, customer_id, outcome, created_at, closed_at
FROM closed
UNION ALL BY NAME
SELECT 'conversion_cycle_days' AS kpi, owner_id, event_id, cycle_days AS value, 'both' AS counts_as,
       opportunity_id, customer_id, outcome, created_at, closed_at, cycle_days
FROM closed WHERE outcome = 'won' AND cycle_days IS NOT NULL
UNION ALL BY NAME
SELECT 'collections' AS kpi, owner_id, event_id, amount AS value, NULL AS counts_as,
       payment_id, invoice_id, contract_id, amount, occurred_at
FROM payments
UNION ALL BY NAME
SELECT 'collection_rate' AS kpi, owner_id, event_id, amount AS value, 'denominator' AS counts_as,
       invoice_id, contract_id, amount, due_on
FROM due
UNION ALL BY NAME
SELECT 'collection_rate' AS kpi, owner_id, event_id, amount AS value, 'numerator' AS counts_as,
       payment_id, invoice_id, contract_id, amount, occurred_at, due_on
FROM paid
