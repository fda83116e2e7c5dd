package sqlstore

import (
	"context"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// AmendDelivery replaces the delivery ref of a delivered job (see
// jobs.Job.AmendDelivery) in one transaction; see jobs.Store.
func (s *Store) AmendDelivery(ctx context.Context, key, ref string) (jobs.Job, error) {
	return s.update(ctx, "AmendDelivery", key, func(_ context.Context, _ querier, j *jobs.Job, now time.Time) (bool, error) {
		before := j.DeliveryRef
		if err := j.AmendDelivery(ref, now); err != nil {
			return false, err
		}
		return j.DeliveryRef != before, nil
	})
}
