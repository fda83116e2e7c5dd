package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/creativeai-run/catalogvideo/internal/backoff"
)

// querier is what *sql.DB, *sql.Tx and *sql.Conn have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// busyPolicy paces retries of a write that found the SQLite database locked
// by another connection (usually another process). The busy_timeout pragma
// makes SQLite itself wait first; this is the fallback for DSNs without it.
var busyPolicy = backoff.Policy{Initial: 2 * time.Millisecond, Max: 100 * time.Millisecond, Jitter: 0.5}

// maxBusyWait bounds how long one write waits for a locked SQLite database,
// so that a process holding the lock forever surfaces as an error.
const maxBusyWait = time.Minute

// maxPGAttempts bounds reruns of a PostgreSQL transaction that hit a
// deadlock or serialization failure.
const maxPGAttempts = 5

// writer runs write transactions with the locking each dialect needs.
type writer struct {
	db      *sql.DB
	dialect Dialect
	// sem serializes this process's SQLite writers before they reach the
	// database lock: SQLite lets one writer in at a time anyway, and
	// queueing here is fair and cheap, while contending writers inside
	// SQLite sleep in its busy handler. Nil for PostgreSQL.
	sem chan struct{}
}

func newWriter(db *sql.DB, d Dialect) *writer {
	w := &writer{db: db, dialect: d}
	if d == SQLite {
		w.sem = make(chan struct{}, 1)
	}
	return w
}

// run runs fn in a write transaction and commits it. On PostgreSQL the
// transaction is READ COMMITTED and fn locks the rows it changes; on SQLite
// it is BEGIN IMMEDIATE, which takes the database's write lock up front so
// that no transaction fails halfway through for want of it. fn may run more
// than once, so it must not keep state from an earlier run.
func (w *writer) run(ctx context.Context, fn func(q querier) error) error {
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

func (w *writer) runPostgres(ctx context.Context, fn func(q querier) error) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // fn's error matters; the rollback's does not
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	return nil
}

// runSQLite issues BEGIN IMMEDIATE and COMMIT itself on a dedicated
// connection: database/sql can only begin the driver's default (deferred)
// transaction, whose first write fails with SQLITE_BUSY, without waiting,
// when another connection wrote since it began reading.
func (w *writer) runSQLite(ctx context.Context, fn func(q querier) error) (err error) {
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-w.sem }()

	conn, err := w.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: connection: %w", err)
	}
	defer conn.Close()
	if err := retryBusy(ctx, func() error {
		_, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE")
		return err
	}); err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			rollbackSQLite(conn)
		}
	}()
	if err := fn(conn); err != nil {
		return err
	}
	// The commit must not be abandoned because ctx ended after the changes
	// were made: either it happens or the rollback above undoes them.
	if err := retryBusy(context.WithoutCancel(ctx), func() error {
		_, err := conn.ExecContext(context.WithoutCancel(ctx), "COMMIT")
		return err
	}); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	committed = true
	return nil
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
