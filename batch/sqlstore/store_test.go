package sqlstore_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/batch/sqlstore"
	"github.com/creativeai-run/catalogvideo/batch/storetest"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

func TestConformance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		var r reopeners
		storetest.RunDurable(t, r.opener(b),
			func(t *testing.T, s jobs.Store, clock jobs.Clock) jobs.Store {
				reopen := r.get(t, s)
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				// A new pool on the same data, as a restarted process has.
				s2 := newStore(t, reopen(t), b.dialect, sqlstore.WithClock(clock))
				r.add(s2, reopen)
				return s2
			})
	})
}

// Two stores on one database through two pools, as two processes have it.
func TestConformanceShared(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		var r reopeners
		storetest.RunShared(t, r.opener(b),
			func(t *testing.T, s jobs.Store, clock jobs.Clock) jobs.Store {
				return newStore(t, r.get(t, s)(t), b.dialect, sqlstore.WithClock(clock))
			})
	})
}

func TestGenerationOfAnotherJob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db, _ := b.open(t)
		s := newStore(t, db, b.dialect)
		ctx := t.Context()
		for _, key := range []string{"a", "b"} {
			if _, _, err := s.Track(ctx, jobs.Job{Key: key, SKU: key}); err != nil {
				t.Fatal(err)
			}
		}
		gen := &creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusPending}
		if _, err := s.RecordSubmission(ctx, "a", jobs.Submission{Generation: gen}); err != nil {
			t.Fatal(err)
		}
		_, err := s.RecordSubmission(ctx, "b", jobs.Submission{Generation: gen})
		if err == nil || !strings.Contains(err.Error(), "generation vgen_1 already belongs to job a") {
			t.Errorf("recording a's generation for b: error = %v, want one naming job a", err)
		}
		if got, _ := s.Get(ctx, "b"); got.GenerationID != "" {
			t.Errorf("b kept the refused generation: %q", got.GenerationID)
		}
		if got, _ := s.GetByGenerationID(ctx, "vgen_1"); got.Key != "a" {
			t.Errorf("GetByGenerationID(vgen_1) = %q, want a", got.Key)
		}
	})
}

// TestTrackSubmittedJob tracks jobs that already carry generation ids, as
// an import of a job file does: the ids are found, and an event kept for
// the current one is applied.
func TestTrackSubmittedJob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db, _ := b.open(t)
		s := newStore(t, db, b.dialect)
		ctx := t.Context()
		if r, err := s.Apply(ctx, creativeai.Generation{ID: "vgen_2", Status: creativeai.StatusProcessing}); err != nil || !r.Deferred {
			t.Fatalf("Apply before the job = %+v, %v; want deferred", r, err)
		}
		in := jobs.Job{Key: "a", SKU: "A", Status: jobs.StatusPending, GenerationID: "vgen_2", Attempt: 1, PreviousGenerationIDs: []string{"vgen_1"}}
		got, created, err := s.Track(ctx, in)
		if err != nil || !created {
			t.Fatalf("Track = %v, %v", created, err)
		}
		if got.Status != jobs.StatusProcessing {
			t.Errorf("Status = %q, want the kept event's processing", got.Status)
		}
		for _, id := range []string{"vgen_1", "vgen_2"} {
			if j, err := s.GetByGenerationID(ctx, id); err != nil || j.Key != "a" {
				t.Errorf("GetByGenerationID(%s) = %q, %v; want a", id, j.Key, err)
			}
		}
		if n := countRows(t, db, "catalogvideo_deferred_events"); n != 0 {
			t.Errorf("%d events still kept", n)
		}
	})
}

// TestRecordFormat checks that the stored record is the job's JSON, the
// record format (package jobs, docs/contracts.md), and that a damaged record is reported with
// its key rather than returned half-read.
func TestRecordFormat(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db, _ := b.open(t)
		s := newStore(t, db, b.dialect)
		ctx := t.Context()
		if _, _, err := s.Track(ctx, jobs.Job{Key: "a", SKU: "SKU-1", Collection: "spring", TargetSurface: "shopify-pdp"}); err != nil {
			t.Fatal(err)
		}
		gen := &creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusPending}
		if _, err := s.RecordSubmission(ctx, "a", jobs.Submission{Generation: gen}); err != nil {
			t.Fatal(err)
		}
		r, err := s.Apply(ctx, creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusCompleted, OutputURL: "https://cdn.example/a.mp4", FailoverUsed: true})
		if err != nil {
			t.Fatal(err)
		}
		var record string
		if err := db.QueryRowContext(ctx, "SELECT record FROM catalogvideo_jobs WHERE key = 'a'").Scan(&record); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(r.Job)
		if record != string(want) {
			t.Errorf("stored record\n%s\nwant the job's JSON\n%s", record, want)
		}
		var fields map[string]any
		if err := json.Unmarshal([]byte(record), &fields); err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]any{"sku": "SKU-1", "collection": "spring", "target_surface": "shopify-pdp", "generation_id": "vgen_1",
			"status": "completed", "output_url": "https://cdn.example/a.mp4", "failover_used": true, "delivery_status": "pending"} {
			if fields[k] != v {
				t.Errorf("record field %s = %v, want %v", k, fields[k], v)
			}
		}

		if _, err := db.ExecContext(ctx, `UPDATE catalogvideo_jobs SET record = '{"key": "a", "status": 7}' WHERE key = 'a'`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "a"); err == nil || !strings.Contains(err.Error(), "job a: decoding the stored record") {
			t.Errorf("Get of a damaged record: error = %v, want one naming job a", err)
		}
		if _, err := s.Apply(ctx, creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusFailed}); err == nil {
			t.Error("Apply to a damaged record: no error")
		}
	})
}

func TestCloseLeavesDBOpen(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db, _ := b.open(t)
		s := newStore(t, db, b.dialect)
		if _, _, err := s.Track(t.Context(), jobs.Job{Key: "a", SKU: "A"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := db.PingContext(t.Context()); err != nil {
			t.Fatalf("the caller's *sql.DB after Close: %v", err)
		}
		if _, err := newStore(t, db, b.dialect).Get(t.Context(), "a"); err != nil {
			t.Errorf("a new store on the same *sql.DB: %v", err)
		}
	})
}
