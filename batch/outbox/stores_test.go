package outbox_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/jsonlstore"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/batch/sqlstore"
)

// eachStore runs fn against every store: memory, JSONL, SQLite and, when
// CATALOGVIDEO_POSTGRES_DSN is set, PostgreSQL (in a table prefix of its
// own, dropped afterwards).
func eachStore(t *testing.T, fn func(t *testing.T, open func(jobs.Clock) jobs.Store)) {
	t.Run("memory", func(t *testing.T) {
		fn(t, func(c jobs.Clock) jobs.Store { return memstore.New(memstore.WithClock(c)) })
	})
	t.Run("jsonl", func(t *testing.T) {
		fn(t, func(c jobs.Clock) jobs.Store {
			s, err := jsonlstore.Open(filepath.Join(t.TempDir(), "jobs.jsonl"), jsonlstore.WithClock(c))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(c jobs.Clock) jobs.Store {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "jobs.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return openSQL(t, db, sqlstore.SQLite, c)
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv("CATALOGVIDEO_POSTGRES_DSN")
		if dsn == "" {
			t.Skip("set CATALOGVIDEO_POSTGRES_DSN to run PostgreSQL tests")
		}
		fn(t, func(c jobs.Clock) jobs.Store {
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			prefix := "outbox_" + strings.ToLower(rand.Text()[:10]) + "_"
			t.Cleanup(func() {
				rows, err := db.QueryContext(context.Background(), "SELECT tablename FROM pg_tables WHERE tablename LIKE $1", prefix+"%")
				if err != nil {
					t.Error(err)
					return
				}
				var tables []string
				for rows.Next() {
					var name string
					rows.Scan(&name)
					tables = append(tables, name)
				}
				rows.Close()
				if len(tables) > 0 {
					if _, err := db.ExecContext(context.Background(), "DROP TABLE "+strings.Join(tables, ", ")+" CASCADE"); err != nil {
						t.Error(err)
					}
				}
			})
			return openSQL(t, db, sqlstore.Postgres, c, sqlstore.WithTablePrefix(prefix))
		})
	})
}

func openSQL(t *testing.T, db *sql.DB, d sqlstore.Dialect, c jobs.Clock, opts ...sqlstore.Option) jobs.Store {
	s, err := sqlstore.New(t.Context(), db, d, append(opts, sqlstore.WithClock(c))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
