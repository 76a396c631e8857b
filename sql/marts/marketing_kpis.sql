-- Marketing per lead source and campaign (and per source with campaign '*',
-- and the company with source and campaign '*'): leads created in the
-- period, the share whose customer got an opportunity within 90 days after
-- the lead, and the share whose customer signed a first contract within 180
-- days after it.
-- grain: one row per (grain, period_start, source, campaign)
-- @materialized incremental
-- @key grain, period_start
-- @scope staging.dirty_periods
-- @test unique(grain, period_start, source, campaign)
-- @test range(lead_to_opportunity_rate, 0, 1)
-- @test range(lead_to_customer_rate, 0, 1)
WITH since AS (SELECT min(start_at) AS start_at FROM staging.dirty_periods),
converted AS (
    SELECT l.*,
           EXISTS (SELECT 1 FROM staging.opportunities AS o
                   WHERE o.customer_id = l.customer_id AND o.created_at >= l.occurred_at
                     AND o.created_at <= l.occurred_at + INTERVAL 2160 HOUR) AS to_opportunity,
           EXISTS (SELECT 1 FROM staging.contracts AS c
                   WHERE c.customer_id = l.customer_id AND c.nth_of_customer = 1 AND c.occurred_at >= l.occurred_at
                     AND c.occurred_at <= l.occurred_at + INTERVAL 4320 HOUR) AS to_customer
    FROM staging.leads AS l
    WHERE l.occurred_at >= (SELECT start_at FROM since)
),
bucketed AS (
    SELECT d.grain, d.period_start, c.source, c.campaign, c.to_opportunity, c.to_customer
    FROM converted AS c
    CROSS JOIN (SELECT unnest(['day', 'week', 'month', 'quarter']) AS grain) AS g
    JOIN staging.dirty_periods AS d ON d.grain = g.grain AND d.period_start = pulse_period_start(g.grain, c.local_date)
)
SELECT grain, period_start,
       CASE WHEN grouping(source) = 1 THEN '*' ELSE source END AS source,
       CASE WHEN grouping(campaign) = 1 THEN '*' ELSE campaign END AS campaign,
       count(*) AS leads,
       avg(CASE WHEN to_opportunity THEN 1 ELSE 0 END) AS lead_to_opportunity_rate,
       avg(CASE WHEN to_customer THEN 1 ELSE 0 END) AS lead_to_customer_rate
FROM bucketed
GROUP BY GROUPING SETS ((grain, period_start, source, campaign), (grain, period_start, source), (grain, period_start))
