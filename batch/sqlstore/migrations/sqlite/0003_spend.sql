-- Spending by job and day, in cents: what each job counts on each day it
-- reserved or spent on (jobs.Job.Spend). The jobs' records are the truth;
-- this table copies it, written with every change to a job that has
-- charges, so that a reservation totals its day without reading records.
CREATE TABLE {prefix}spend (
	key      TEXT    NOT NULL REFERENCES {prefix}jobs (key),
	day      TEXT    NOT NULL, -- YYYY-MM-DD in the budget's time zone
	reserved INTEGER NOT NULL,
	spent    INTEGER NOT NULL,
	PRIMARY KEY (key, day)
) WITHOUT ROWID;

CREATE INDEX {prefix}spend_day ON {prefix}spend (day);
