package cli

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

func TestParseStoreSpec(t *testing.T) {
	tests := []struct {
		in      string
		kind    StoreKind
		target  string
		display string
		err     string
	}{
		{in: "video-jobs.jsonl", kind: StoreJSONL, target: "video-jobs.jsonl", display: "video-jobs.jsonl"},
		{in: " /var/lib/jobs.jsonl ", kind: StoreJSONL, target: "/var/lib/jobs.jsonl", display: "/var/lib/jobs.jsonl"},
		{in: "sqlite:jobs.db", kind: StoreSQLite, target: "jobs.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate", display: "sqlite:jobs.db"},
		{in: "sqlite:///tmp/jobs.db", kind: StoreSQLite, target: "/tmp/jobs.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate", display: "sqlite:/tmp/jobs.db"},
		{in: "sqlite:jobs.db?_pragma=busy_timeout(1)", kind: StoreSQLite, target: "jobs.db?_pragma=busy_timeout(1)", display: "sqlite:jobs.db?_pragma=busy_timeout(1)"},
		{in: "postgres://app:s3cret@db:5432/jobs?sslmode=disable", kind: StorePostgres, target: "postgres://app:s3cret@db:5432/jobs?sslmode=disable", display: "postgres://app:xxxxx@db:5432/jobs?sslmode=disable"},
		{in: "postgresql://db/jobs", kind: StorePostgres, target: "postgresql://db/jobs", display: "postgresql://db/jobs"},
		{in: "", err: "empty job store"},
		{in: "sqlite:", err: "empty SQLite path"},
		{in: "postgres:///jobs", err: "no host"},
		{in: "mysql://u:pw@db/jobs", err: "unsupported job store"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseStoreSpec(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "pw") {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tt.kind || got.Target != tt.target || got.Display != tt.display {
				t.Errorf("got %v %q %q, want %v %q %q", got.Kind, got.Target, got.Display, tt.kind, tt.target, tt.display)
			}
		})
	}
}

// roundTrip tracks a job, completes it through Apply, and reads it back
// through a second open of the same store, proving the -jobs value reached
// a durable store of the right kind.
func roundTrip(t *testing.T, spec string) {
	t.Helper()
	ctx := t.Context()
	st, parsed, err := OpenStore(ctx, spec, nil)
	if err != nil {
		t.Fatalf("OpenStore(%q): %v", parsed.Display, err)
	}
	job := jobs.Job{Key: "SKU-1#k", SKU: "SKU-1", TargetSurface: SurfaceShopifyPDP}
	if _, _, err := st.Track(ctx, job); err != nil {
		t.Fatal(err)
	}
	gen := &creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusPending}
	if _, err := st.RecordSubmission(ctx, job.Key, jobs.Submission{Generation: gen}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Apply(ctx, creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusCompleted, OutputURL: "https://cdn.example.com/v.mp4"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, _, err = OpenStore(ctx, spec, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer st.Close()
	got, err := st.Get(ctx, job.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != jobs.StatusCompleted || got.Delivery != jobs.DeliveryPending {
		t.Errorf("after reopening: %s, delivery %q; want completed and pending delivery", got.Status, got.Delivery)
	}
}

func TestOpenStoreJSONL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.jsonl")
	roundTrip(t, path)
	if data, err := os.ReadFile(path); err != nil || !strings.Contains(string(data), `"generation_id":"vgen_1"`) {
		t.Errorf("the JSONL file does not hold the job: %q, %v", data, err)
	}
}

// Two programs open one job file, each seeing the other's changes.
func TestOpenStoreJSONLShared(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.jsonl")
	var stores [2]jobs.Store
	for i := range stores {
		st, _, err := OpenStore(t.Context(), path, nil)
		if err != nil {
			t.Fatalf("open %d: %v", i+1, err)
		}
		defer st.Close()
		stores[i] = st
	}
	if _, _, err := stores[0].Track(t.Context(), jobs.Job{Key: "a", SKU: "A"}); err != nil {
		t.Fatal(err)
	}
	if j, err := stores[1].Get(t.Context(), "a"); err != nil || j.SKU != "A" {
		t.Errorf("second store: %+v, %v; want the job the first tracked", j, err)
	}
}

func TestOpenStoreSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	roundTrip(t, "sqlite:"+path)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q (%v), want wal", mode, err)
	}
}

func TestOpenStorePostgres(t *testing.T) {
	dsn := os.Getenv("CATALOGVIDEO_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set CATALOGVIDEO_POSTGRES_DSN (see .ci/postgres.sh) to run PostgreSQL tests")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	schema := fmt.Sprintf("cli_test_%d", time.Now().UnixNano())
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	defer db.Exec("DROP SCHEMA " + schema + " CASCADE")
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	roundTrip(t, u.String())
}

func TestOpenStorePostgresUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// Port 1 on loopback refuses connections at once.
	_, _, err := OpenStore(ctx, "postgres://app:s3cret@127.0.0.1:1/jobs?sslmode=disable&connect_timeout=2", nil)
	if err == nil {
		t.Fatal("OpenStore succeeded with no server")
	}
	if !strings.Contains(err.Error(), "connect to PostgreSQL job store postgres://app:xxxxx@127.0.0.1:1/jobs") {
		t.Errorf("error %q does not name the store", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q shows the password", err)
	}
}

// FuzzParseStoreSpec checks that any -jobs value parses or fails without a
// panic, and that a password never reaches a message.
func FuzzParseStoreSpec(f *testing.F) {
	for _, s := range []string{
		"video-jobs.jsonl", "sqlite:jobs.db", "sqlite://", "postgres://u:pw@h/db", "postgresql://h:5432/db?sslmode=disable",
		"postgres://u:pw@/db", "postgres://u:p%zz@h/db", "mysql://u:pw@h/db", "", " ", "://", "POSTGRES://U:PW@H/DB",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ParseStoreSpec(s)
		if err != nil {
			if spec != (StoreSpec{}) {
				t.Errorf("error %v with a non-zero spec %+v", err, spec)
			}
			return
		}
		if spec.Target == "" || spec.Display == "" {
			t.Errorf("ParseStoreSpec(%q) = %+v: empty target or display", s, spec)
		}
		if spec.Kind == StorePostgres {
			u, perr := url.Parse(spec.Target)
			if perr != nil {
				t.Fatalf("accepted an unparsable URL %q", s)
			}
			if pw, ok := u.User.Password(); ok && pw != "" && pw != "xxxxx" && strings.Contains(spec.Display, ":"+pw+"@") {
				t.Errorf("Display %q shows the password", spec.Display)
			}
		}
	})
}
