-- KPI anomaly: a finished day on which a KPI of the company or of a team
-- lies far from the same weekday of the previous params.weeks weeks
-- (docs/anomalies.md explains the method). KPIs: those of params.kpis
-- among followups, revenue, tickets_assigned (the day-grain KPIs of those
-- names, read from marts.kpis_wide, which company_kpis and team_kpis
-- publish long) and logins (distinct employees with a user.login that day,
-- of the team at the day's end for a team, computed from staging). Days:
-- the last params.lookback_days days before today. Baseline: d - 7, d - 14,
-- ... d - 7 × weeks, leaving out days whose working status differs from
-- their weekday's norm (holidays on Monday to Friday, make-up days on a
-- weekend; such a day is not evaluated either), days before the KPI's data
-- begins (its first day with a non-zero company figure) and, for a team,
-- days on which the team had no members; fewer than params.min_weeks
-- days left: not evaluated. Robust z = (x - median) / s, s = 1.4826 × MAD,
-- or 1.2533 × the mean absolute deviation from the median when MAD = 0,
-- or 1 when that is 0 too. Fires when |z| >= threshold and the baseline
-- median >= params.min_median. Window: '<kpi>/<YYYY-MM-DD>'; value: z.
-- grain: one row per (subject, KPI, day) that fires
-- @materialized table
-- @test unique(subject_type, subject_id, alert_window)
-- @test not_null(subject_id)
-- @test not_null(alert_window)
-- @test not_null(value)
-- @test not_null(summary_en)
-- @test not_null(summary_zh)
-- @test accepted_values(subject_type, 'company', 'team')
-- @test expression(abs(value) >= threshold)
WITH span AS (
    SELECT pulse_date(pulse_now()) - CAST(pulse_alert_param('kpi_anomaly', 'lookback_days') AS INTEGER) AS first_eval,
           pulse_date(pulse_now()) - 1 AS last_eval,
           pulse_date(pulse_now()) - CAST(pulse_alert_param('kpi_anomaly', 'lookback_days') AS INTEGER)
               - 7 * CAST(pulse_alert_param('kpi_anomaly', 'weeks') AS INTEGER) AS first_day
),
days AS (
    -- every day evaluated or in a baseline; normal: its working status is
    -- its weekday's (Monday to Friday working, weekends not)
    SELECT day,
           ((isodow(day) <= 5 AND NOT list_contains(pulse_holidays(), day))
               OR list_contains(pulse_makeup_days(), day)) = (isodow(day) <= 5) AS normal
    FROM (SELECT CAST(unnest(generate_series(CAST(first_day AS TIMESTAMP), CAST(last_eval AS TIMESTAMP), INTERVAL 1 DAY)) AS DATE) AS day
          FROM span)
),
kpis AS (
    -- a name this rule cannot watch is a configuration error, not a KPI
    -- that quietly never fires
    SELECT DISTINCT CASE WHEN kpi IN ('followups', 'revenue', 'tickets_assigned', 'logins') THEN kpi
                         ELSE error('alerts.rules.kpi_anomaly.params.kpis: ' || kpi
                                    || ' is not one of followups, revenue, tickets_assigned, logins') END AS kpi
    FROM (SELECT unnest(pulse_alert_list('kpi_anomaly', 'kpis')) AS kpi)
),
figures AS MATERIALIZED (
    -- the company's and the teams' day figures, from the published wide
    -- mart (days never close: these are the live figures); the company is
    -- subject_id '' there. A team has a row on each day it had members.
    SELECT subject_type, CASE subject_type WHEN 'company' THEN 'company' ELSE subject_id END AS subject_id,
           period_start AS day, followups, revenue, tickets_assigned
    FROM marts.kpis_wide
    WHERE grain = 'day' AND subject_type <> 'employee' AND subject_id IS NOT NULL
      -- constant bounds (not subqueries), so that the scan is pruned
      AND period_start >= pulse_date(pulse_now()) - CAST(pulse_alert_param('kpi_anomaly', 'lookback_days') AS INTEGER)
                          - 7 * CAST(pulse_alert_param('kpi_anomaly', 'weeks') AS INTEGER)
      AND period_start < pulse_date(pulse_now())
),
data_begins AS (
    -- a KPI's data begin on its first day with a non-zero company figure
    -- (logins: the company's login_days)
    SELECT kpi, min(period_start) AS first_day
    FROM (UNPIVOT (SELECT period_start, followups, revenue, tickets_assigned, login_days AS logins
                   FROM marts.kpis_wide WHERE grain = 'day' AND subject_type = 'company')
          ON followups, revenue, tickets_assigned, logins INTO NAME kpi VALUE value)
    WHERE value > 0
    GROUP BY kpi
),
subject_days AS (
    SELECT 'company' AS subject_type, 'company' AS subject_id, day FROM days
    UNION ALL
    SELECT subject_type, subject_id, day FROM figures WHERE subject_type = 'team'
),
mart_values AS (
    SELECT subject_type, subject_id, day, 'followups' AS kpi, followups AS value FROM figures
    UNION ALL
    SELECT subject_type, subject_id, day, 'revenue', revenue FROM figures
    UNION ALL
    SELECT subject_type, subject_id, day, 'tickets_assigned', tickets_assigned FROM figures
),
login_people AS (
    SELECT DISTINCT l.employee_id, l.local_date AS day
    FROM staging.logins AS l
    WHERE 'logins' IN (SELECT kpi FROM kpis)
      AND l.occurred_at >= pulse_at(pulse_date(pulse_now()) - CAST(pulse_alert_param('kpi_anomaly', 'lookback_days') AS INTEGER)
                                    - 7 * CAST(pulse_alert_param('kpi_anomaly', 'weeks') AS INTEGER))
      AND l.occurred_at < pulse_at(pulse_date(pulse_now()))
),
login_teams AS (
    SELECT l.day, l.employee_id, v.team_id
    FROM login_people AS l
    LEFT JOIN staging.employee_versions AS v
      ON v.employee_id = l.employee_id AND v.valid_from < pulse_at(l.day + 1) AND v.valid_until >= pulse_at(l.day + 1)
),
login_values AS (
    SELECT 'company' AS subject_type, 'company' AS subject_id, day, 'logins' AS kpi, count(DISTINCT employee_id) AS value
    FROM login_teams GROUP BY day
    UNION ALL
    SELECT 'team', team_id, day, 'logins', count(DISTINCT employee_id)
    FROM login_teams WHERE team_id IS NOT NULL GROUP BY team_id, day
),
all_values AS (
    SELECT * FROM mart_values UNION ALL SELECT * FROM login_values
),
series AS (
    -- one value per subject, KPI and day the subject existed; a missing
    -- figure is 0. usable: the day may be evaluated or enter a baseline.
    SELECT sd.subject_type, sd.subject_id, k.kpi, sd.day,
           CAST(coalesce(v.value, 0) AS DOUBLE) AS x,
           d.normal AND sd.day >= b.first_day AS usable
    FROM subject_days AS sd
    CROSS JOIN kpis AS k
    JOIN days AS d ON d.day = sd.day
    JOIN data_begins AS b ON b.kpi = k.kpi
    LEFT JOIN all_values AS v
      ON v.subject_type = sd.subject_type AND v.subject_id = sd.subject_id AND v.kpi = k.kpi AND v.day = sd.day
),
compared AS (
    SELECT e.subject_type, e.subject_id, e.kpi, e.day, e.x,
           list(b.x ORDER BY b.day DESC) AS baseline,
           list(b.day ORDER BY b.day DESC) AS baseline_days,
           median(b.x) AS median
    FROM series AS e
    JOIN series AS b
      ON b.subject_type = e.subject_type AND b.subject_id = e.subject_id AND b.kpi = e.kpi
     AND isodow(b.day) = isodow(e.day) AND b.day < e.day
     AND b.day >= e.day - 7 * CAST(pulse_alert_param('kpi_anomaly', 'weeks') AS INTEGER)
    WHERE e.usable AND b.usable AND e.day >= (SELECT first_eval FROM span)
    GROUP BY ALL
    HAVING count(*) >= pulse_alert_param('kpi_anomaly', 'min_weeks')
),
scaled AS (
    SELECT *,
           list_aggregate(list_transform(baseline, v -> abs(v - median)), 'median') AS mad,
           list_aggregate(list_transform(baseline, v -> abs(v - median)), 'avg') AS mean_ad
    FROM compared
),
scored AS (
    SELECT *,
           CASE WHEN mad > 0 THEN 1.4826 * mad WHEN mean_ad > 0 THEN 1.2533 * mean_ad ELSE 1 END AS scale,
           (x - median) / CASE WHEN mad > 0 THEN 1.4826 * mad WHEN mean_ad > 0 THEN 1.2533 * mean_ad ELSE 1 END AS z
    FROM scaled
    WHERE median >= pulse_alert_param('kpi_anomaly', 'min_median')
),
fired AS (
    SELECT s.*,
           CASE WHEN s.subject_type = 'team' THEN coalesce(t.team_name, s.subject_id) END AS team_name,
           CASE WHEN x = round(x) THEN format('{:,}', CAST(x AS BIGINT))
                WHEN x * 10 = round(x * 10) THEN format('{:,.1f}', x) ELSE format('{:,.2f}', x) END AS x_text,
           CASE WHEN median = round(median) THEN format('{:,}', CAST(median AS BIGINT))
                WHEN median * 10 = round(median * 10) THEN format('{:,.1f}', median) ELSE format('{:,.2f}', median) END AS median_text,
           replace(format('{:.1f}', z), '-', '−') AS z_text,
           format('{:g}', pulse_alert_threshold('kpi_anomaly')) AS threshold_text
    FROM scored AS s
    LEFT JOIN (SELECT team_id, arg_max(team_name, valid_from) AS team_name
               FROM staging.employee_versions GROUP BY team_id) AS t
      ON s.subject_type = 'team' AND t.team_id = s.subject_id
    WHERE abs(s.z) >= pulse_alert_threshold('kpi_anomaly')
)
SELECT
    subject_type,
    subject_id,
    CASE WHEN subject_type = 'company' THEN 'Company' ELSE team_name END AS subject_name,
    kpi || '/' || strftime(day, '%Y-%m-%d') AS alert_window,
    NULL::VARCHAR AS employee_id,
    CASE WHEN subject_type = 'team' THEN subject_id END AS team_id,
    z AS value,
    pulse_alert_threshold('kpi_anomaly') AS threshold,
    format('{}''s {} on {} {} {}, far {} the usual {} (robust z {}, threshold {}).',
           CASE WHEN subject_type = 'company' THEN 'The company'
                WHEN lower(team_name) LIKE '%team%' THEN team_name
                ELSE 'Team ' || team_name END,
           CASE kpi WHEN 'followups' THEN 'follow-ups' WHEN 'tickets_assigned' THEN 'new tickets'
                    WHEN 'logins' THEN 'logins (distinct people)' ELSE replace(kpi, '_', ' ') END,
           strftime(day, '%a %Y-%m-%d'),
           CASE kpi WHEN 'revenue' THEN 'was' ELSE 'were' END,
           x_text,
           CASE WHEN z < 0 THEN 'below' ELSE 'above' END,
           median_text, z_text, threshold_text) AS summary_en,
    format('{} {}（{}）的{}为 {}，远{}于以往同日的中位数 {}（稳健 z 值 {}，阈值 {}）。',
           CASE WHEN subject_type = 'company' THEN '公司'
                WHEN team_name LIKE '%团队' OR team_name LIKE '%组' OR team_name LIKE '%部' THEN team_name
                WHEN regexp_matches(team_name, '[A-Za-z0-9]$') THEN team_name || ' 团队'
                ELSE team_name || '团队' END,
           strftime(day, '%Y-%m-%d'),
           ['周一', '周二', '周三', '周四', '周五', '周六', '周日'][isodow(day)],
           CASE kpi WHEN 'followups' THEN '跟进数' WHEN 'revenue' THEN '营收'
                    WHEN 'tickets_assigned' THEN '新增工单数' WHEN 'logins' THEN '登录人数' ELSE kpi END,
           x_text,
           CASE WHEN z < 0 THEN '低' ELSE '高' END,
           median_text, z_text, threshold_text) AS summary_zh,
    json_object('kpi', kpi, 'day', day, 'actual', x, 'median', median, 'mad', mad,
                'mean_absolute_deviation', mean_ad, 'scale', scale,
                'baseline', baseline, 'baseline_days', baseline_days) AS details
FROM fired
