package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creativeai-run/catalogvideo/internal/backoff"
)

// querier is what *sql.DB, *sql.Tx and *sql.Conn have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// txFunc is the body of a write transaction. It uses ctx for its statements.
type txFunc func(ctx context.Context, q querier) error

// busyPolicy paces retries of a write that found the SQLite database locked
// by another connection (usually another process). The busy_timeout pragma
// makes SQLite itself wait first; this is the fallback for DSNs without it.
var busyPolicy = backoff.Policy{Initial: 2 * time.Millisecond, Max: 100 * time.Millisecond, Jitter: 0.5}

// maxBusyWait bounds how long a write waits for a locked SQLite database,
// so that a process holding the lock forever surfaces as an error.
const maxBusyWait = time.Minute

// maxPGAttempts bounds reruns of a PostgreSQL transaction that hit a
// deadlock or serialization failure.
const maxPGAttempts = 5

// maxBatch caps how many SQLite writes share one transaction.
const maxBatch = 128

// writer runs write transactions with the locking each dialect needs.
type writer struct {
	db      *sql.DB
	dialect Dialect

	// SQLite only: writes wait in queue, and whoever holds lead commits
	// the queued writes together (see runSQLite).
	mu    sync.Mutex
	queue []*request
	lead  chan struct{}
	// commits counts SQLite transactions committed, so that benchmarks can
	// report how many writes share one.
	commits atomic.Int64
}

func newWriter(db *sql.DB, d Dialect) *writer {
	return &writer{db: db, dialect: d, lead: make(chan struct{}, 1)}
}

// run runs fn in a write transaction and returns once it has committed.
// On PostgreSQL the transaction is READ COMMITTED, fn locks the rows it
// changes, and fn runs again after a deadlock or serialization failure. On
// SQLite, fn may share its transaction with other writes of this process,
// each isolated by a savepoint; it runs once.
func (w *writer) run(ctx context.Context, fn txFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.dialect == SQLite {
		return w.runSQLite(ctx, fn)
	}
	var err error
	for range maxPGAttempts {
		if err = w.runPostgres(ctx, fn); !isRetryablePG(err) {
			return err
		}
	}
	return err
}

// pgTxOptions asks for READ COMMITTED whatever the server's default: the
// locking in Apply and RecordSubmission relies on each statement seeing
// what committed before it began, where a REPEATABLE READ snapshot would
// hide the other side's commit.
var pgTxOptions = &sql.TxOptions{Isolation: sql.LevelReadCommitted}

func (w *writer) runPostgres(ctx context.Context, fn txFunc) error {
	tx, err := w.db.BeginTx(ctx, pgTxOptions)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	if err := fn(ctx, tx); err != nil {
		_ = tx.Rollback() // fn's error matters; the rollback's does not
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	return nil
}

// A request is one SQLite write waiting for the transaction it will commit
// in.
type request struct {
	ctx   context.Context
	fn    txFunc
	state atomic.Int32 // queued, then taken by a leader or cancelled by its caller
	done  chan error   // receives the outcome once the request is taken
}

const (
	queued int32 = iota
	taken
	cancelled
)

// runSQLite commits fn with group commit. SQLite admits one writer at a
// time and a durable commit costs an fsync, so concurrent writes (webhook
// bursts) queue, and one caller at a time, the leader, runs everything
// queued in one transaction with one fsync, then hands each caller its own
// outcome. The leader is an ordinary caller, so no goroutine outlives the
// calls.
func (w *writer) runSQLite(ctx context.Context, fn txFunc) error {
	r := &request{ctx: ctx, fn: fn, done: make(chan error, 1)}
	w.mu.Lock()
	w.queue = append(w.queue, r)
	w.mu.Unlock()
	for {
		select {
		case err := <-r.done:
			return err
		case <-ctx.Done():
			if r.state.CompareAndSwap(queued, cancelled) {
				return ctx.Err() // never ran
			}
			return <-r.done // running: its outcome is moments away
		case w.lead <- struct{}{}:
			select {
			case err := <-r.done: // the previous leader committed it
				<-w.lead
				return err
			default:
			}
			w.commitQueued()
			<-w.lead
		}
	}
}

// commitQueued takes up to maxBatch queued requests, commits them, and
// sends each its outcome.
func (w *writer) commitQueued() {
	w.mu.Lock()
	n := min(len(w.queue), maxBatch)
	next := make([]*request, 0, n)
	for _, r := range w.queue[:n] {
		if r.state.CompareAndSwap(queued, taken) {
			next = append(next, r)
		}
	}
	w.queue = append(w.queue[:0:0], w.queue[n:]...)
	w.mu.Unlock()
	for i, err := range w.commit(next) {
		next[i].done <- err
	}
}

// commit runs reqs in as few transactions as it can and returns their
// outcomes.
func (w *writer) commit(reqs []*request) []error {
	errs := make([]error, len(reqs))
	for done := 0; done < len(reqs); {
		done += w.commitOnce(reqs[done:], errs[done:])
	}
	return errs
}

// commitOnce runs reqs in one BEGIN IMMEDIATE transaction, which takes the
// database's write lock before anything is read, and records their
// outcomes in errs. Each request runs inside a savepoint, so one that fails
// is undone alone. A request's statements run without its cancellation:
// SQLite answers an interrupted write by rolling back the whole
// transaction, with the other requests' changes in it.
//
// Should the transaction itself be lost (SQLite rolls back after some I/O
// errors), the requests that had succeeded fail too, and commitOnce returns
// how many requests it dealt with so that the rest go in a new transaction.
func (w *writer) commitOnce(reqs []*request, errs []error) (handled int) {
	fail := func(err error) int {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return len(reqs)
	}
	ctx := context.Background() // the transaction belongs to no single caller
	// A new connection runs the DSN's pragmas, which can fail with
	// SQLITE_BUSY while another connection migrates a fresh database (seen
	// under load in TestMigrateConcurrent, busy_timeout set).
	var conn *sql.Conn
	err := retryBusy(ctx, func() (err error) {
		conn, err = w.db.Conn(ctx)
		return err
	})
	if err != nil {
		return fail(fmt.Errorf("sqlstore: connection: %w", err))
	}
	defer conn.Close()
	exec := func(stmt string) error {
		_, err := conn.ExecContext(ctx, stmt)
		return err
	}
	if err := retryBusy(ctx, func() error { return exec("BEGIN IMMEDIATE") }); err != nil {
		return fail(fmt.Errorf("sqlstore: begin: %w", err))
	}
	single := len(reqs) == 1 // the transaction itself isolates a lone request
	for i, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		var err error
		if !single {
			err = exec("SAVEPOINT request")
		}
		if err == nil {
			err = r.fn(context.WithoutCancel(r.ctx), conn)
		}
		if err == nil && !single {
			err = exec("RELEASE request")
		}
		if err == nil {
			continue
		}
		errs[i] = err
		if !single && exec("ROLLBACK TO request") == nil && exec("RELEASE request") == nil {
			continue
		}
		rollbackSQLite(conn)
		lost := fmt.Errorf("sqlstore: transaction rolled back after another write failed: %w", err)
		for j := range i {
			if errs[j] == nil {
				errs[j] = lost
			}
		}
		return i + 1
	}
	if err := retryBusy(ctx, func() error { return exec("COMMIT") }); err != nil {
		rollbackSQLite(conn)
		return fail(fmt.Errorf("sqlstore: commit: %w", err))
	}
	w.commits.Add(1)
	return len(reqs)
}

// rollbackSQLite ends a transaction begun by hand. When even that fails the
// connection is in an unknown state, so it is discarded rather than handed
// to the next user of the pool with a transaction still open.
func rollbackSQLite(conn *sql.Conn) {
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// retryBusy runs f until it succeeds, fails with an error other than
// SQLITE_BUSY, ctx ends, or maxBusyWait has passed.
func retryBusy(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(maxBusyWait)
	for attempt := 0; ; attempt++ {
		err := f()
		if !isBusy(err) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("database stayed locked by another connection for %v (set busy_timeout in the DSN): %w", maxBusyWait, err)
		}
		if serr := backoff.Sleep(ctx, busyPolicy.Delay(attempt)); serr != nil {
			return errors.Join(serr, err)
		}
	}
}
