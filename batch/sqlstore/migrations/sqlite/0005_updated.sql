-- The archive sweep lists the completed jobs updated since its last pass
-- (jobs.Filter.UpdatedSince): this index reads only those, not every
-- completed job.
CREATE INDEX {prefix}jobs_status_updated ON {prefix}jobs (status, updated_at);
