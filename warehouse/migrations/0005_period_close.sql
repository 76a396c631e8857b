-- Period close: the cut a closed period was frozen at (events ingested
-- after it are late changes), and periods an admin reopened by hand, which
-- automatic closing then leaves alone.
ALTER TABLE ops.closed_periods ADD COLUMN cut TIMESTAMPTZ;

CREATE TABLE ops.reopened_periods (
    grain VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    reopened_at TIMESTAMPTZ NOT NULL,
    reopened_by VARCHAR NOT NULL,
    PRIMARY KEY (grain, period_start)
);
