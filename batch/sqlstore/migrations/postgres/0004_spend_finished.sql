-- The spend table also counts, per job and day, whether the current
-- attempt's render finished (completed or failed) and whether it was a
-- policy refusal (jobs.DaySpend.Finished and Refused), so that the breaker
-- against moderation refusals reads a day's counts from the day's index
-- rather than from every job.
ALTER TABLE {prefix}spend ADD COLUMN finished integer NOT NULL DEFAULT 0;
ALTER TABLE {prefix}spend ADD COLUMN refused integer NOT NULL DEFAULT 0;

UPDATE {prefix}spend s SET
	finished = CASE WHEN j.status IN ('completed', 'failed') THEN 1 ELSE 0 END,
	refused = CASE WHEN j.status = 'failed' AND j.record->>'failure_class' = 'policy' THEN 1 ELSE 0 END
	FROM {prefix}jobs j
	WHERE j.key = s.key AND j.record->>'spend_day' = s.day;
