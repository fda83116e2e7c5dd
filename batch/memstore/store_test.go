package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/creativeai-run/catalogvideo/batch/storetest"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock jobs.Clock) jobs.Store {
		s := memstore.New(memstore.WithClock(clock))
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// recordingJournal keeps what it is given, in memory.
type recordingJournal struct {
	mu        sync.Mutex // Commit runs outside the store's lock
	records   []memstore.Record
	committed int64
	failNext  bool
}

func (j *recordingJournal) Append(r memstore.Record) (int64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failNext {
		j.failNext = false
		return 0, errors.New("disk full")
	}
	j.records = append(j.records, r)
	return int64(len(j.records)), nil
}

func (j *recordingJournal) Commit(pos int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.committed = max(j.committed, pos)
	return nil
}

// TestMemoryStoreJournalRebuilds runs the whole conformance suite with a
// journal and checks, after each subtest, that restoring the journal's
// records into a new store rebuilds the same jobs, and that a snapshot does
// too.
func TestMemoryStoreJournalRebuilds(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock jobs.Clock) jobs.Store {
		j := &recordingJournal{}
		s := memstore.New(memstore.WithClock(clock), memstore.WithJournal(j))
		t.Cleanup(func() {
			if t.Failed() {
				return
			}
			want := listAll(t, s)
			if got := int64(len(j.records)); j.committed != got && want != nil {
				t.Errorf("journal: %d records appended, committed up to %d", got, j.committed)
			}
			diffJobs(t, "restored from the journal", want, listAll(t, restore(t, clock, j.records)))
			var snap []memstore.Record
			if err := s.Snapshot(func(records iter.Seq[memstore.Record]) error {
				for r := range records {
					snap = append(snap, r)
				}
				return nil
			}); err != nil && !errors.Is(err, jobs.ErrClosed) {
				t.Fatal(err)
			}
			if snap != nil {
				diffJobs(t, "restored from a snapshot", want, listAll(t, restore(t, clock, snap)))
			}
			s.Close()
		})
		return s
	})
}

func restore(t *testing.T, clock jobs.Clock, records []memstore.Record) *memstore.Store {
	t.Helper()
	s := memstore.New(memstore.WithClock(clock))
	for _, r := range records {
		if err := s.Restore(r); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// listAll lists every job, or nil when s is closed.
func listAll(t *testing.T, s jobs.Store) []jobs.Job {
	t.Helper()
	var jobList []jobs.Job
	// Cleanup functions run after t.Context() is cancelled.
	for j, err := range s.List(context.Background(), jobs.Filter{}) {
		if errors.Is(err, jobs.ErrClosed) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		jobList = append(jobList, j)
	}
	return jobList
}

func diffJobs(t *testing.T, what string, want, got []jobs.Job) {
	t.Helper()
	if want == nil {
		return
	}
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func TestMemoryStoreJournalFailureDropsChange(t *testing.T) {
	j := &recordingJournal{}
	s := memstore.New(memstore.WithJournal(j))
	ctx := t.Context()
	if _, _, err := s.Track(ctx, jobs.Job{Key: "a", SKU: "A"}); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Get(ctx, "a")
	j.failNext = true
	if _, err := s.RecordSubmission(ctx, "a", jobs.Submission{Generation: &creativeai.Generation{ID: "vgen_a", Status: creativeai.StatusPending}}); err == nil {
		t.Fatal("RecordSubmission succeeded although the journal refused it")
	}
	after, _ := s.Get(ctx, "a")
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("refused change applied (-before +after):\n%s", d)
	}
	if _, err := s.GetByGenerationID(ctx, "vgen_a"); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("refused generation indexed: %v", err)
	}
	j.failNext = true
	if _, err := s.Apply(ctx, creativeai.Generation{ID: "vgen_b", Status: creativeai.StatusCompleted}); err == nil {
		t.Fatal("kept event acknowledged although the journal refused it")
	}
	if r, err := s.Apply(ctx, creativeai.Generation{ID: "vgen_b", Status: creativeai.StatusCompleted}); err != nil || !r.Deferred || len(j.records) != 2 {
		t.Errorf("event kept again = %+v, %v with %d records; want deferred and journaled", r, err, len(j.records))
	}
}

func TestMemoryStoreRestoreRejects(t *testing.T) {
	s := memstore.New()
	for name, r := range map[string]memstore.Record{
		"empty":       {},
		"both":        {Job: &jobs.Job{Key: "a"}, Event: &creativeai.Generation{ID: "g"}},
		"no key":      {Job: &jobs.Job{SKU: "A"}},
		"event no id": {Event: &creativeai.Generation{Status: creativeai.StatusCompleted}},
	} {
		if err := s.Restore(r); err == nil {
			t.Errorf("Restore of %s record: no error", name)
		}
	}
}

// TestMemoryStoreKeepsEveryField checks that a job comes back from the
// store exactly as it went in, with every field of Job set. The store keeps
// jobs in a compact form of its own, so a field added to Job and forgotten
// there would otherwise be dropped silently; filling the fields by
// reflection makes such a field fail this test.
func TestMemoryStoreKeepsEveryField(t *testing.T) {
	var job jobs.Job
	n := 0
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		for i := range v.NumField() {
			n++
			f, name := v.Field(i), v.Type().Field(i).Name
			switch {
			case f.Type() == reflect.TypeFor[time.Time]():
				f.Set(reflect.ValueOf(storetest.Epoch.Add(time.Duration(n) * time.Minute)))
			case f.Kind() == reflect.String:
				f.SetString("value of " + name)
			case f.Kind() == reflect.Bool:
				f.SetBool(true)
			case f.Kind() == reflect.Int || f.Kind() == reflect.Int64:
				f.SetInt(int64(n))
			case f.Type() == reflect.TypeFor[[]string]():
				f.Set(reflect.ValueOf([]string{name + "-1", name + "-2"}))
			case f.Type() == reflect.TypeFor[[]jobs.Charge]():
				f.Set(reflect.ValueOf([]jobs.Charge{{Day: "2026-03-10", Cents: 80}, {Day: "2026-03-11", Cents: 50}}))
			case f.Kind() == reflect.Struct:
				fill(f) // an embedded group of fields, such as jobs.Archive
			default:
				t.Fatalf("Job.%s has type %s, which this test cannot fill yet", name, f.Type())
			}
		}
	}
	fill(reflect.ValueOf(&job).Elem())
	job.Status = jobs.StatusProcessing // Track accepts only known statuses

	ctx := t.Context()
	s := memstore.New()
	if _, _, err := s.Track(ctx, job); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, job.Key)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(job, got); d != "" {
		t.Errorf("tracked job read back (-tracked +read):\n%s", d)
	}

	restored := memstore.New()
	if err := restored.Restore(memstore.Record{Job: &job}); err != nil {
		t.Fatal(err)
	}
	diffJobs(t, "restored job listed", []jobs.Job{job}, listAll(t, restored))

	// The store shares no slice with its callers.
	got.PreviousGenerationIDs[0] = "changed by the caller"
	job.PreviousGenerationIDs[1] = "changed by the caller"
	if again, _ := s.Get(ctx, job.Key); again.PreviousGenerationIDs[0] != "PreviousGenerationIDs-1" || again.PreviousGenerationIDs[1] != "PreviousGenerationIDs-2" {
		t.Errorf("the store's job changed with its callers' copies: %q", again.PreviousGenerationIDs)
	}
}

// BenchmarkMemoryStoreApply measures Apply with storetest.Appliers
// concurrent appliers; ns/op is per event.
func BenchmarkMemoryStoreApply(b *testing.B) {
	for _, jobList := range []int{1_000, 10_000, 100_000} {
		s := memstore.New(memstore.WithClock(jobs.ClockFunc(func() time.Time { return storetest.Epoch })))
		for i := range jobList {
			j := storetest.BenchJob(i)
			if err := s.Restore(memstore.Record{Job: &j}); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("store=memory/jobs=%d", jobList), func(b *testing.B) {
			storetest.BenchmarkApply(b, jobList, s.Apply)
		})
	}
}

// A webhook can arrive before the submission's answer is recorded: the event
// is kept and applied when the job records its generation.
func ExampleNew() {
	ctx := context.Background()
	s := memstore.New()
	defer s.Close()

	s.Track(ctx, jobs.Job{Key: "SKU-1001-3f9a", SKU: "SKU-1001", TargetSurface: "shopify-pdp"})
	r, _ := s.Apply(ctx, creativeai.Generation{ID: "vgen_abc123", Status: creativeai.StatusCompleted})
	fmt.Println("deferred:", r.Deferred)

	j, _ := s.RecordSubmission(ctx, "SKU-1001-3f9a", jobs.Submission{
		Generation: &creativeai.Generation{ID: "vgen_abc123", Status: creativeai.StatusPending},
	})
	fmt.Println(j.SKU, j.Status, "delivery:", j.Delivery)
	// Output:
	// deferred: true
	// SKU-1001 completed delivery: pending
}
