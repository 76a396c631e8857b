-- Changed intervals: the spans of time whose KPIs the events that are new in
-- this run (ingested after the last run's cut) can change. A period is
-- recomputed when it overlaps one (see dirty_periods). Empty on a full run.
-- Each rule follows a KPI's dependencies in metrics.md: an event changes its
-- own period; a version of an employee, customer or opportunity changes the
-- state at every t it is current for; a follow-up changes coverage for 30
-- days, the timeliness of earlier follow-ups it answers and the response of
-- earlier leads; a contract moves its customer's first contract and the
-- owner of its invoices and payments; a ticket event touches every period
-- of that ticket.
-- grain: one row per (a, b) span
-- @materialized table
-- @test expression(a <= b)
WITH
new_employees AS (SELECT event_id FROM raw.employee_upserted WHERE pulse_new(ingested_at)),
new_customers AS (SELECT event_id FROM raw.customer_upserted WHERE pulse_new(ingested_at)),
new_leads AS (SELECT customer_id, occurred_at FROM raw.lead_created WHERE pulse_new(ingested_at)),
new_followups AS (SELECT customer_id, occurred_at, next_followup_at FROM raw.followup_logged WHERE pulse_new(ingested_at)),
new_logins AS (SELECT occurred_at FROM raw.user_login WHERE pulse_new(ingested_at)),
new_targets AS (SELECT month FROM raw.target_set WHERE pulse_new(ingested_at)),
new_contracts AS (SELECT contract_id, customer_id, occurred_at FROM raw.contract_signed WHERE pulse_new(ingested_at)),
new_invoices AS (SELECT invoice_id FROM raw.invoice_issued WHERE pulse_new(ingested_at)),
new_payments AS (SELECT invoice_id, occurred_at FROM raw.payment_received WHERE pulse_new(ingested_at)),
new_created AS (
    SELECT opportunity_id, customer_id, occurred_at FROM raw.opportunity_created WHERE pulse_new(ingested_at)
),
new_changes AS (
    SELECT event_id, opportunity_id FROM raw.opportunity_stage_changed WHERE pulse_new(ingested_at)
),
new_tickets AS (
    SELECT ticket_id FROM raw.ticket_opened WHERE pulse_new(ingested_at)
    UNION SELECT ticket_id FROM raw.ticket_assigned WHERE pulse_new(ingested_at)
    UNION SELECT ticket_id FROM raw.ticket_responded WHERE pulse_new(ingested_at)
    UNION SELECT ticket_id FROM raw.ticket_resolved WHERE pulse_new(ingested_at)
    UNION SELECT ticket_id FROM raw.ticket_reopened WHERE pulse_new(ingested_at)
    UNION SELECT ticket_id FROM raw.csat_submitted WHERE pulse_new(ingested_at)
),
spans AS (
    -- state versions: every t they are current for
    SELECT v.valid_from AS a, coalesce(v.valid_to, 'infinity'::TIMESTAMPTZ) AS b
    FROM staging.employee_versions AS v SEMI JOIN new_employees USING (event_id)
    UNION ALL
    SELECT v.valid_from, coalesce(v.valid_to, 'infinity'::TIMESTAMPTZ)
    FROM staging.customer_versions AS v SEMI JOIN new_customers USING (event_id)
    -- leads and logins: their own period
    UNION ALL SELECT occurred_at, occurred_at FROM new_leads
    UNION ALL SELECT occurred_at, occurred_at FROM new_logins
    -- follow-ups: own period, coverage for 30 days, their own due time
    UNION ALL SELECT occurred_at, occurred_at + INTERVAL 720 HOUR FROM new_followups
    UNION ALL SELECT next_followup_at, next_followup_at FROM new_followups WHERE next_followup_at IS NOT NULL
    -- ...earlier follow-ups on the customer they may answer in time
    UNION ALL
    SELECT p.next_followup_at, p.next_followup_at
    FROM new_followups AS f JOIN staging.followups AS p
      ON p.customer_id = f.customer_id AND p.occurred_at < f.occurred_at
     AND p.next_followup_at >= f.occurred_at - INTERVAL 24 HOUR
    -- ...and earlier leads on the customer whose first response they now are
    UNION ALL
    SELECT l.occurred_at, l.occurred_at
    FROM new_followups AS f JOIN staging.leads AS l ON l.customer_id = f.customer_id AND l.occurred_at <= f.occurred_at
    WHERE NOT EXISTS (SELECT 1 FROM staging.followups AS e
                      WHERE e.customer_id = f.customer_id AND e.occurred_at >= l.occurred_at AND e.occurred_at < f.occurred_at)
    -- targets: their month
    UNION ALL SELECT pulse_at(month), pulse_at(month) FROM new_targets
    -- contracts: own period, the customer's first two contracts, the
    -- contract's invoices and payments, the customer's leads
    UNION ALL SELECT occurred_at, occurred_at FROM new_contracts
    -- (a new first contract demotes the old first one, and changes which
    -- leads converted)
    UNION ALL
    SELECT s.occurred_at, s.occurred_at
    FROM staging.contracts AS f JOIN staging.contracts AS s USING (customer_id)
    WHERE f.nth_of_customer = 1 AND s.nth_of_customer = 2
      AND f.event_id IN (SELECT event_id FROM raw.contract_signed WHERE pulse_new(ingested_at))
    UNION ALL
    SELECT p.occurred_at, p.occurred_at FROM staging.payments AS p SEMI JOIN new_contracts USING (contract_id)
    UNION ALL
    SELECT pulse_at(i.due_on), pulse_at(i.due_on) FROM raw.invoice_issued AS i SEMI JOIN new_contracts USING (contract_id)
    WHERE i.ingested_at <= pulse_cut()
    UNION ALL
    SELECT l.occurred_at, l.occurred_at
    FROM staging.contracts AS f JOIN staging.leads AS l USING (customer_id)
    LEFT JOIN staging.contracts AS s ON s.customer_id = f.customer_id AND s.nth_of_customer = 2
    WHERE f.nth_of_customer = 1
      AND f.event_id IN (SELECT event_id FROM raw.contract_signed WHERE pulse_new(ingested_at))
      AND l.occurred_at >= f.occurred_at - INTERVAL 4320 HOUR
      AND l.occurred_at <= coalesce(s.occurred_at, f.occurred_at)
    -- invoices: every due date any version of the invoice had
    UNION ALL
    SELECT pulse_at(i.due_on), pulse_at(i.due_on) FROM raw.invoice_issued AS i
    WHERE i.ingested_at <= pulse_cut() AND i.invoice_id IN (SELECT invoice_id FROM new_invoices UNION SELECT invoice_id FROM new_payments)
    -- payments: own period
    UNION ALL SELECT occurred_at, occurred_at FROM new_payments
    -- opportunities: a creation moves every version's owner and span, and
    -- the conversion of the customer's leads of the 90 days before it...
    UNION ALL
    SELECT v.valid_from, coalesce(v.valid_to, 'infinity'::TIMESTAMPTZ)
    FROM staging.opportunity_versions AS v SEMI JOIN new_created USING (opportunity_id)
    UNION ALL
    SELECT l.occurred_at, l.occurred_at
    FROM new_created AS c JOIN staging.leads AS l
      ON l.customer_id = c.customer_id AND l.occurred_at <= c.occurred_at AND l.occurred_at >= c.occurred_at - INTERVAL 2160 HOUR
    -- ...a stage change every t after it (a late amount carries forward
    -- into later versions), the period the opportunity was created in
    -- (funnel) and its first won and lost changes
    UNION ALL
    SELECT v.valid_from, 'infinity'::TIMESTAMPTZ
    FROM staging.opportunity_versions AS v SEMI JOIN new_changes USING (event_id)
    UNION ALL
    SELECT x, x
    FROM (SELECT unnest([o.created_at, o.won_at, o.lost_at]) AS x
          FROM staging.opportunities AS o SEMI JOIN new_changes USING (opportunity_id))
    -- tickets: every event of a touched ticket
    UNION ALL
    SELECT e.occurred_at, e.occurred_at
    FROM (
        SELECT ticket_id, occurred_at FROM raw.ticket_opened WHERE ingested_at <= pulse_cut()
        UNION ALL SELECT ticket_id, occurred_at FROM raw.ticket_assigned WHERE ingested_at <= pulse_cut()
        UNION ALL SELECT ticket_id, occurred_at FROM raw.ticket_responded WHERE ingested_at <= pulse_cut()
        UNION ALL SELECT ticket_id, occurred_at FROM raw.ticket_resolved WHERE ingested_at <= pulse_cut()
        UNION ALL SELECT ticket_id, occurred_at FROM raw.ticket_reopened WHERE ingested_at <= pulse_cut()
        UNION ALL SELECT ticket_id, occurred_at FROM raw.csat_submitted WHERE ingested_at <= pulse_cut()
    ) AS e SEMI JOIN new_tickets USING (ticket_id)
)
SELECT DISTINCT a, b FROM spans WHERE a IS NOT NULL
