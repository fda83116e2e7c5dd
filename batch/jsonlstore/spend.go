package jsonlstore

import (
	"context"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// Reserve reserves the estimated cost of the job's current attempt; see
// jobs.Store. The reservation is a change to the job, written to the file
// like any other, so it survives a crash. Like every operation it runs in a
// hold of the file lock, after the other processes' appends are read, so
// that the day's total counts their reservations too.
func (s *Store) Reserve(ctx context.Context, key string, r jobs.Reservation) (jobs.Reserved, error) {
	return in(s, ctx, func() (jobs.Reserved, error) { return s.mem.Reserve(ctx, key, r) })
}

// DaySpend returns the totals of day; see jobs.Store. It reads the other
// processes' appends first, like every operation, and then answers from the
// in-memory index.
func (s *Store) DaySpend(ctx context.Context, day string) (jobs.DaySpend, error) {
	return in(s, ctx, func() (jobs.DaySpend, error) { return s.mem.DaySpend(ctx, day) })
}
