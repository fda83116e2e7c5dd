package memstore

import (
	"context"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// Approve approves a job's video for delivery; see jobs.Store.
func (s *Store) Approve(ctx context.Context, key, note string) (jobs.Job, error) {
	return s.update(ctx, key, func(j *jobs.Job, now time.Time) error {
		return j.Approve(note, now)
	})
}

// Reject rejects the video of a job awaiting review; see jobs.Store.
func (s *Store) Reject(ctx context.Context, key, reason string) (jobs.Job, error) {
	return s.update(ctx, key, func(j *jobs.Job, now time.Time) error {
		return j.Reject(reason, now)
	})
}

// RetryDelivery puts a job whose delivery failed back in the outbox; see
// jobs.Store.
func (s *Store) RetryDelivery(ctx context.Context, key string) (jobs.Job, error) {
	return s.update(ctx, key, func(j *jobs.Job, now time.Time) error {
		return j.RetryDelivery(now)
	})
}
