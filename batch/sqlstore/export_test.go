package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/creativeai-run/catalogvideo/batch"
)

// SeedJobs inserts jobs, with their generation ids, using multi-row INSERTs
// in one transaction: a benchmark's setup for 100k jobs in seconds, where
// 100k Track calls would each wait for a commit. The jobs must be new and
// carry their final timestamps; no kept events are applied.
func SeedJobs(ctx context.Context, s *Store, jobs []batch.Job) error {
	const rowsPerInsert = 500 // 8 parameters a row, within every driver's limit
	return s.w.run(ctx, func(ctx context.Context, q querier) error {
		for start := 0; start < len(jobs); start += rowsPerInsert {
			chunk := jobs[start:min(start+rowsPerInsert, len(jobs))]
			var (
				jobSQL, genSQL   strings.Builder
				jobArgs, genArgs []any
			)
			jobSQL.WriteString(`INSERT INTO {prefix}jobs (key, sku, generation_id, status, delivery, delivery_next_at, updated_at, record) VALUES `)
			genSQL.WriteString(`INSERT INTO {prefix}job_generations (generation_id, key) VALUES `)
			for i := range chunk {
				args, err := rowArgs(&chunk[i])
				if err != nil {
					return err
				}
				if i > 0 {
					jobSQL.WriteString(", ")
				}
				jobSQL.WriteString(tuple(len(jobArgs), len(args)))
				jobArgs = append(jobArgs, args...)
				for _, id := range append([]string{chunk[i].GenerationID}, chunk[i].PreviousGenerationIDs...) {
					if id == "" {
						continue
					}
					if len(genArgs) > 0 {
						genSQL.WriteString(", ")
					}
					genSQL.WriteString(tuple(len(genArgs), 2))
					genArgs = append(genArgs, id, chunk[i].Key)
				}
			}
			if _, err := q.ExecContext(ctx, s.dialect.rebind(s.prefix, jobSQL.String()), jobArgs...); err != nil {
				return fmt.Errorf("seeding jobs: %w", err)
			}
			if len(genArgs) > 0 {
				if _, err := q.ExecContext(ctx, s.dialect.rebind(s.prefix, genSQL.String()), genArgs...); err != nil {
					return fmt.Errorf("seeding generations: %w", err)
				}
			}
		}
		return nil
	})
}

// tuple returns "($from+1, …, $from+n)".
func tuple(from, n int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i+1))
	}
	b.WriteByte(')')
	return b.String()
}

// Internals the external tests check directly.
var (
	IsBusy        = isBusy
	IsRetryablePG = isRetryablePG
	Nanos         = nanos
	ListPage      = listPage
)

// Rebind exposes Dialect.rebind.
func (d Dialect) Rebind(prefix, query string) string { return d.rebind(prefix, query) }
