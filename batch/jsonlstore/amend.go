package jsonlstore

import (
	"context"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// AmendDelivery replaces the delivery ref of a delivered job; see
// jobs.Store. Like every operation it runs in a hold of the file lock.
func (s *Store) AmendDelivery(ctx context.Context, key, ref string) (jobs.Job, error) {
	return in(s, ctx, func() (jobs.Job, error) { return s.mem.AmendDelivery(ctx, key, ref) })
}
