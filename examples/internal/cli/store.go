package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/batch/jsonlstore"
	"github.com/creativeai-run/catalogvideo/batch/sqlstore"

	// The programs own their database drivers; the library imports none.
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// StoreKind is the kind of job store a -jobs value names.
type StoreKind int

// The kinds of job store.
const (
	// StoreJSONL is a JSONL job file (batch/jsonlstore), the default.
	StoreJSONL StoreKind = iota
	// StoreSQLite is an SQLite database (batch/sqlstore), named sqlite:PATH.
	StoreSQLite
	// StorePostgres is a PostgreSQL database (batch/sqlstore), named by a
	// postgres:// or postgresql:// URL.
	StorePostgres
)

// String names the kind for messages, such as "PostgreSQL".
func (k StoreKind) String() string {
	switch k {
	case StoreSQLite:
		return "SQLite"
	case StorePostgres:
		return "PostgreSQL"
	default:
		return "JSONL"
	}
}

// JobsFlagHelp documents the -jobs flag the same way in every program.
const JobsFlagHelp = "job store: a JSONL file `path`, sqlite:PATH, or postgres://user@host/db?sslmode=disable"

// StoreSpec is a parsed -jobs value.
type StoreSpec struct {
	Kind StoreKind
	// Target is the file path (JSONL), the driver's data source name
	// (SQLite), or the connection URL (PostgreSQL).
	Target string
	// Display names the store in messages without any password.
	Display string
}

// ParseStoreSpec reads a -jobs value: a path is a JSONL job file;
// "sqlite:PATH" is an SQLite database; a "postgres://" or "postgresql://"
// URL is a PostgreSQL database.
func ParseStoreSpec(s string) (StoreSpec, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return StoreSpec{}, errors.New("empty job store: want a file path, sqlite:PATH, or postgres://…")
	}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		u, err := url.Parse(s)
		if err != nil {
			// The parse error may quote the URL, password included.
			return StoreSpec{}, errors.New("invalid PostgreSQL URL in -jobs: want postgres://user:password@host:port/db?sslmode=…")
		}
		if u.Host == "" {
			return StoreSpec{}, fmt.Errorf("invalid PostgreSQL URL %s: no host", u.Redacted())
		}
		return StoreSpec{Kind: StorePostgres, Target: s, Display: u.Redacted()}, nil
	case strings.HasPrefix(lower, "sqlite:"):
		path := strings.TrimPrefix(s[len("sqlite:"):], "//")
		if path == "" {
			return StoreSpec{}, errors.New("empty SQLite path: want sqlite:PATH, such as sqlite:video-jobs.db")
		}
		return StoreSpec{Kind: StoreSQLite, Target: sqliteDSN(path), Display: "sqlite:" + path}, nil
	case strings.Contains(s, "://"):
		return StoreSpec{}, fmt.Errorf("unsupported job store %q: want a file path, sqlite:PATH, or postgres://…", redactURL(s))
	}
	return StoreSpec{Kind: StoreJSONL, Target: s, Display: s}, nil
}

// sqliteDSN turns a path into a modernc.org/sqlite data source name set up
// for several writers: WAL so readers do not block the writer, a busy
// timeout so concurrent writers wait instead of failing, full sync so an
// acknowledged update survives a power cut, and BEGIN IMMEDIATE so a
// read-then-write transaction takes the write lock up front instead of
// failing on upgrade. A path that already carries parameters is used as
// given.
func sqliteDSN(path string) string {
	if strings.Contains(path, "?") {
		return path
	}
	return path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
}

func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}

// OpenStore opens the job store a -jobs value names. Closing the returned
// store also closes the database connections it opened.
func OpenStore(ctx context.Context, spec string, logger *slog.Logger) (jobs.Store, StoreSpec, error) {
	s, err := ParseStoreSpec(spec)
	if err != nil {
		return nil, s, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	switch s.Kind {
	case StoreJSONL:
		st, err := jsonlstore.Open(s.Target, jsonlstore.WithLogger(logger))
		if errors.Is(err, jobs.ErrLocked) {
			// Only where flock is missing: there a file cannot be shared.
			return nil, s, fmt.Errorf("open job file %s: %w (this system cannot share a job file: stop the program that has it open, or share jobs through sqlite:PATH or postgres://)", s.Display, err)
		}
		if err != nil {
			return nil, s, fmt.Errorf("open job file %s: %w", s.Display, err)
		}
		return st, s, nil
	case StoreSQLite:
		return openSQL(ctx, s, "sqlite", sqlstore.SQLite)
	default:
		return openSQL(ctx, s, "pgx", sqlstore.Postgres)
	}
}

func openSQL(ctx context.Context, s StoreSpec, driver string, dialect sqlstore.Dialect) (jobs.Store, StoreSpec, error) {
	db, err := sql.Open(driver, s.Target)
	if err != nil {
		return nil, s, fmt.Errorf("open %s job store %s: %w", s.Kind, s.Display, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, s, fmt.Errorf("connect to %s job store %s: %w", s.Kind, s.Display, err)
	}
	st, err := sqlstore.New(ctx, db, dialect)
	if err != nil {
		db.Close()
		return nil, s, fmt.Errorf("open %s job store %s: %w", s.Kind, s.Display, err)
	}
	return &dbStore{Store: st, db: db}, s, nil
}

// dbStore closes the *sql.DB the program opened along with the store, which
// by contract leaves a caller-owned database open.
type dbStore struct {
	jobs.Store
	db *sql.DB
}

func (s *dbStore) Close() error {
	return errors.Join(s.Store.Close(), s.db.Close())
}

// Compacter is implemented by stores that can rewrite themselves smaller,
// such as the JSONL job file.
type Compacter interface {
	Compact(ctx context.Context) error
}
