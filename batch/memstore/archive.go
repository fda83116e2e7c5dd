package memstore

import (
	"context"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// RecordArchive records the archived copy of a completed job's output; see
// jobs.Store.
func (s *Store) RecordArchive(ctx context.Context, key string, a jobs.Archive) (jobs.Job, error) {
	return s.update(ctx, key, func(j *jobs.Job, now time.Time) error {
		return j.RecordArchive(a, now)
	})
}
