package sqlstore_test

import (
	"database/sql"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/batch/sqlstore"
	"github.com/creativeai-run/catalogvideo/batch/storetest"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// appliers is how many goroutines apply events at once, as webhook
// receivers do.
const appliers = 8

// BenchmarkApply measures event application with 8 concurrent appliers
// over stores of 1k, 10k and 100k jobs; the cost per event should stay flat
// as the store grows. Every event changes its job (alternating provider
// statuses), so each one is a full read-lock-change-write-commit.
//
// Beside it, baseline is the least any durable update costs on the same
// database: one autocommit UPDATE of one row by key, with no lookup by
// generation id, no JSON and no state machine (on SQLite serialized by a
// mutex, as the store serializes its writers). store/baseline is the
// store's overhead.
func BenchmarkApply(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			for _, n := range []int{1_000, 10_000, 100_000} {
				b.Run("jobs="+strconv.Itoa(n), func(b *testing.B) {
					db, _ := be.open(b)
					db.SetMaxOpenConns(2 * appliers)
					db.SetMaxIdleConns(2 * appliers)
					s := newStore(b, db, be.dialect)
					if err := sqlstore.SeedJobs(b.Context(), s, pendingJobs(n)); err != nil {
						b.Fatal(err)
					}
					// Event numbers go on across runs (-count, b.N ramp-up), so
					// that every event changes its job.
					var events, updates atomic.Int64
					b.Run("store", func(b *testing.B) { benchApply(b, s, n, &events) })
					b.Run("baseline", func(b *testing.B) { benchBaseline(b, db, be.dialect, n, &updates) })
				})
			}
		})
	}
}

// pendingJobs builds n submitted jobs, as the seeding of a benchmark.
func pendingJobs(n int) []batch.Job {
	jobs := make([]batch.Job, n)
	for i := range jobs {
		key := fmt.Sprintf("SKU-%06d/5e1f0c2a", i)
		jobs[i] = batch.Job{
			Key: key, SKU: key[:10], Collection: "spring-drop", TargetSurface: "shopify-pdp",
			GenerationID: fmt.Sprintf("vgen_%06d", i), Status: creativeai.StatusPending,
			ImageURL:    "https://cdn.example.com/catalog/" + key[:10] + ".jpg",
			VideoPrompt: "5-second product hero shot, slow camera push, soft studio light",
			Model:       "kling-v3", Duration: 5, AspectRatio: "16:9",
			CreatedAt: storetest.Epoch, UpdatedAt: storetest.Epoch,
		}
	}
	return jobs
}

// target spreads consecutive events over the whole table (7919 is prime,
// so i*7919 mod n visits every job) and alternates each job's status.
func target(i int64, n int) (job int, round int64) {
	return int((i * 7919) % int64(n)), i / int64(n)
}

func benchApply(b *testing.B, s *sqlstore.Store, n int, next *atomic.Int64) {
	b.ReportAllocs()
	b.ResetTimer()
	runAppliers(b, func() error {
		i := next.Add(1)
		job, round := target(i, n)
		gen := creativeai.Generation{ID: fmt.Sprintf("vgen_%06d", job), Status: creativeai.Status("rendering-" + strconv.FormatInt(round%2, 10))}
		r, err := s.Apply(b.Context(), gen)
		if err == nil && !r.Changed {
			err = fmt.Errorf("event %d (%s) for job %d changed nothing", i, gen.Status, job)
		}
		return err
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func benchBaseline(b *testing.B, db *sql.DB, d sqlstore.Dialect, n int, next *atomic.Int64) {
	query := d.Rebind(sqlstore.DefaultTablePrefix, `UPDATE {prefix}jobs SET updated_at = $1 WHERE key = $2`)
	var mu sync.Mutex
	b.ReportAllocs()
	b.ResetTimer()
	runAppliers(b, func() error {
		i := next.Add(1)
		job, _ := target(i, n)
		if d == sqlstore.SQLite {
			mu.Lock()
			defer mu.Unlock()
		}
		_, err := db.ExecContext(b.Context(), query, i, fmt.Sprintf("SKU-%06d/5e1f0c2a", job))
		return err
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// runAppliers runs op b.N times over exactly `appliers` goroutines.
func runAppliers(b *testing.B, op func() error) {
	var (
		left atomic.Int64
		wg   sync.WaitGroup
	)
	left.Store(int64(b.N))
	for range appliers {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := op(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
