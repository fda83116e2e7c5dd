package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/creativeai-run/catalogvideo/batch/sqlstore"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct {
		d        sqlstore.Dialect
		in, want string
	}{
		{sqlstore.Postgres, `SELECT a FROM {prefix}jobs WHERE b = $1 AND c IN ($2, $12) AND d = $1`,
			`SELECT a FROM cv_jobs WHERE b = $1 AND c IN ($2, $12) AND d = $1`},
		{sqlstore.SQLite, `SELECT a FROM {prefix}jobs WHERE b = $1 AND c IN ($2, $12) AND d = $1`,
			`SELECT a FROM cv_jobs WHERE b = ?1 AND c IN (?2, ?12) AND d = ?1`},
		{sqlstore.SQLite, `UPDATE {prefix}jobs SET a = $1, b = $2 WHERE c IN ($3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			`UPDATE cv_jobs SET a = ?, b = ? WHERE c IN (?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{sqlstore.SQLite, `UPDATE {prefix}jobs SET a = $2 WHERE b = $1`, `UPDATE cv_jobs SET a = ?2 WHERE b = ?1`},
		{sqlstore.SQLite, `SELECT 1 FROM {prefix}jobs`, `SELECT 1 FROM cv_jobs`},
	} {
		if got := tc.d.Rebind("cv_", tc.in); got != tc.want {
			t.Errorf("%v: rebind(%s) =\n%s\nwant\n%s", tc.d, tc.in, got, tc.want)
		}
	}
}

func TestDialectString(t *testing.T) {
	for d, want := range map[sqlstore.Dialect]string{sqlstore.SQLite: "sqlite", sqlstore.Postgres: "postgres", 0: "Dialect(0)", 9: "Dialect(9)"} {
		if got := d.String(); got != want {
			t.Errorf("Dialect(%d).String() = %q, want %q", int(d), got, want)
		}
	}
}

type codedError int

func (e codedError) Error() string { return fmt.Sprintf("sqlite error %d", int(e)) }
func (e codedError) Code() int     { return int(e) }

func TestIsBusy(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{codedError(5), true},     // SQLITE_BUSY
		{codedError(517), true},   // SQLITE_BUSY_SNAPSHOT
		{codedError(6), true},     // SQLITE_LOCKED
		{codedError(262), true},   // SQLITE_LOCKED_SHAREDCACHE
		{codedError(19), false},   // SQLITE_CONSTRAINT
		{codedError(2067), false}, // SQLITE_CONSTRAINT_UNIQUE
		{fmt.Errorf("begin: %w", codedError(5)), true},
		{errors.New("database is locked"), true},
		{errors.New("no such table: jobs"), false},
		{context.Canceled, false},
	} {
		if got := sqlstore.IsBusy(tc.err); got != tc.want {
			t.Errorf("isBusy(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestIsBusyDriver checks the real driver's error: a second connection
// that cannot get the write lock, and waits for it not at all.
func TestIsBusyDriver(t *testing.T) {
	path := newSQLitePath(t)
	ctx := context.Background()
	holder := openSQLiteDB(t, path)
	if _, err := holder.ExecContext(ctx, "CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	conn, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "ROLLBACK")

	other, err := sql.Open("sqlite", "file:"+path) // no busy_timeout: fail at once
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.ExecContext(ctx, "INSERT INTO t VALUES (1)")
	if err == nil {
		t.Fatal("insert while another connection holds the write lock: no error")
	}
	if !sqlstore.IsBusy(err) {
		t.Errorf("isBusy(%v) = false for the driver's lock error", err)
	}
}

func TestIsRetryablePG(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "40P01"}, true},
		{fmt.Errorf("commit: %w", &pgconn.PgError{Code: "40001"}), true},
		{&pgconn.PgError{Code: "23505"}, false},
		{errors.New("40001"), false},
		{nil, false},
	} {
		if got := sqlstore.IsRetryablePG(tc.err); got != tc.want {
			t.Errorf("isRetryablePG(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestNanos(t *testing.T) {
	at := time.Date(2026, 3, 11, 8, 0, 0, 123456789, time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want int64
	}{
		{time.Time{}, math.MinInt64},
		{time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), math.MinInt64},
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64},
		{time.Unix(0, 0), 0},
		{at, at.UnixNano()},
		{at.In(time.FixedZone("X", 3600)), at.UnixNano()},
	} {
		if got := sqlstore.Nanos(tc.t); got != tc.want {
			t.Errorf("nanos(%v) = %d, want %d", tc.t, got, tc.want)
		}
	}
	// Order is kept, so the database compares as time.Time does.
	if !(sqlstore.Nanos(at) < sqlstore.Nanos(at.Add(time.Nanosecond))) {
		t.Error("nanos does not keep nanosecond order")
	}
}
