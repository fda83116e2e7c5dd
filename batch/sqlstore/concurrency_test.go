package sqlstore_test

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/batch/sqlstore"
	"github.com/creativeai-run/catalogvideo/batch/storetest"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// twoProcesses opens two stores on one fresh database through separate
// pools, as two processes would, each pool limited to a few connections.
func twoProcesses(t *testing.T, b backend, opts ...sqlstore.Option) (*sql.DB, [2]*sqlstore.Store) {
	t.Helper()
	db1, reopen := b.open(t)
	db2 := reopen(t)
	var stores [2]*sqlstore.Store
	for i, db := range []*sql.DB{db1, db2} {
		db.SetMaxOpenConns(6)
		stores[i] = newStore(t, db, b.dialect, opts...)
	}
	return db1, stores
}

// completedJobs builds n jobs that completed at storetest.Epoch and wait for
// delivery.
func completedJobs(n int) []jobs.Job {
	jobList := make([]jobs.Job, n)
	for i := range jobList {
		key := fmt.Sprintf("job-%04d", i)
		j := jobs.Job{Key: key, SKU: "SKU-" + key, TargetSurface: "shopify-pdp", Status: jobs.StatusPending,
			CreatedAt: storetest.Epoch, UpdatedAt: storetest.Epoch, GenerationID: "vgen_" + key}
		j.ApplyGeneration(creativeai.Generation{ID: j.GenerationID, Status: creativeai.StatusCompleted, OutputURL: "https://cdn.example/" + key + ".mp4"}, storetest.Epoch)
		jobList[i] = j
	}
	return jobList
}

// TestTwoProcessesClaim has delivery workers of two processes drain one
// outbox: every job is claimed exactly once and delivered exactly once.
func TestTwoProcessesClaim(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		_, stores := twoProcesses(t, b)
		const jobList, workersPerProcess = 300, 6
		if err := sqlstore.SeedJobs(t.Context(), stores[0], completedJobs(jobList)); err != nil {
			t.Fatal(err)
		}
		now := storetest.Epoch.Add(time.Second)
		var (
			mu     sync.Mutex
			counts = map[string]int{}
			wg     sync.WaitGroup
		)
		for w := range 2 * workersPerProcess {
			s := stores[w%2]
			owner := fmt.Sprintf("process-%d/worker-%d", w%2, w)
			wg.Go(func() {
				for {
					claimed, err := s.ClaimDeliveries(t.Context(), jobs.Claim{Owner: owner, Limit: 7, Lease: time.Hour, Now: now})
					if err != nil {
						t.Errorf("%s: ClaimDeliveries: %v", owner, err)
						return
					}
					if len(claimed) == 0 {
						return
					}
					for _, j := range claimed {
						mu.Lock()
						counts[j.Key]++
						mu.Unlock()
						if _, err := s.RecordDelivery(t.Context(), j.Key, jobs.DeliveryResult{Owner: owner, State: jobs.DeliveryDelivered, Ref: owner}); err != nil {
							t.Errorf("%s: RecordDelivery(%s): %v", owner, j.Key, err)
						}
					}
				}
			})
		}
		wg.Wait()
		if len(counts) != jobList {
			t.Errorf("%d distinct jobs claimed, want %d", len(counts), jobList)
		}
		for k, n := range counts {
			if n != 1 {
				t.Errorf("%s claimed %d times", k, n)
			}
		}
		delivered := 0
		for j, err := range stores[1].List(t.Context(), jobs.Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			if j.Delivery == jobs.DeliveryDelivered && j.DeliveryAttempts == 1 {
				delivered++
			}
		}
		if delivered != jobList {
			t.Errorf("%d jobs delivered once, want %d", delivered, jobList)
		}
	})
}

// TestTwoProcessesApply has webhook receivers and submitters of two
// processes race: submissions recording generation ids against duplicated,
// reordered events for them, some arriving before the id is recorded.
// Nothing may be lost: every job ends completed, and no event is left kept.
func TestTwoProcessesApply(t *testing.T) {
	forEachBackend(t, testTwoProcessesApply)
}

// TestPostgresServerIsolation runs the race of TestTwoProcessesApply on
// connections whose default isolation is REPEATABLE READ: the store must
// still see, after taking a generation's lock, what committed before.
func TestPostgresServerIsolation(t *testing.T) {
	b := backend{name: "Postgres", dialect: sqlstore.Postgres, open: func(tb testing.TB) (*sql.DB, func(testing.TB) *sql.DB) {
		tb.Helper()
		dsn := withParam(tb, postgresSchemaDSN(tb), "default_transaction_isolation", "repeatable read")
		return openPostgresDB(tb, dsn), func(tb testing.TB) *sql.DB { return openPostgresDB(tb, dsn) }
	}}
	testTwoProcessesApply(t, b)
}

func testTwoProcessesApply(t *testing.T, b backend) {
	db, stores := twoProcesses(t, b)
	const jobList, workers = 120, 12
	type op struct {
		key string
		sub bool // record the submission rather than apply gen
		gen creativeai.Generation
	}
	var ops []op
	for i := range jobList {
		key, id := fmt.Sprintf("job-%03d", i), fmt.Sprintf("vgen_%03d", i)
		if _, _, err := stores[i%2].Track(t.Context(), jobs.Job{Key: key, SKU: key, TargetSurface: "shopify-pdp"}); err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op{key: key, sub: true, gen: creativeai.Generation{ID: id, Status: creativeai.StatusPending}})
		for range 2 { // senders retry and duplicate
			ops = append(ops,
				op{gen: creativeai.Generation{ID: id, Status: creativeai.StatusProcessing}},
				op{gen: creativeai.Generation{ID: id, Status: "upscaling"}},
				op{gen: creativeai.Generation{ID: id, Status: creativeai.StatusCompleted, OutputURL: "https://cdn.example/" + id + ".mp4"}})
		}
	}
	rand.New(rand.NewPCG(7, 11)).Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })

	next := make(chan op)
	var wg sync.WaitGroup
	for w := range workers {
		s := stores[w%2]
		wg.Go(func() {
			for o := range next {
				var err error
				if o.sub {
					gen := o.gen
					_, err = s.RecordSubmission(t.Context(), o.key, jobs.Submission{Generation: &gen})
				} else {
					_, err = s.Apply(t.Context(), o.gen)
				}
				if err != nil {
					t.Errorf("op %+v: %v", o, err)
				}
			}
		})
	}
	for _, o := range ops {
		next <- o
	}
	close(next)
	wg.Wait()

	n := 0
	for j, err := range stores[0].List(t.Context(), jobs.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if j.Status != jobs.StatusCompleted || j.OutputURL == "" || j.ProviderStatus != "" || j.Delivery != jobs.DeliveryPending {
			t.Errorf("%s: Status %q, OutputURL %q, ProviderStatus %q, Delivery %q; want completed with output, awaiting delivery",
				j.Key, j.Status, j.OutputURL, j.ProviderStatus, j.Delivery)
		}
	}
	if n != jobList {
		t.Errorf("%d jobs listed, want %d", n, jobList)
	}
	if kept := countRows(t, db, "catalogvideo_deferred_events"); kept != 0 {
		t.Errorf("%d events still kept after every id was recorded", kept)
	}
}

// TestSQLiteBusyWithoutTimeout runs two processes' appliers on a database
// opened without busy_timeout, so SQLite reports SQLITE_BUSY at once instead
// of waiting; the store must retry rather than fail an update.
func TestSQLiteBusyWithoutTimeout(t *testing.T) {
	path := newSQLitePath(t)
	var stores [2]*sqlstore.Store
	for i := range stores {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		stores[i] = newStore(t, db, sqlstore.SQLite)
	}
	const jobList, workers = 40, 8
	for i := range jobList {
		key := fmt.Sprintf("job-%02d", i)
		if _, _, err := stores[0].Track(t.Context(), jobs.Job{Key: key, SKU: key}); err != nil {
			t.Fatal(err)
		}
		gen := &creativeai.Generation{ID: "vgen_" + key, Status: creativeai.StatusPending}
		if _, err := stores[1].RecordSubmission(t.Context(), key, jobs.Submission{Generation: gen}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for w := range workers {
		s := stores[w%2]
		wg.Go(func() {
			for i := w; i < jobList*2; i += workers {
				status := []creativeai.Status{creativeai.StatusProcessing, creativeai.StatusCompleted}[i/jobList]
				if _, err := s.Apply(t.Context(), creativeai.Generation{ID: fmt.Sprintf("vgen_job-%02d", i%jobList), Status: status}); err != nil {
					t.Errorf("Apply: %v", err)
				}
			}
		})
	}
	wg.Wait()
	var done []string
	for j, err := range stores[0].List(t.Context(), jobs.Filter{Statuses: []jobs.Status{jobs.StatusCompleted}}) {
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, j.Key)
	}
	if len(done) != jobList {
		t.Errorf("%d jobs completed, want %d", len(done), jobList)
	}
}

// TestListSingleConnection lists more than a page of jobs through a pool of
// one connection while updating each: List must hold no connection while
// the loop body runs.
func TestListSingleConnection(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db, _ := b.open(t)
		db.SetMaxOpenConns(1)
		s := newStore(t, db, b.dialect)
		n := sqlstore.ListPage*2 + 17
		jobList := make([]jobs.Job, n)
		for i := range jobList {
			key := fmt.Sprintf("job-%04d", (i*7919)%n) // tracked out of key order
			jobList[i] = jobs.Job{Key: key, SKU: key, Status: jobs.StatusPending, GenerationID: "vgen_" + key,
				CreatedAt: storetest.Epoch, UpdatedAt: storetest.Epoch}
		}
		if err := sqlstore.SeedJobs(t.Context(), s, jobList); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for j, err := range s.List(t.Context(), jobs.Filter{Statuses: []jobs.Status{jobs.StatusPending}}) {
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, j.Key)
			if len(keys)%50 == 0 { // enough writes to prove the point, few enough to stay fast
				if _, err := s.Apply(t.Context(), creativeai.Generation{ID: j.GenerationID, Status: creativeai.StatusProcessing}); err != nil {
					t.Fatal(err)
				}
			}
		}
		want := make([]string, n)
		for i, j := range jobList {
			want[i] = j.Key
		}
		if !slices.Equal(keys, want) {
			t.Errorf("List yielded %d keys, want %d in tracking order", len(keys), n)
		}
	})
}

// TestTwoProcessesReserve has workers of two processes reserve under one
// daily cap: never a cent over it.
func TestTwoProcessesReserve(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		_, stores := twoProcesses(t, b)
		storetest.CheckBudgetConcurrency(t, stores[0], stores[1])
	})
}
