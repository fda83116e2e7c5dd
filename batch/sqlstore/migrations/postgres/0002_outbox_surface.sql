-- A claim names the target surfaces its worker has sinks for, so the outbox
-- is indexed by surface first: a claim for one surface reads only that
-- surface's due jobs, earliest first, however many other surfaces wait.
ALTER TABLE {prefix}jobs ADD COLUMN target_surface text NOT NULL DEFAULT '';

UPDATE {prefix}jobs SET target_surface = record->>'target_surface'
	WHERE record->>'target_surface' IS NOT NULL;

CREATE INDEX {prefix}jobs_outbox_surface ON {prefix}jobs (target_surface, delivery_next_at, seq)
	WHERE status = 'completed' AND delivery = 'pending';
