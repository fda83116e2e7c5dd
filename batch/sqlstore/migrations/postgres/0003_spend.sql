-- Spending by job and day, in cents: what each job counts on each day it
-- reserved or spent on (jobs.Job.Spend). The jobs' records are the truth;
-- this table copies it, written with every change to a job that has
-- charges, so that a reservation totals its day without reading records.
CREATE TABLE {prefix}spend (
	key      text   NOT NULL REFERENCES {prefix}jobs (key),
	day      text   NOT NULL, -- YYYY-MM-DD in the budget's time zone
	reserved bigint NOT NULL,
	spent    bigint NOT NULL,
	PRIMARY KEY (key, day)
);

CREATE INDEX {prefix}spend_day ON {prefix}spend (day);
