package jsonlstore

import (
	"context"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// RecordArchive records the archived copy of a completed job's output; see
// jobs.Store.
func (s *Store) RecordArchive(ctx context.Context, key string, a jobs.Archive) (jobs.Job, error) {
	return s.mem.RecordArchive(ctx, key, a)
}
