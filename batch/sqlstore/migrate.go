package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFiles embed.FS

// migration is one versioned schema change, read from
// migrations/<dialect>/<version>_<name>.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns d's migrations in version order. Versions start at 1
// and have no gaps, so a database's state is the highest version applied.
func (d Dialect) migrations() ([]migration, error) {
	dir := path.Join("migrations", d.String())
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading embedded migrations: %w", err)
	}
	var out []migration
	for _, e := range entries { // ReadDir sorts by name, and names start with the zero-padded version
		base, ok := strings.CutSuffix(e.Name(), ".sql")
		if !ok {
			continue
		}
		num, name, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v != len(out)+1 {
			return nil, fmt.Errorf("sqlstore: embedded migration %s/%s: want version %d first in the name", dir, e.Name(), len(out)+1)
		}
		b, err := migrationFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading embedded migration: %w", err)
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	return out, nil
}

// Migrate brings the store's tables in db up to date: it applies, in one
// transaction, every embedded migration the database has not recorded yet,
// and records them in the <prefix>schema_migrations table. Running it again
// changes nothing. Several processes may migrate the same database at once:
// on PostgreSQL they queue on an advisory lock (per schema and table
// prefix), on SQLite on the database's write lock, and each migration runs
// exactly once.
//
// Migrate fails, changing nothing, when the database holds a newer schema
// than this package knows; upgrade the program instead.
//
// New calls Migrate unless given WithoutMigrations. Of opts, only the table
// prefix matters here.
func Migrate(ctx context.Context, db *sql.DB, d Dialect, opts ...Option) error {
	cfg, err := newConfig(db, d, opts)
	if err != nil {
		return err
	}
	return migrate(ctx, newWriter(db, d), cfg.prefix, 0)
}

// migrate applies the migrations up to version upTo, or every one when upTo
// is 0 (tests pass a version to build the schema an older program left).
func migrate(ctx context.Context, w *writer, prefix string, upTo int) error {
	d := w.dialect
	all, err := d.migrations()
	if err != nil {
		return err
	}
	known := len(all)
	if upTo > 0 {
		all = all[:min(upTo, len(all))]
	}
	return w.run(ctx, func(ctx context.Context, q querier) error {
		if d == Postgres {
			// Held until the transaction ends; a second migrator waits here
			// and then finds the work done.
			lock := `SELECT pg_advisory_xact_lock(hashtext('catalogvideo/sqlstore/migrate:' || current_schema() || ':' || $1))`
			if _, err := q.ExecContext(ctx, lock, prefix); err != nil {
				return fmt.Errorf("sqlstore: migrate: taking the migration lock: %w", err)
			}
		}
		if _, err := q.ExecContext(ctx, d.rebind(prefix, migrationsTableDDL[d])); err != nil {
			return fmt.Errorf("sqlstore: migrate: creating %sschema_migrations: %w", prefix, err)
		}
		applied, err := appliedVersion(ctx, q, d, prefix)
		if err != nil {
			return err
		}
		if applied > known {
			return fmt.Errorf("sqlstore: migrate: the database has schema version %d, newer than this program's %d; upgrade the program", applied, known)
		}
		if applied > len(all) {
			return nil
		}
		for _, m := range all[applied:] {
			if _, err := q.ExecContext(ctx, d.rebind(prefix, m.sql)); err != nil {
				return fmt.Errorf("sqlstore: migrate: applying %s migration %04d_%s: %w", d, m.version, m.name, err)
			}
			record := d.rebind(prefix, `INSERT INTO {prefix}schema_migrations (version, name) VALUES ($1, $2)`)
			if _, err := q.ExecContext(ctx, record, m.version, m.name); err != nil {
				return fmt.Errorf("sqlstore: migrate: recording migration %04d_%s: %w", m.version, m.name, err)
			}
		}
		return nil
	})
}

// migrationsTableDDL creates the table that records applied migrations.
var migrationsTableDDL = map[Dialect]string{
	SQLite: `CREATE TABLE IF NOT EXISTS {prefix}schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
)`,
	Postgres: `CREATE TABLE IF NOT EXISTS {prefix}schema_migrations (
	version    integer     NOT NULL PRIMARY KEY,
	name       text        NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
)`,
}

// appliedVersion returns the highest migration recorded, 0 for none.
func appliedVersion(ctx context.Context, q querier, d Dialect, prefix string) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, d.rebind(prefix, `SELECT COALESCE(MAX(version), 0) FROM {prefix}schema_migrations`)).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: reading %sschema_migrations: %w", prefix, err)
	}
	return v, nil
}

// checkSchema verifies, for a store opened WithoutMigrations, that the
// database holds exactly the schema this package expects.
func checkSchema(ctx context.Context, db *sql.DB, d Dialect, prefix string) error {
	all, err := d.migrations()
	if err != nil {
		return err
	}
	applied, err := appliedVersion(ctx, db, d, prefix)
	if err != nil {
		return fmt.Errorf("%w (run sqlstore.Migrate first)", err)
	}
	switch {
	case applied > len(all):
		return fmt.Errorf("sqlstore: the database has schema version %d, newer than this program's %d; upgrade the program", applied, len(all))
	case applied < len(all):
		return fmt.Errorf("sqlstore: the database has schema version %d, this program needs %d: run sqlstore.Migrate", applied, len(all))
	}
	return nil
}
