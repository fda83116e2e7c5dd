package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"

	"github.com/creativeai-run/catalogvideo/batch/sqlstore"
	"github.com/creativeai-run/catalogvideo/batch/storetest"
)

// sqliteDSN is the DSN the package documentation recommends, with
// _txlock=immediate to show that it does not disturb the store.
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate"
}

// openSQLiteDB opens a *sql.DB on the SQLite file at path, closed when the
// test ends.
func openSQLiteDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// newSQLitePath returns a fresh database file in the test's directory.
func newSQLitePath(tb testing.TB) string {
	return filepath.Join(tb.TempDir(), "jobs.db")
}

const postgresEnv = "CATALOGVIDEO_POSTGRES_DSN"

// postgresSchemaDSN creates a schema of its own for the test, dropped when
// the test ends, and returns a DSN whose connections use it. It skips the
// test when no PostgreSQL server is configured.
func postgresSchemaDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		tb.Skip("set " + postgresEnv + " (see .ci/postgres.sh) to run PostgreSQL tests")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	schema := "t_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		tb.Fatalf("creating schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return withParam(tb, dsn, "search_path", schema)
}

// withParam adds a run-time setting to a pgx DSN in URL or keyword form;
// pgx sends parameters it does not know to the server.
func withParam(tb testing.TB, dsn, name, value string) string {
	tb.Helper()
	if !strings.Contains(dsn, "://") {
		return dsn + " " + name + "='" + value + "'"
	}
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("%s: %v", postgresEnv, err)
	}
	q := u.Query()
	q.Set(name, value)
	// pgx reads "+" literally, so spaces are sent as %20.
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return u.String()
}

// openPostgresDB opens a pool on dsn, closed when the test ends.
func openPostgresDB(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// newStore opens a store on db and closes it when the test ends.
func newStore(tb testing.TB, db *sql.DB, d sqlstore.Dialect, opts ...sqlstore.Option) *sqlstore.Store {
	tb.Helper()
	s, err := sqlstore.New(context.Background(), db, d, opts...)
	if err != nil {
		tb.Fatalf("New(%v): %v", d, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// backend opens databases of one dialect for a test: open returns a fresh,
// empty database; reopen a second *sql.DB on the same data, as another
// process would.
type backend struct {
	name    string
	dialect sqlstore.Dialect
	open    func(tb testing.TB) (db *sql.DB, reopen func(tb testing.TB) *sql.DB)
}

var backends = []backend{
	{
		name:    "SQLite",
		dialect: sqlstore.SQLite,
		open: func(tb testing.TB) (*sql.DB, func(testing.TB) *sql.DB) {
			tb.Helper()
			path := newSQLitePath(tb)
			return openSQLiteDB(tb, path), func(tb testing.TB) *sql.DB { return openSQLiteDB(tb, path) }
		},
	},
	{
		name:    "Postgres",
		dialect: sqlstore.Postgres,
		open: func(tb testing.TB) (*sql.DB, func(testing.TB) *sql.DB) {
			tb.Helper()
			dsn := postgresSchemaDSN(tb)
			return openPostgresDB(tb, dsn), func(tb testing.TB) *sql.DB { return openPostgresDB(tb, dsn) }
		},
	},
}

// forEachBackend runs f as a subtest per dialect.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// reopeners remembers, for the conformance suite's Reopener, how to open
// the data of each store a second time.
type reopeners struct {
	mu sync.Mutex
	m  map[jobs.Store]func(testing.TB) *sql.DB
}

func (r *reopeners) add(s jobs.Store, reopen func(testing.TB) *sql.DB) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[jobs.Store]func(testing.TB) *sql.DB{}
	}
	r.m[s] = reopen
}

func (r *reopeners) get(tb testing.TB, s jobs.Store) func(testing.TB) *sql.DB {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	reopen, ok := r.m[s]
	if !ok {
		tb.Fatalf("reopen of a store the opener did not return: %p", s)
	}
	return reopen
}

// opener opens a fresh store on b and remembers how to open its data again.
func (r *reopeners) opener(b backend) storetest.Opener {
	return func(t *testing.T, clock jobs.Clock) jobs.Store {
		db, reopen := b.open(t)
		s := newStore(t, db, b.dialect, sqlstore.WithClock(clock))
		r.add(s, reopen)
		return s
	}
}
