package jsonlstore

import (
	"context"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// RecordArchive records the archived copy of a completed job's output; see
// jobs.Store. Like every operation it runs in a hold of the file lock: an
// append outside one could race another operation's catch-up, which would
// take the half-written line for a torn one.
func (s *Store) RecordArchive(ctx context.Context, key string, a jobs.Archive) (jobs.Job, error) {
	return in(s, ctx, func() (jobs.Job, error) { return s.mem.RecordArchive(ctx, key, a) })
}
