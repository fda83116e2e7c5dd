package jsonlstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/storetest"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

func openInternal(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "jobs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (j *journal) counts() (appended, synced, syncs int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.appended, j.synced, j.syncs
}

func TestSyncPerSequentialChange(t *testing.T) {
	s := openInternal(t)
	for i := range 20 {
		if _, err := s.Apply(t.Context(), creativeai.Generation{ID: fmt.Sprint("vgen_", i), Status: creativeai.StatusCompleted}); err != nil {
			t.Fatal(err)
		}
		if appended, synced, syncs := s.journal.counts(); synced != appended || syncs != int64(i+1) {
			t.Fatalf("after change %d acknowledged: appended %d, synced %d, syncs %d", i+1, appended, synced, syncs)
		}
	}
	// A duplicate changes nothing and writes nothing.
	s.Apply(t.Context(), creativeai.Generation{ID: "vgen_0", Status: creativeai.StatusCompleted})
	if _, _, syncs := s.journal.counts(); syncs != 20 {
		t.Errorf("duplicate event synced: %d syncs", syncs)
	}
}

// TestGroupCommit holds the journal as if a leader were writing, lets eight
// appliers queue their lines, and checks that one sync then acknowledges
// them all.
func TestGroupCommit(t *testing.T) {
	s := openInternal(t)
	j := s.journal
	j.mu.Lock()
	j.flushing = true
	j.mu.Unlock()

	const appliers = 8
	var wg sync.WaitGroup
	for i := range appliers {
		wg.Go(func() {
			if _, err := s.Apply(t.Context(), creativeai.Generation{ID: fmt.Sprint("vgen_", i), Status: creativeai.StatusCompleted}); err != nil {
				t.Error(err)
			}
		})
	}
	for {
		if appended, _, _ := j.counts(); appended == appliers {
			break
		}
		runtime.Gosched()
	}
	j.release()
	wg.Wait()
	if appended, synced, syncs := j.counts(); syncs != 1 || synced != appended {
		t.Errorf("appended %d, synced %d with %d syncs; want all with one", appended, synced, syncs)
	}
}

// TestWriteFailureIsSticky breaks the file under the store: the change is
// not acknowledged, and nothing the store says afterwards may rest on it.
func TestWriteFailureIsSticky(t *testing.T) {
	s := openInternal(t)
	ctx := t.Context()
	if _, _, err := s.Track(ctx, jobs.Job{Key: "a", SKU: "A"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Err(); err != nil {
		t.Fatalf("Err of a working store: %v", err)
	}
	// The same file, open read-only: it reads as before, and writes fail.
	ro, err := os.Open(s.journal.path)
	if err != nil {
		t.Fatal(err)
	}
	s.journal.f.Close()
	s.journal.f = ro
	_, werr := s.RecordSubmission(ctx, "a", jobs.Submission{Error: "HTTP 500"})
	if werr == nil {
		t.Fatal("change acknowledged although its write failed")
	}
	if err := s.Err(); err == nil || !strings.Contains(werr.Error(), err.Error()) {
		t.Errorf("Err after a failed write = %v; want the write's error (%v)", err, werr)
	}
	if j, err := s.Get(ctx, "a"); err == nil {
		t.Errorf("Get after a failed write = %+v; want the write's error", j)
	}
	if _, _, err := s.Track(ctx, jobs.Job{Key: "b", SKU: "B"}); err == nil {
		t.Error("Track after a failed write: no error")
	}
	if err := s.Close(); err == nil {
		t.Error("Close after a failed write: no error")
	}
	if _, err := s.Get(ctx, "a"); !errors.Is(err, jobs.ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if err := s.Err(); err == nil {
		t.Error("Err after Close: nil")
	}
}

// TestUnreadableFileErr: while another process's line does not parse, every
// operation fails and Err says why; once the line is gone, both recover.
func TestUnreadableFileErr(t *testing.T) {
	s := openInternal(t)
	ctx := t.Context()
	if _, _, err := s.Track(ctx, jobs.Job{Key: "a", SKU: "A"}); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(s.journal.path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(s.journal.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("not json\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := s.Get(ctx, "a"); err == nil {
		t.Fatal("Get while the file has a line that does not parse: no error")
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Errorf("Err while line 2 does not parse = %v; want an error naming the line", err)
	}
	if err := os.Truncate(s.journal.path, info.Size()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "a"); err != nil {
		t.Fatalf("Get once the line is gone: %v", err)
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err once the file reads again = %v; want nil", err)
	}
}

// TestLeaseWrittenNotSynced: a claim writes its lease line, where other
// processes read it, without an fsync of its own; the next change's fsync
// makes it durable.
func TestLeaseWrittenNotSynced(t *testing.T) {
	s := openInternal(t)
	ctx := t.Context()
	job := storetest.CompletedJob(t, s, "SKU-1", "shopify-pdp")
	_, _, before := s.journal.counts()
	claimed, err := s.ClaimDeliveries(ctx, jobs.Claim{Owner: "a/0", Limit: 1, Lease: time.Hour})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %d jobs, %v", len(claimed), err)
	}
	appended, synced, syncs := s.journal.counts()
	if syncs != before || synced != appended-1 {
		t.Errorf("after the claim: %d more syncs, synced %d of %d records; want none, all but the lease", syncs-before, synced, appended)
	}
	b, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); !strings.Contains(lines[len(lines)-1], `"delivery_lease":{"key":"SKU-1#k","owner":"a/0"`) {
		t.Errorf("last line of the file after the claim: %s; want the lease", lines[len(lines)-1])
	}
	if _, err := s.RecordDelivery(ctx, job.Key, jobs.DeliveryResult{Owner: "a/0", State: jobs.DeliveryDelivered, Ref: "m1"}); err != nil {
		t.Fatal(err)
	}
	if appended, synced, syncs := s.journal.counts(); syncs != before+1 || synced != appended {
		t.Errorf("after recording the delivery: %d more syncs, synced %d of %d records; want one, all", syncs-before, synced, appended)
	}
}

// TestGroupCommitWaitsForDeciding: a leader waits for the operations of the
// hold that have not queued their change yet, so that one fsync carries
// theirs too, even after the hold's first fsync.
func TestGroupCommitWaitsForDeciding(t *testing.T) {
	s := openInternal(t)
	ctx := t.Context()
	j := s.journal
	apply := func(id string) {
		if _, err := s.mem.Apply(ctx, creativeai.Generation{ID: id, Status: creativeai.StatusCompleted}); err != nil {
			t.Error(err)
		}
	}
	// An operation of this test's own, which first commits a change alone.
	if err := j.enter(ctx); err != nil {
		t.Fatal(err)
	}
	apply("vgen_0")
	_, _, before := j.counts()

	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := s.Apply(ctx, creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusCompleted}); err != nil {
			t.Error(err)
		}
	})
	for {
		j.mu.Lock()
		queued := j.appended == 2 && len(j.waits) == 1
		j.mu.Unlock()
		if queued {
			break
		}
		runtime.Gosched()
	}
	if _, _, syncs := j.counts(); syncs != before {
		t.Fatalf("%d fsyncs while an operation of the hold was still deciding; want none", syncs-before)
	}
	apply("vgen_2")
	j.leave()
	wg.Wait()
	if appended, synced, syncs := j.counts(); syncs != before+1 || synced != appended {
		t.Errorf("appended %d, synced %d with %d fsyncs; want both changes with one", appended, synced, syncs-before)
	}
}
