package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// SeedJobs inserts jobs, with their generation ids, using multi-row INSERTs
// in one transaction: a benchmark's setup for 100k jobs in seconds, where
// 100k Track calls would each wait for a commit. The jobs must be new and
// carry their final timestamps; no kept events are applied.
func SeedJobs(ctx context.Context, s *Store, jobList []jobs.Job) error {
	const rowsPerInsert = 500 // 9 parameters a row, within every driver's limit
	return s.w.run(ctx, func(ctx context.Context, q querier) error {
		for start := 0; start < len(jobList); start += rowsPerInsert {
			chunk := jobList[start:min(start+rowsPerInsert, len(jobList))]
			var jobRows, genRows query
			jobRows.add(`INSERT INTO {prefix}jobs (` + jobColumns + `) VALUES `)
			genRows.add(`INSERT INTO {prefix}job_generations (generation_id, key) VALUES `)
			for i := range chunk {
				args, err := rowArgs(&chunk[i])
				if err != nil {
					return err
				}
				if i > 0 {
					jobRows.add(", ")
				}
				jobRows.add("(").list(args...).add(")")
				for _, id := range append([]string{chunk[i].GenerationID}, chunk[i].PreviousGenerationIDs...) {
					if id == "" {
						continue
					}
					if len(genRows.args) > 0 {
						genRows.add(", ")
					}
					genRows.add("(").list(id, chunk[i].Key).add(")")
				}
			}
			stmt, args := jobRows.build(s.dialect, s.prefix)
			if _, err := q.ExecContext(ctx, stmt, args...); err != nil {
				return fmt.Errorf("seeding jobs: %w", err)
			}
			if len(genRows.args) > 0 {
				stmt, args := genRows.build(s.dialect, s.prefix)
				if _, err := q.ExecContext(ctx, stmt, args...); err != nil {
					return fmt.Errorf("seeding generations: %w", err)
				}
			}
		}
		return nil
	})
}

// Internals the external tests check directly.
var (
	IsBusy        = isBusy
	IsRetryablePG = isRetryablePG
	Nanos         = nanos
	ListPage      = listPage
)

// Commits returns how many SQLite transactions s has committed.
func Commits(s *Store) int64 { return s.w.commits.Load() }

// Rebind exposes Dialect.rebind.
func (d Dialect) Rebind(prefix, query string) string { return d.rebind(prefix, query) }

// MigrateTo applies d's migrations up to version, leaving the schema an
// older program would have.
func MigrateTo(ctx context.Context, db *sql.DB, d Dialect, version int) error {
	return migrate(ctx, newWriter(db, d), DefaultTablePrefix, version)
}

// ClaimQueries returns the claim's candidate queries, rewritten for s's
// dialect: over every surface, and over one ($3).
func ClaimQueries(s *Store) (all, bySurface string) {
	return s.q.claimCandidates, s.q.claimSurfaceCandidates
}

// SpendDayQuery returns the SQL with which s totals one day of the spend
// table (Reserve and DaySpend).
func SpendDayQuery(s *Store) string {
	_, sumDay := spendQueries(s.dialect, s.prefix)
	return sumDay
}

// ListQuery returns the statement and arguments of List's first page for f.
func ListQuery(s *Store, f jobs.Filter) (string, []any) { return s.listQuery(f, 0) }
