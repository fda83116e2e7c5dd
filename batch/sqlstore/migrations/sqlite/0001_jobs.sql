-- Jobs, one row each. record holds the whole batch.Job as JSON, so the
-- record format is kept exactly; the other columns copy the fields that
-- queries select on. Times are Unix nanoseconds (the zero time.Time is the
-- smallest int64), which compare exactly like the times they stand for.
CREATE TABLE {prefix}jobs (
	seq              INTEGER PRIMARY KEY, -- order of first tracking; rows are never deleted
	key              TEXT    NOT NULL UNIQUE,
	sku              TEXT    NOT NULL,
	generation_id    TEXT    NOT NULL DEFAULT '',
	status           TEXT    NOT NULL,
	delivery         TEXT    NOT NULL DEFAULT '',
	delivery_next_at INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	lease_owner      TEXT    NOT NULL DEFAULT '',
	lease_until      INTEGER NOT NULL DEFAULT -9223372036854775808,
	record           TEXT    NOT NULL
);

CREATE INDEX {prefix}jobs_status ON {prefix}jobs (status, seq);

-- The generation of each job's current attempt, which events name.
CREATE INDEX {prefix}jobs_generation ON {prefix}jobs (generation_id);

-- The delivery outbox: only completed jobs waiting for delivery are indexed.
CREATE INDEX {prefix}jobs_outbox ON {prefix}jobs (delivery_next_at, seq)
	WHERE status = 'completed' AND delivery = 'pending';

-- Every generation id a job has had, current and earlier attempts: an event
-- or a lookup for an earlier attempt finds its job here, and the primary key
-- keeps two jobs from claiming one generation.
CREATE TABLE {prefix}job_generations (
	generation_id TEXT NOT NULL PRIMARY KEY,
	key           TEXT NOT NULL REFERENCES {prefix}jobs (key)
) WITHOUT ROWID;

-- Events for generation ids no job has yet, the most advanced one per id,
-- applied when a submission records the id.
CREATE TABLE {prefix}deferred_events (
	generation_id TEXT    NOT NULL PRIMARY KEY,
	event         TEXT    NOT NULL,
	received_at   INTEGER NOT NULL
) WITHOUT ROWID;
