//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package jsonlstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/jsonlstore"
	"github.com/creativeai-run/catalogvideo/batch/storetest"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// TestShareCompact compacts the file through one Store while another has it
// open and goes on changing it: each sees everything, before and after, and
// so does a third opened afterwards.
func TestShareCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.jsonl")
	a, b := open(t, path), open(t, path)
	ctx := t.Context()
	track := func(s *jsonlstore.Store, key string) {
		t.Helper()
		if _, _, err := s.Track(ctx, jobs.Job{Key: key, SKU: key}); err != nil {
			t.Fatal(err)
		}
	}
	track(a, "a1")
	track(b, "b1")
	if err := b.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	track(a, "a2") // a's file was renamed away: a rereads the new one first
	if err := a.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	track(b, "b2")
	want := []string{"a1", "b1", "a2", "b2"}
	for name, s := range map[string]*jsonlstore.Store{"a": a, "b": b, "reopened": open(t, path)} {
		var got []string
		for _, j := range list(t, s) {
			got = append(got, j.Key)
		}
		diff(t, name, want, got)
	}
	if lines := strings.Count(readFile(t, path), "\n"); lines != 4 {
		t.Errorf("file has %d lines after compaction and one more change, want 4", lines)
	}
}

// TestShareLeasesOfTheGone: a lease in the file binds the Stores that have
// it open while its owner may still be alive, and is dropped by a Store
// that opens the file when no other has it open, since its owner is gone.
func TestShareLeasesOfTheGone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.jsonl")
	ctx := t.Context()
	a := open(t, path, jsonlstore.WithClock(clock))
	storetest.CompletedJob(t, a, "SKU-1", "shopify-pdp")
	claim := jobs.Claim{Owner: "a/0", Limit: 1, Lease: time.Hour, Now: now}
	if got, err := a.ClaimDeliveries(ctx, claim); err != nil || len(got) != 1 {
		t.Fatalf("a's claim: %d jobs, %v", len(got), err)
	}
	claim.Owner = "b/0"
	b := open(t, path, jsonlstore.WithClock(clock))
	if got, err := b.ClaimDeliveries(ctx, claim); err != nil || len(got) != 0 {
		t.Errorf("b's claim while a is open: %d jobs, %v; want none", len(got), err)
	}
	// a goes away (a crash looks the same in the file), then b: the next
	// Store to open the file is alone and may deliver at once.
	for _, s := range []*jsonlstore.Store{a, b} {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	c := open(t, path, jsonlstore.WithClock(clock))
	claim.Owner = "c/0"
	if got, err := c.ClaimDeliveries(ctx, claim); err != nil || len(got) != 1 {
		t.Errorf("claim by the only Store after its owner is gone: %d jobs, %v; want 1", len(got), err)
	}
	// And a Store opened beside it keeps c's lease.
	d := open(t, path, jsonlstore.WithClock(clock))
	claim.Owner = "d/0"
	if got, err := d.ClaimDeliveries(ctx, claim); err != nil || len(got) != 0 {
		t.Errorf("claim beside c's lease: %d jobs, %v; want none", len(got), err)
	}
}

// TestShareHelperProcess is the other process of the tests below: it opens
// the file JSONLSTORE_SHARE_PATH and tracks JSONLSTORE_SHARE_COUNT jobs
// named <prefix>-<i> (or until killed), printing each key once Track has
// acknowledged it, while it also applies a status to every job the parent
// tracked that it can see.
func TestShareHelperProcess(t *testing.T) {
	path := os.Getenv("JSONLSTORE_SHARE_PATH")
	if path == "" {
		t.Skip("helper process for TestShareProcesses and TestShareKill")
	}
	prefix := os.Getenv("JSONLSTORE_SHARE_PREFIX")
	count, _ := strconv.Atoi(os.Getenv("JSONLSTORE_SHARE_COUNT"))
	s, err := jsonlstore.Open(path)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	ctx := context.Background()
	for i := 0; count == 0 || i < count; i++ {
		key := fmt.Sprintf("%s-%d", prefix, i)
		if _, _, err := s.Track(ctx, jobs.Job{Key: key, SKU: key, GenerationID: "vgen_" + key, Status: jobs.StatusPending}); err != nil {
			fmt.Println("track:", err)
			os.Exit(2)
		}
		fmt.Println(key)
		// Step the parent's jobs forward too, so that both processes
		// change the same jobs.
		if _, err := s.Apply(ctx, creativeai.Generation{ID: fmt.Sprintf("vgen_parent-%d", i), Status: creativeai.Status(prefix)}); err != nil {
			fmt.Println("apply:", err)
			os.Exit(2)
		}
	}
	if err := s.Close(); err != nil {
		fmt.Println("close:", err)
		os.Exit(2)
	}
}

func shareHelper(t *testing.T, path, prefix string, count int) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestShareHelperProcess$")
	cmd.Env = append(os.Environ(), "JSONLSTORE_SHARE_PATH="+path, "JSONLSTORE_SHARE_PREFIX="+prefix,
		"JSONLSTORE_SHARE_COUNT="+strconv.Itoa(count))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewScanner(out)
}

// acked collects the keys a helper process printed as acknowledged.
func acked(sc *bufio.Scanner) (keys []string, other []string) {
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "proc") {
			keys = append(keys, line)
		} else if line != "PASS" {
			other = append(other, line)
		}
	}
	return keys, other
}

// parentWrites tracks parent-<i> for i below n with generation
// vgen_parent-<i>, and returns the keys acknowledged.
func parentWrites(t *testing.T, s *jsonlstore.Store, n int, stop <-chan struct{}) []string {
	var keys []string
	for i := range n {
		select {
		case <-stop:
			return keys
		default:
		}
		key := fmt.Sprintf("parent-%d", i)
		if _, _, err := s.Track(t.Context(), jobs.Job{Key: key, SKU: key, GenerationID: "vgen_" + key, Status: jobs.StatusPending}); err != nil {
			t.Error(err)
			return keys
		}
		keys = append(keys, key)
	}
	return keys
}

// checkKept reopens path and checks that every key in want is there.
func checkKept(t *testing.T, path string, want []string) map[string]jobs.Job {
	t.Helper()
	got := map[string]jobs.Job{}
	for _, j := range list(t, open(t, path)) {
		got[j.Key] = j
	}
	for _, k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("acknowledged job %s is missing from the file", k)
		}
	}
	return got
}

// TestShareProcesses runs two other processes and this one on one file at
// once, all tracking jobs and applying events to the same jobs: every
// acknowledged job is kept, and no status moved backward.
func TestShareProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.jsonl")
	s := open(t, path)
	const n = 150
	type result struct {
		keys, other []string
		err         error
	}
	results := make(chan result, 2)
	for _, prefix := range []string{"proc1", "proc2"} {
		cmd, out := shareHelper(t, path, prefix, n)
		go func() {
			keys, other := acked(out)
			results <- result{keys, other, cmd.Wait()}
		}()
	}
	mine := parentWrites(t, s, n, nil)
	want := mine
	for range 2 {
		r := <-results
		if r.err != nil || len(r.keys) != n {
			t.Errorf("helper: %v after %d keys; output %q", r.err, len(r.keys), r.other)
		}
		want = append(want, r.keys...)
	}
	got := checkKept(t, path, want)
	if len(got) != 3*n {
		t.Errorf("%d jobs, want %d", len(got), 3*n)
	}
	// Both helpers applied a status to each parent job they could see; the
	// state machine keeps whichever came first in the file, and this store
	// agrees with a fresh read of the file.
	for _, j := range list(t, s) {
		if j.Status != got[j.Key].Status || j.ProviderStatus != got[j.Key].ProviderStatus {
			t.Errorf("%s: this store has %s/%s, the file %s/%s", j.Key, j.Status, j.ProviderStatus, got[j.Key].Status, got[j.Key].ProviderStatus)
		}
	}
}

// TestShareKill kills (SIGKILL) another process sharing the file while both
// write as fast as they can: no change either acknowledged is lost, and the
// file opens cleanly.
func TestShareKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.jsonl")
	s := open(t, path)
	cmd, out := shareHelper(t, path, "proc1", 0)
	var (
		wg   sync.WaitGroup
		mine []string
		stop = make(chan struct{})
	)
	wg.Go(func() { mine = parentWrites(t, s, 1_000_000, stop) })
	// Let the helper get going, then kill it mid-stream.
	var theirs []string
	for out.Scan() {
		theirs = append(theirs, out.Text())
		if len(theirs) == 200 {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	more, _ := acked(out)
	theirs = append(theirs, more...)
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper ended with %v, want killed", err)
	}
	// This process goes on alone for a while, then stops.
	time.AfterFunc(100*time.Millisecond, func() { close(stop) })
	wg.Wait()
	if len(mine) == 0 || len(theirs) < 200 {
		t.Fatalf("%d parent and %d helper changes; the test did not run concurrently", len(mine), len(theirs))
	}
	checkKept(t, path, append(mine, theirs...))
}

// Two Stores open on one file, as two programs have it.
func TestConformanceShared(t *testing.T) {
	storetest.RunShared(t,
		func(t *testing.T, clock jobs.Clock) jobs.Store {
			return open(t, filepath.Join(t.TempDir(), "jobs.jsonl"), jsonlstore.WithClock(clock))
		},
		func(t *testing.T, s jobs.Store, clock jobs.Clock) jobs.Store {
			return open(t, s.(*jsonlstore.Store).Path(), jsonlstore.WithClock(clock))
		})
}

// TestShareArchiveAndReserve runs RecordArchive and Reserve on one Store
// while another Store on the same file tracks jobs, many times over. Each
// must run in a hold of the file lock: an append made outside one races the
// other Store's catch-up, which takes the half-written line for a torn one
// and cuts it off, losing an acknowledged change ("shrank while open" for
// the writer afterwards).
func TestShareArchiveAndReserve(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.jsonl")
	a, b := open(t, path), open(t, path)
	ctx := t.Context()
	const n = 60
	keys := make([]string, n)
	for i := range keys {
		keys[i] = storetest.CompletedJob(t, a, fmt.Sprintf("SKU-%02d", i), "shopify-pdp").Key
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i, key := range keys {
			arch := jobs.Archive{ArchiveURL: "file:///archive/" + key, SHA256: strings.Repeat("ab", 32), ArchiveSize: int64(i + 1), ArchiveContentType: "video/mp4"}
			if _, err := a.RecordArchive(ctx, key, arch); err != nil {
				t.Errorf("RecordArchive %s: %v", key, err)
				return
			}
		}
	})
	wg.Go(func() {
		for i := range n {
			key := fmt.Sprintf("new-%02d", i)
			if _, _, err := b.Track(ctx, jobs.Job{Key: key, SKU: key}); err != nil {
				t.Errorf("Track %s: %v", key, err)
				return
			}
			if _, err := b.Reserve(ctx, key, jobs.Reservation{Day: "2026-03-11", Cents: 50}); err != nil {
				t.Errorf("Reserve %s: %v", key, err)
				return
			}
		}
	})
	wg.Wait()
	if t.Failed() {
		return
	}
	c := open(t, path)
	for _, key := range keys {
		j, err := c.Get(ctx, key)
		if err != nil || !j.Archived() {
			t.Errorf("%s after both stores wrote: archived %v, %v; want the archive kept", key, j.Archived(), err)
		}
	}
	for i := range n {
		key := fmt.Sprintf("new-%02d", i)
		if j, err := c.Get(ctx, key); err != nil || j.PriceCents != 50 {
			t.Errorf("%s after both stores wrote: price %v, %v; want the reservation kept", key, j.PriceCents, err)
		}
	}
}

// TestShareKeepsOwner: the job file belongs to the user the servers run as,
// and an operator runs a program on it as root. The sidecar files it
// creates and the file its compaction renames into place stay the owner's,
// or the servers could no longer open them ("permission denied" on every
// webhook until someone runs chown).
func TestShareKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving files to another user takes root")
	}
	const uid, gid = 65534, 65534 // nobody, nogroup
	dir := t.TempDir()
	path := filepath.Join(dir, "jobs.jsonl")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
	s := open(t, path)
	if _, _, err := s.Track(t.Context(), jobs.Job{Key: "a", SKU: "A"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + ".lock", path + ".lock.want", path + ".lock.open"} {
		info, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if st := info.Sys().(*syscall.Stat_t); st.Uid != uid || st.Gid != gid {
			t.Errorf("%s belongs to uid %d gid %d, want the job file's owner %d:%d", filepath.Base(name), st.Uid, st.Gid, uid, gid)
		}
	}
}

// TestShareThroughSymlink: one program names the job file by a symbolic
// link, another by the file it points to. They take one lock, and a
// compaction through the link replaces the file, not the link, so both go on
// reading and writing one file.
func TestShareThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "data", "jobs.jsonl")
	if err := os.Mkdir(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "jobs.jsonl")
	if err := os.Symlink(filepath.Join("data", "jobs.jsonl"), link); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	viaLink, viaTarget := open(t, link), open(t, target)
	if _, _, err := viaLink.Track(ctx, jobs.Job{Key: "a", SKU: "A"}); err != nil {
		t.Fatal(err)
	}
	if err := viaLink.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := viaTarget.Track(ctx, jobs.Job{Key: "b", SKU: "B"}); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Lstat(link); err != nil || info.Mode()&os.ModeSymlink == 0 {
		t.Errorf("after a compaction through the link, %s is %v (%v), want the link", link, info.Mode(), err)
	}
	if _, err := os.Stat(link + ".lock"); err == nil {
		t.Errorf("a lock file beside the link: programs using the target would not take it")
	}
	for name, s := range map[string]*jsonlstore.Store{"via link": viaLink, "via target": viaTarget, "reopened": open(t, target)} {
		var got []string
		for _, j := range list(t, s) {
			got = append(got, j.Key)
		}
		diff(t, name, []string{"a", "b"}, got)
	}
}

// TestShareFileReplaced: while two programs have the file open, an operator
// moves an older copy over it. That is no compaction: the copy lacks a job
// the programs had read, and its records are older than theirs. The
// programs refuse every change from then on, saying why, rather than act on
// a mix of both files; a compaction, which keeps every job, never trips it.
func TestShareFileReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jobs.jsonl")
	ctx := t.Context()
	a, b := open(t, path), open(t, path)
	for _, key := range []string{"k1", "k2"} {
		if _, _, err := a.Track(ctx, jobs.Job{Key: key, SKU: key}); err != nil {
			t.Fatal(err)
		}
		if key == "k1" {
			if err := os.WriteFile(filepath.Join(dir, "backup.jsonl"), []byte(readFile(t, path)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "k2"); err != nil {
		t.Fatalf("Get after a compaction: %v", err)
	}
	if err := os.Rename(filepath.Join(dir, "backup.jsonl"), path); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*jsonlstore.Store{"a": a, "b": b} {
		_, _, err := s.Track(ctx, jobs.Job{Key: "k3-" + name, SKU: "k3"})
		if err == nil || !strings.Contains(err.Error(), "replaced") || !strings.Contains(err.Error(), "k2") {
			t.Errorf("%s: Track after the file was replaced: %v; want an error saying it was replaced, naming k2", name, err)
		}
		if err := s.Err(); err == nil {
			t.Errorf("%s: Err after the file was replaced: nil", name)
		}
		if _, err := s.RecordSubmission(ctx, "k1", jobs.Submission{Error: "HTTP 500"}); err == nil {
			t.Errorf("%s: a change acknowledged after the file was replaced", name)
		}
	}
	if got := readFile(t, path); strings.Contains(got, "k3") || strings.Contains(got, "HTTP 500") {
		t.Errorf("changes written into the replacement file:\n%s", got)
	}
}

// TestShareReadOnlySidecars: the lock files were created by another user
// (an operator's "jobs status" before the servers first ran), so this one
// may only read them. flock needs no more, so the file opens and works.
func TestShareReadOnlySidecars(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may write any file; run as another user")
	}
	path := filepath.Join(t.TempDir(), "jobs.jsonl")
	for _, name := range []string{path + ".lock", path + ".lock.want", path + ".lock.open"} {
		if err := os.WriteFile(name, nil, 0o444); err != nil {
			t.Fatal(err)
		}
	}
	a, b := open(t, path), open(t, path)
	if _, _, err := a.Track(t.Context(), jobs.Job{Key: "a", SKU: "A"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(t.Context(), "a"); err != nil {
		t.Fatalf("b does not see a's job: %v", err)
	}
}
