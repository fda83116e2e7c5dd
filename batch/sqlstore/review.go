package sqlstore

import (
	"context"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// Approve approves a job's video for delivery (see jobs.Job.Approve). The
// approval lives in the job's JSON record and the delivery column, so it
// needs no column of its own; the row stays locked from reading to
// writing, so an approval and a worker holding the job for review apply
// one after the other and neither is lost.
func (s *Store) Approve(ctx context.Context, key, note string) (jobs.Job, error) {
	return s.update(ctx, "Approve", key, func(_ context.Context, _ querier, j *jobs.Job, now time.Time) (bool, error) {
		return true, j.Approve(note, now)
	})
}

// Reject rejects the video of a job awaiting review (see jobs.Job.Reject).
func (s *Store) Reject(ctx context.Context, key, reason string) (jobs.Job, error) {
	return s.update(ctx, "Reject", key, func(_ context.Context, _ querier, j *jobs.Job, now time.Time) (bool, error) {
		return true, j.Reject(reason, now)
	})
}

// RetryDelivery puts a job whose delivery failed back in the outbox (see
// jobs.Job.RetryDelivery).
func (s *Store) RetryDelivery(ctx context.Context, key string) (jobs.Job, error) {
	return s.update(ctx, "RetryDelivery", key, func(_ context.Context, _ querier, j *jobs.Job, now time.Time) (bool, error) {
		return true, j.RetryDelivery(now)
	})
}
