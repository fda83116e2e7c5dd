package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"

	_ "modernc.org/sqlite"
)

// newTestWriter returns a SQLite writer on a fresh database with a table t.
func newTestWriter(t *testing.T) (*writer, *sql.DB) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "w.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("CREATE TABLE t (x INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	return newWriter(db, SQLite), db
}

func insert(x int) txFunc {
	return func(ctx context.Context, q querier) error {
		_, err := q.ExecContext(ctx, "INSERT INTO t (x) VALUES (?)", x)
		return err
	}
}

// enqueue queues requests as concurrent callers would, without running them.
func (w *writer) enqueue(ctx context.Context, fns ...txFunc) []*request {
	var reqs []*request
	for _, fn := range fns {
		r := &request{ctx: ctx, fn: fn, done: make(chan error, 1)}
		w.queue = append(w.queue, r)
		reqs = append(reqs, r)
	}
	return reqs
}

func rowsOf(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query("SELECT x FROM t ORDER BY x")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var xs []int
	for rows.Next() {
		var x int
		if err := rows.Scan(&x); err != nil {
			t.Fatal(err)
		}
		xs = append(xs, x)
	}
	return xs
}

// TestBatchIsolatesRequests commits writes queued together: a request that
// fails, or whose caller gave up, is undone alone.
func TestBatchIsolatesRequests(t *testing.T) {
	w, db := newTestWriter(t)
	boom := errors.New("boom")
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	reqs := w.enqueue(t.Context(),
		insert(1),
		func(ctx context.Context, q querier) error {
			if err := insert(2)(ctx, q); err != nil {
				return err
			}
			return boom // after writing: the write must be undone
		},
		insert(1), // a constraint violation: this request alone fails
		insert(3),
	)
	late := w.enqueue(cancelled, insert(4))[0]
	w.commitQueued()
	var got []error
	for _, r := range append(reqs, late) {
		got = append(got, <-r.done)
	}
	if got[0] != nil || !errors.Is(got[1], boom) || got[2] == nil || got[3] != nil {
		t.Errorf("outcomes = %v; want nil, boom, a constraint error, nil", got[:4])
	}
	if !errors.Is(got[4], context.Canceled) {
		t.Errorf("outcome of a request cancelled before it ran = %v, want context.Canceled", got[4])
	}
	if xs := rowsOf(t, db); !slices.Equal(xs, []int{1, 3}) {
		t.Errorf("rows = %v, want [1 3]", xs)
	}
}

// TestBatchLostTransaction has a request end the transaction under the
// others, as SQLite does after some I/O errors: the requests that ran before
// must not be reported committed, and those after run in a new transaction.
func TestBatchLostTransaction(t *testing.T) {
	w, db := newTestWriter(t)
	reqs := w.enqueue(t.Context(),
		insert(1),
		func(ctx context.Context, q querier) error {
			if _, err := q.ExecContext(ctx, "ROLLBACK"); err != nil {
				return err
			}
			return errors.New("disk I/O error")
		},
		insert(3),
	)
	w.commitQueued()
	var got []error
	for _, r := range reqs {
		got = append(got, <-r.done)
	}
	if got[0] == nil || got[1] == nil || got[2] != nil {
		t.Errorf("outcomes = %v; want an error for the first two, nil for the third", got)
	}
	if xs := rowsOf(t, db); !slices.Equal(xs, []int{3}) {
		t.Errorf("rows = %v, want [3]", xs)
	}
	// The connection went back to the pool usable.
	if err := w.run(t.Context(), insert(5)); err != nil {
		t.Fatal(err)
	}
}

func TestBatchLimit(t *testing.T) {
	w, db := newTestWriter(t)
	var fns []txFunc
	for i := range maxBatch + 10 {
		fns = append(fns, insert(i))
	}
	reqs := w.enqueue(t.Context(), fns...)
	w.commitQueued()
	if n := len(rowsOf(t, db)); n != maxBatch {
		t.Errorf("one batch committed %d requests, want %d", n, maxBatch)
	}
	if len(w.queue) != 10 {
		t.Errorf("%d requests left queued, want 10", len(w.queue))
	}
	w.commitQueued()
	for _, r := range reqs {
		if err := <-r.done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestRunCancelledWhileQueued cancels a write waiting behind another
// leader: it returns at once and never runs.
func TestRunCancelledWhileQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWriter(nil, SQLite) // no request reaches the database
		w.lead <- struct{}{}        // another caller is committing
		ctx, cancel := context.WithCancel(t.Context())
		ran := false
		errc := make(chan error)
		go func() {
			errc <- w.runSQLite(ctx, func(context.Context, querier) error { ran = true; return nil })
		}()
		synctest.Wait()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("run cancelled while queued = %v, want context.Canceled", err)
		}
		<-w.lead
		w.commitQueued() // what the other caller does next: skips the cancelled request
		if ran {
			t.Error("a cancelled request ran")
		}
	})
}
