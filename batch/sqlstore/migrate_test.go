package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/batch/sqlstore"
)

// migrationCount is how many migrations the package embeds per dialect.
const migrationCount = 5

func countRows(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("counting %s: %v", table, err)
	}
	return n
}

func TestMigrateIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db, _ := b.open(t)
		for i := range 3 {
			if err := sqlstore.Migrate(t.Context(), db, b.dialect); err != nil {
				t.Fatalf("Migrate #%d: %v", i+1, err)
			}
		}
		if n := countRows(t, db, "catalogvideo_schema_migrations"); n != migrationCount {
			t.Errorf("%d migrations recorded, want %d", n, migrationCount)
		}
		s := newStore(t, db, b.dialect) // migrates a fourth time
		if _, _, err := s.Track(t.Context(), jobs.Job{Key: "a", SKU: "A"}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestMigrateConcurrent starts processes (two *sql.DB pools, several
// goroutines each) migrating one fresh database at the same moment.
func TestMigrateConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db1, reopen := b.open(t)
		pools := []*sql.DB{db1, reopen(t)}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 8 {
			db := pools[i%2]
			wg.Go(func() {
				<-start
				if err := sqlstore.Migrate(t.Context(), db, b.dialect); err != nil {
					t.Errorf("concurrent Migrate: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := countRows(t, db1, "catalogvideo_schema_migrations"); n != migrationCount {
			t.Errorf("%d migrations recorded, want %d", n, migrationCount)
		}
		// Both pools see one set of tables.
		s1 := newStore(t, pools[0], b.dialect, sqlstore.WithoutMigrations())
		s2 := newStore(t, pools[1], b.dialect, sqlstore.WithoutMigrations())
		if _, _, err := s1.Track(t.Context(), jobs.Job{Key: "a", SKU: "A"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s2.Get(t.Context(), "a"); err != nil {
			t.Errorf("the job tracked through one pool: %v through the other", err)
		}
	})
}

// TestMigrateOutboxSurface upgrades a database an older program left, with a
// job waiting in its outbox, and claims the job by its target surface.
func TestMigrateOutboxSurface(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		db := openMigratedTo(t, b, 1)
		due := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		job := jobs.Job{Key: "a", SKU: "A", TargetSurface: "meta-ads", GenerationID: "vgen_a", Status: jobs.StatusCompleted,
			Delivery: jobs.DeliveryPending, DeliveryNextAt: due, CreatedAt: due, UpdatedAt: due}
		record, err := json.Marshal(job)
		if err != nil {
			t.Fatal(err)
		}
		insert := `INSERT INTO catalogvideo_jobs (key, sku, generation_id, status, delivery, delivery_next_at, updated_at, record)
			VALUES ('a', 'A', 'vgen_a', 'completed', 'pending', ` + strconv.FormatInt(due.UnixNano(), 10) + `, 0, '` + string(record) + `')`
		if _, err := db.ExecContext(ctx, insert); err != nil {
			t.Fatal(err)
		}
		s := newStore(t, db, b.dialect) // migrates to the latest version
		claim := jobs.Claim{Owner: "w", Limit: 10, Lease: time.Minute, Now: due}
		claim.TargetSurfaces = []string{"shopify-pdp"}
		if got, err := s.ClaimDeliveries(ctx, claim); err != nil || len(got) != 0 {
			t.Errorf("claim for shopify-pdp: %d jobs, %v; want none", len(got), err)
		}
		claim.TargetSurfaces = []string{"meta-ads"}
		got, err := s.ClaimDeliveries(ctx, claim)
		if err != nil || len(got) != 1 || got[0].Key != "a" {
			t.Fatalf("claim for meta-ads: %v, %v; want job a", got, err)
		}
	})
}

func TestMigrateNewerSchema(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db, _ := b.open(t)
		if err := sqlstore.Migrate(t.Context(), db, b.dialect); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(t.Context(), "INSERT INTO catalogvideo_schema_migrations (version, name) VALUES (99, 'from_the_future')"); err != nil {
			t.Fatal(err)
		}
		err := sqlstore.Migrate(t.Context(), db, b.dialect)
		if err == nil || !strings.Contains(err.Error(), "newer") {
			t.Errorf("Migrate of a newer schema: error = %v, want one saying the schema is newer", err)
		}
		if _, err := sqlstore.New(t.Context(), db, b.dialect); err == nil {
			t.Error("New on a newer schema: no error")
		}
		if _, err := sqlstore.New(t.Context(), db, b.dialect, sqlstore.WithoutMigrations()); err == nil || !strings.Contains(err.Error(), "newer") {
			t.Errorf("New WithoutMigrations on a newer schema: error = %v, want one saying the schema is newer", err)
		}
	})
}

func TestWithoutMigrations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db, _ := b.open(t)
		_, err := sqlstore.New(t.Context(), db, b.dialect, sqlstore.WithoutMigrations())
		if err == nil || !strings.Contains(err.Error(), "sqlstore.Migrate") {
			t.Errorf("New WithoutMigrations on an empty database: error = %v, want one saying to run sqlstore.Migrate", err)
		}
		if err := sqlstore.Migrate(t.Context(), db, b.dialect); err != nil {
			t.Fatal(err)
		}
		newStore(t, db, b.dialect, sqlstore.WithoutMigrations())
	})
}

func TestTablePrefix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db, _ := b.open(t)
		ctx := t.Context()
		def := newStore(t, db, b.dialect)
		other := newStore(t, db, b.dialect, sqlstore.WithTablePrefix("tenant2_"))
		bare := newStore(t, db, b.dialect, sqlstore.WithTablePrefix(""))
		if _, _, err := def.Track(ctx, jobs.Job{Key: "a", SKU: "A"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := other.Track(ctx, jobs.Job{Key: "b", SKU: "B"}); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Get(ctx, "a"); err == nil {
			t.Error("a store with another prefix sees the default store's job")
		}
		if _, err := bare.Get(ctx, "b"); err == nil {
			t.Error("a store without a prefix sees the tenant2_ store's job")
		}
		for table, want := range map[string]int{"catalogvideo_jobs": 1, "tenant2_jobs": 1, "jobs": 0, "tenant2_schema_migrations": migrationCount} {
			if n := countRows(t, db, table); n != want {
				t.Errorf("%s has %d rows, want %d", table, n, want)
			}
		}
	})
}

func TestNewInvalid(t *testing.T) {
	db := openSQLiteDB(t, newSQLitePath(t))
	for _, tc := range []struct {
		name string
		db   *sql.DB
		d    sqlstore.Dialect
		opts []sqlstore.Option
		want string
	}{
		{"nil db", nil, sqlstore.SQLite, nil, "nil"},
		{"zero dialect", db, 0, nil, "unknown dialect Dialect(0)"},
		{"unknown dialect", db, 7, nil, "unknown dialect Dialect(7)"},
		{"prefix with a dash", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithTablePrefix("my-app_")}, `"my-app_"`},
		{"prefix with upper case", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithTablePrefix("App_")}, `"App_"`},
		{"prefix starting with a digit", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithTablePrefix("1app_")}, `"1app_"`},
		{"prefix too long", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithTablePrefix(strings.Repeat("a", 33))}, "at most 32"},
		{"prefix injecting SQL", db, sqlstore.SQLite, []sqlstore.Option{sqlstore.WithTablePrefix("x; DROP TABLE y; --")}, "table prefix"},
	} {
		_, err := sqlstore.New(t.Context(), tc.db, tc.d, tc.opts...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New with %s: error = %v, want one containing %q", tc.name, err, tc.want)
		}
		if err := sqlstore.Migrate(t.Context(), tc.db, tc.d, tc.opts...); err == nil {
			t.Errorf("Migrate with %s: no error", tc.name)
		}
	}
	if n := countRows(t, db, "sqlite_master"); n != 0 {
		t.Errorf("rejected options left %d schema objects behind", n)
	}
}

// TestMigrateSpendFinished upgrades a database whose spend table predates
// the counts of finished renders: the migration fills them in from the
// jobs' records, so the policy breaker reads the day's refusals at once.
func TestMigrateSpendFinished(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		db := openMigratedTo(t, b, 3)
		at := time.Date(2026, 3, 11, 8, 0, 0, 0, time.UTC)
		for i, j := range []jobs.Job{
			{Key: "refused", SKU: "R", GenerationID: "vgen_r", Status: jobs.StatusFailed, FailureClass: jobs.FailurePolicy, NotBilled: true},
			{Key: "done", SKU: "D", GenerationID: "vgen_d", Status: jobs.StatusCompleted},
			{Key: "rendering", SKU: "P", GenerationID: "vgen_p", Status: jobs.StatusProcessing},
		} {
			j.PriceCents, j.SpendDay, j.ReservedAt, j.CreatedAt, j.UpdatedAt = 50, "2026-03-11", at, at, at
			record, err := json.Marshal(j)
			if err != nil {
				t.Fatal(err)
			}
			spent, reserved := 50, 0
			switch j.Status {
			case jobs.StatusFailed:
				spent = 0
			case jobs.StatusProcessing:
				spent, reserved = 0, 50
			}
			for _, stmt := range []string{
				`INSERT INTO catalogvideo_jobs (key, sku, generation_id, status, delivery, delivery_next_at, updated_at, record)
					VALUES ('` + j.Key + `', '` + j.SKU + `', '` + j.GenerationID + `', '` + string(j.Status) + `', '', 0, ` + strconv.Itoa(i) + `, '` + string(record) + `')`,
				`INSERT INTO catalogvideo_spend (key, day, reserved, spent) VALUES ('` + j.Key + `', '2026-03-11', ` + strconv.Itoa(reserved) + `, ` + strconv.Itoa(spent) + `)`,
			} {
				if _, err := db.ExecContext(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
		}
		s := newStore(t, db, b.dialect) // migrates to the latest version
		got, err := s.DaySpend(ctx, "2026-03-11")
		if err != nil {
			t.Fatal(err)
		}
		want := jobs.DaySpend{Day: "2026-03-11", Reserved: 50, Spent: 50, Finished: 2, Refused: 1}
		if got != want {
			t.Errorf("DaySpend after the migration = %+v, want %+v", got, want)
		}
	})
}

// openMigratedTo opens a database of b migrated up to version, as an older
// program left it.
func openMigratedTo(t *testing.T, b backend, version int) *sql.DB {
	t.Helper()
	db, _ := b.open(t)
	if err := sqlstore.MigrateTo(t.Context(), db, b.dialect, version); err != nil {
		t.Fatal(err)
	}
	return db
}
