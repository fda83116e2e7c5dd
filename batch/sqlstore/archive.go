package sqlstore

import (
	"context"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// RecordArchive records the archived copy of a completed job's output (see
// jobs.Job.RecordArchive). The archive lives in the job's JSON record, so
// it needs no column of its own.
func (s *Store) RecordArchive(ctx context.Context, key string, a jobs.Archive) (jobs.Job, error) {
	return s.update(ctx, "RecordArchive", key, func(_ context.Context, _ querier, j *jobs.Job, now time.Time) (bool, error) {
		return true, j.RecordArchive(a, now)
	})
}
