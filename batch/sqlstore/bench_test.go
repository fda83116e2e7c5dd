package sqlstore_test

import (
	"database/sql"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/batch/sqlstore"
	"github.com/creativeai-run/catalogvideo/batch/storetest"
)

// BenchmarkApply measures event application with storetest.Appliers (8)
// concurrent appliers over stores of 1k, 10k and 100k jobs, seeded with
// multi-row INSERTs; the cost per event should stay flat as the store
// grows. Every event changes its job, so each one is a full
// read-lock-change-write-commit. ns/op is per event.
//
// Beside it, baseline is the least a durable update costs on the same
// database: one autocommit UPDATE of one row by key, with no lookup by
// generation id, no JSON, no state machine and no group commit (on SQLite
// serialized by a mutex, since SQLite admits one writer). store/baseline is
// what the store costs over a bare UPDATE.
func BenchmarkApply(b *testing.B) {
	for _, be := range backends {
		for _, n := range []int{1_000, 10_000, 100_000} {
			b.Run(fmt.Sprintf("%s/jobs=%d", be.name, n), func(b *testing.B) {
				db, _ := be.open(b)
				db.SetMaxOpenConns(2 * storetest.Appliers)
				db.SetMaxIdleConns(2 * storetest.Appliers)
				s := newStore(b, db, be.dialect)
				jobList := make([]jobs.Job, n)
				for i := range jobList {
					jobList[i] = storetest.BenchJob(i)
				}
				if err := sqlstore.SeedJobs(b.Context(), s, jobList); err != nil {
					b.Fatal(err)
				}
				b.Run("store", func(b *testing.B) {
					b.ReportAllocs()
					commits := sqlstore.Commits(s)
					storetest.BenchmarkApply(b, n, s.Apply)
					if be.dialect == sqlstore.SQLite {
						b.ReportMetric(float64(b.N)/float64(sqlstore.Commits(s)-commits), "events/commit")
					}
				})
				var updates atomic.Int64 // goes on across runs, so every UPDATE changes its row
				b.Run("baseline", func(b *testing.B) { benchBaseline(b, db, be.dialect, n, &updates) })
			})
		}
	}
}

func benchBaseline(b *testing.B, db *sql.DB, d sqlstore.Dialect, n int, next *atomic.Int64) {
	query := d.Rebind(sqlstore.DefaultTablePrefix, `UPDATE {prefix}jobs SET updated_at = $1 WHERE key = $2`)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "bench-" + strconv.Itoa(i)
	}
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		count atomic.Int64
	)
	b.ReportAllocs()
	b.ResetTimer()
	for range storetest.Appliers {
		wg.Go(func() {
			for count.Add(1) <= int64(b.N) {
				k := next.Add(1)
				if d == sqlstore.SQLite {
					mu.Lock()
				}
				_, err := db.ExecContext(b.Context(), query, k, keys[k%int64(n)])
				if d == sqlstore.SQLite {
					mu.Unlock()
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
