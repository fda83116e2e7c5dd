package memstore

import (
	"context"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// AmendDelivery replaces the delivery ref of a delivered job; see
// jobs.Store.
func (s *Store) AmendDelivery(ctx context.Context, key, ref string) (jobs.Job, error) {
	return s.update(ctx, key, func(j *jobs.Job, now time.Time) error {
		return j.AmendDelivery(ref, now)
	})
}
