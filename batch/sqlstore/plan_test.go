package sqlstore_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/sqlstore"
	"github.com/creativeai-run/catalogvideo/batch/storetest"
)

// TestClaimQueryPlan checks that a claim reads the outbox's partial
// indexes in order, so that its cost follows the jobs it leases rather than
// the size of the table or of the outbox: 20,000 jobs, half of them due on
// two surfaces (one of them rare: 1 in 100), with statistics gathered as a
// long-running database has them.
func TestClaimQueryPlan(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		db, _ := b.open(t)
		s := newStore(t, db, b.dialect)
		jobList := completedJobs(20_000)
		for i := range jobList {
			switch {
			case i%2 == 0:
				jobList[i].Delivery = "" // not in the outbox
			case i%200 == 1:
				jobList[i].TargetSurface = "meta-ads"
			}
		}
		if err := sqlstore.SeedJobs(ctx, s, jobList); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
			t.Fatal(err)
		}
		all, bySurface := sqlstore.ClaimQueries(s)
		now := storetest.Epoch.Add(1).UnixNano()
		for _, tc := range []struct {
			query string
			args  []any
			index string
		}{
			{all, []any{now, 10}, "catalogvideo_jobs_outbox"},
			{bySurface, []any{now, 10, "meta-ads"}, "catalogvideo_jobs_outbox_surface"},
		} {
			plan := explain(t, db, b.dialect, tc.query, tc.args)
			t.Logf("%s:\n%s", b.name, plan)
			if !usesIndex(b.dialect, plan, tc.index) {
				t.Errorf("plan of\n%s\ndoes not read index %s in order:\n%s", tc.query, tc.index, plan)
			}
		}
	})
}

// explain returns the database's plan for query, one step a line.
func explain(t *testing.T, db *sql.DB, d sqlstore.Dialect, query string, args []any) string {
	t.Helper()
	prefix := "EXPLAIN "
	if d == sqlstore.SQLite {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := db.QueryContext(t.Context(), prefix+query, args...)
	if err != nil {
		t.Fatalf("%s%s: %v", prefix, query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&plan, vals[len(vals)-1]) // SQLite's detail, PostgreSQL's only column
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan.String()
}

// usesIndex reports whether plan reads index in its order: no sort step, and
// a scan of index itself (not another whose name it begins).
func usesIndex(d sqlstore.Dialect, plan, index string) bool {
	if d == sqlstore.SQLite {
		return strings.Contains(plan, "USING INDEX "+index+" ") && !strings.Contains(plan, "TEMP B-TREE")
	}
	return strings.Contains(plan, "Index Scan using "+index+" on") && !strings.Contains(plan, "Sort")
}

// TestDaySpendQueryPlan checks that a day's totals (Reserve, DaySpend) are
// an aggregate over the spend table's day index, so that their cost follows
// the day's reservations rather than every job ever tracked: 20,000 jobs
// spread over 100 days, with statistics gathered.
func TestDaySpendQueryPlan(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		db, _ := b.open(t)
		s := newStore(t, db, b.dialect)
		if err := sqlstore.SeedJobs(ctx, s, completedJobs(20_000)); err != nil {
			t.Fatal(err)
		}
		day := `'2026-01-01'::date + (seq % 100)::int`
		if b.dialect == sqlstore.SQLite {
			day = `date('2026-01-01', '+' || (seq % 100) || ' days')`
		}
		seed := `INSERT INTO catalogvideo_spend (key, day, reserved, spent, finished, refused)
			SELECT key, ` + day + `, 0, 50, 1, 0 FROM catalogvideo_jobs`
		if b.dialect == sqlstore.Postgres {
			seed = strings.Replace(seed, "SELECT key, "+day, "SELECT key, to_char("+day+", 'YYYY-MM-DD')", 1)
		}
		if _, err := db.ExecContext(ctx, seed); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
			t.Fatal(err)
		}
		got, err := s.DaySpend(ctx, "2026-01-05")
		if err != nil || got.Spent != 200*50 || got.Finished != 200 {
			t.Fatalf("DaySpend = %+v, %v; want the day's 200 jobs", got, err)
		}
		plan := explain(t, db, b.dialect, sqlstore.SpendDayQuery(s), []any{"2026-01-05"})
		t.Logf("%s:\n%s", b.name, plan)
		index := "catalogvideo_spend_day"
		var reads bool
		if b.dialect == sqlstore.SQLite {
			reads = strings.Contains(plan, "USING INDEX "+index+" (day=?)")
		} else {
			reads = strings.Contains(plan, "Index Scan using "+index+" on") || strings.Contains(plan, "Bitmap Index Scan on "+index)
		}
		if !reads || strings.Contains(plan, "SCAN catalogvideo_spend\n") || strings.Contains(plan, "Seq Scan") {
			t.Errorf("plan of\n%s\ndoes not read the day through index %s:\n%s", sqlstore.SpendDayQuery(s), index, plan)
		}
	})
}

// TestListUpdatedSinceQueryPlan checks that listing the completed jobs
// updated since a time (the archive sweep's pass) reads the status and
// updated_at index, so that a pass costs the jobs that changed, not every
// completed job: 20,000 completed jobs, 20 of them updated lately.
func TestListUpdatedSinceQueryPlan(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		db, _ := b.open(t)
		s := newStore(t, db, b.dialect)
		jobList := completedJobs(20_000)
		recent := storetest.Epoch.Add(100 * time.Hour)
		for i := len(jobList) - 20; i < len(jobList); i++ {
			jobList[i].UpdatedAt = recent
		}
		if err := sqlstore.SeedJobs(ctx, s, jobList); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
			t.Fatal(err)
		}
		f := jobs.Filter{Statuses: []jobs.Status{jobs.StatusCompleted}, UpdatedSince: recent}
		n := 0
		for _, err := range s.List(ctx, f) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 20 {
			t.Fatalf("listed %d jobs, want the 20 updated lately", n)
		}
		query, args := sqlstore.ListQuery(s, f)
		plan := explain(t, db, b.dialect, query, args)
		t.Logf("%s:\n%s", b.name, plan)
		index := "catalogvideo_jobs_status_updated"
		if !strings.Contains(plan, index) || strings.Contains(plan, "Seq Scan") {
			t.Errorf("plan of\n%s\ndoes not read index %s:\n%s", query, index, plan)
		}
	})
}
