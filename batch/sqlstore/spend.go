package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// indexSpend copies what j counts on each day (jobs.Job.Spend) into the
// spend table. A job that never reserved has nothing there and costs no
// statement. When replayed is true j's attempt was just closed (see
// jobs.Job.Replay): what it spent moved to EarlierCharges, and a day it
// spent nothing on (a render the service did not bill) may no longer be in
// Spend, so the job's rows are zeroed before those of Spend are written.
func (s *Store) indexSpend(ctx context.Context, q querier, j *jobs.Job, replayed bool) error {
	if replayed {
		reset := s.dialect.rebind(s.prefix, `UPDATE {prefix}spend SET reserved = 0, spent = 0, finished = 0, refused = 0 WHERE key = $1`)
		if _, err := q.ExecContext(ctx, reset, j.Key); err != nil {
			return fmt.Errorf("sqlstore: resetting the spending of job %s: %w", j.Key, err)
		}
	}
	if j.SpendDay == "" && len(j.EarlierCharges) == 0 {
		return nil
	}
	upsert, _ := spendQueries(s.dialect, s.prefix)
	for _, d := range j.Spend() {
		if _, err := q.ExecContext(ctx, upsert, j.Key, d.Day, int64(d.Reserved), int64(d.Spent), d.Finished, d.Refused); err != nil {
			return fmt.Errorf("sqlstore: recording the spending of job %s: %w", j.Key, err)
		}
	}
	return nil
}

// spendQueries returns the SQL of the spend table for d and prefix. It is
// built per call, which costs far less than the statements it serves.
func spendQueries(d Dialect, prefix string) (upsert, sumDay string) {
	return d.rebind(prefix, `INSERT INTO {prefix}spend (key, day, reserved, spent, finished, refused) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (key, day) DO UPDATE SET reserved = excluded.reserved, spent = excluded.spent,
				finished = excluded.finished, refused = excluded.refused`),
		d.rebind(prefix, `SELECT COALESCE(SUM(reserved), 0), COALESCE(SUM(spent), 0), COALESCE(SUM(finished), 0), COALESCE(SUM(refused), 0)
			FROM {prefix}spend WHERE day = $1`)
}

// daySpend totals day in the spend table (read through its day index).
func (s *Store) daySpend(ctx context.Context, q querier, day string) (jobs.DaySpend, error) {
	_, sumDay := spendQueries(s.dialect, s.prefix)
	var reserved, spent, finished, refused int64
	if err := q.QueryRowContext(ctx, sumDay, day).Scan(&reserved, &spent, &finished, &refused); err != nil {
		return jobs.DaySpend{}, fmt.Errorf("totalling day %s: %w", day, err)
	}
	return jobs.DaySpend{Day: day, Reserved: creativeai.Cents(reserved), Spent: creativeai.Cents(spent),
		Finished: int(finished), Refused: int(refused)}, nil
}

// DaySpend returns the totals of day; see jobs.Store. One indexed aggregate
// over the day's rows of the spend table answers it.
func (s *Store) DaySpend(ctx context.Context, day string) (jobs.DaySpend, error) {
	if err := jobs.CheckDay(day); err != nil {
		return jobs.DaySpend{}, err
	}
	if err := s.ready(ctx); err != nil {
		return jobs.DaySpend{}, err
	}
	d, err := s.daySpend(ctx, s.db, day)
	if err != nil {
		return jobs.DaySpend{}, fmt.Errorf("sqlstore: DaySpend: %w", err)
	}
	return d, nil
}

// Reserve reserves the estimated cost of the job's current attempt; see
// jobs.Store. The day's total is read and the reservation written in one
// transaction. On PostgreSQL the reservations of one day queue on an
// advisory lock taken before the total is read, so that two processes never
// both see room for the last cents; on SQLite the database's write lock
// does the same.
func (s *Store) Reserve(ctx context.Context, key string, r jobs.Reservation) (jobs.Reserved, error) {
	if err := r.Validate(); err != nil {
		return jobs.Reserved{}, err
	}
	lockClass := hash32("catalogvideo/sqlstore/spend:" + s.prefix)
	var out jobs.Reserved
	job, err := s.update(ctx, "Reserve", key, func(ctx context.Context, q querier, j *jobs.Job, now time.Time) (bool, error) {
		if s.dialect == Postgres {
			if _, err := q.ExecContext(ctx, s.q.lockGeneration, lockClass, hash32(r.Day)); err != nil {
				return false, fmt.Errorf("sqlstore: Reserve: locking day %s: %w", r.Day, err)
			}
		}
		day, err := s.daySpend(ctx, q, r.Day)
		if err != nil {
			return false, fmt.Errorf("sqlstore: Reserve: %w", err)
		}
		out.Day = day
		reused, err := j.Reserve(r, out.Day, now)
		if err != nil {
			return false, err
		}
		out.Reused = reused
		if !reused {
			out.Day.Reserved += r.Cents
		}
		return !reused, nil
	})
	out.Job = job
	return out, err
}
