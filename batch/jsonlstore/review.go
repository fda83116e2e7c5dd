package jsonlstore

import (
	"context"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// Approve approves a job's video for delivery; see jobs.Store. The approval
// is a line of the file, so every process sharing it honours it.
func (s *Store) Approve(ctx context.Context, key, note string) (jobs.Job, error) {
	return in(s, ctx, func() (jobs.Job, error) { return s.mem.Approve(ctx, key, note) })
}

// Reject rejects the video of a job awaiting review; see jobs.Store.
func (s *Store) Reject(ctx context.Context, key, reason string) (jobs.Job, error) {
	return in(s, ctx, func() (jobs.Job, error) { return s.mem.Reject(ctx, key, reason) })
}

// RetryDelivery puts a job whose delivery failed back in the outbox; see
// jobs.Store.
func (s *Store) RetryDelivery(ctx context.Context, key string) (jobs.Job, error) {
	return in(s, ctx, func() (jobs.Job, error) { return s.mem.RetryDelivery(ctx, key) })
}
