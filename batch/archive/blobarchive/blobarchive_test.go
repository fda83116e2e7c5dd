package blobarchive_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob"

	"github.com/creativeai-run/catalogvideo/batch/archive"
	"github.com/creativeai-run/catalogvideo/batch/archive/blobarchive"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

// openDir opens a file:// bucket on a fresh folder.
func openDir(tb testing.TB) (*blobarchive.Bucket, string) {
	tb.Helper()
	dir := tb.TempDir()
	u := "file://" + filepath.ToSlash(dir) + "?no_tmp_dir=1"
	bb, err := blob.OpenBucket(context.Background(), u)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { bb.Close() })
	b, err := blobarchive.New(bb, u)
	if err != nil {
		tb.Fatal(err)
	}
	return b, dir
}

// renderedJob renders one video of size bytes in the simulator and returns
// the completed job.
func renderedJob(tb testing.TB, size int64) jobs.Job {
	tb.Helper()
	sim := creativeaitest.NewServer(creativeaitest.WithManualRender(), creativeaitest.WithOutputSize(size))
	tb.Cleanup(sim.Close)
	gen, _, err := sim.Client().Videos.Create(context.Background(), &creativeai.VideoRequest{Prompt: "p", ImageURL: "https://cdn.example.com/a.jpg"})
	if err != nil {
		tb.Fatal(err)
	}
	if err := sim.Complete(gen.ID); err != nil {
		tb.Fatal(err)
	}
	done, _ := sim.Generation(gen.ID)
	return jobs.Job{Key: "SKU-1#00ff", SKU: "SKU-1", Status: jobs.StatusCompleted, OutputURL: done.OutputURL, GenerationID: gen.ID}
}

func TestArchiveToFolder(t *testing.T) {
	b, dir := openDir(t)
	job := renderedJob(t, 100_000)
	a, err := archive.New(b)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := a.Archive(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "videos", "SKU-1", "SKU-1-00ff-a0.mp4")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the archived file: %v", err)
	}
	sum := sha256.Sum256(data)
	want := jobs.Archive{ArchiveURL: "file://" + filepath.ToSlash(path), SHA256: hex.EncodeToString(sum[:]), ArchiveSize: 100_000, ArchiveContentType: "video/mp4"}
	if rec != want {
		t.Errorf("Archive = %+v\nwant %+v", rec, want)
	}
	job.Archive = rec
	v, err := a.Open(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, v); err != nil || n != 100_000 {
		t.Errorf("reading the archived copy: %d bytes, %v", n, err)
	}
	v.Close()

	// A changed file is caught while reading it back.
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	v, _ = a.Open(t.Context(), job)
	var ce *archive.ChecksumError
	if _, err := io.Copy(io.Discard, v); !errors.As(err, &ce) {
		t.Errorf("reading a changed file: %v, want a ChecksumError", err)
	}
	v.Close()
}

func TestMissingObjectIsErrNotExist(t *testing.T) {
	b, _ := openDir(t)
	if _, err := b.NewReader(t.Context(), "videos/none.mp4"); !errors.Is(err, archive.ErrNotExist) {
		t.Errorf("NewReader of a missing key: %v, want archive.ErrNotExist", err)
	}
}

func TestCancelledWriteLeavesNoObject(t *testing.T) {
	b, dir := openDir(t)
	ctx, cancel := context.WithCancel(t.Context())
	w, err := b.NewWriter(ctx, "videos/x.mp4", "video/mp4")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("half a video"))
	cancel()
	if err := w.Close(); err == nil {
		t.Error("Close after cancel: no error")
	}
	if _, err := os.Stat(filepath.Join(dir, "videos", "x.mp4")); !os.IsNotExist(err) {
		t.Errorf("object after an abandoned write: %v", err)
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := blobarchive.New(nil, "file:///x"); err == nil {
		t.Error("New(nil): no error")
	}
	bb, _ := blob.OpenBucket(t.Context(), "file://"+filepath.ToSlash(t.TempDir()))
	defer bb.Close()
	if _, err := blobarchive.New(bb, "/no/scheme"); err == nil {
		t.Error("New with a URL without scheme: no error")
	}
}

// peakHeap samples the heap every few milliseconds while fn runs and
// returns the largest growth over the heap before it.
func peakHeap(fn func()) (growth uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	fn()
	close(done)
	wg.Wait()
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

// TestLargeVideoHeap archives a 1 GiB video (256 MiB under the race
// detector, which slows every byte) into a folder and reads it back,
// checking the heap stays within 32 MiB of where it started.
func TestLargeVideoHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("streams a large video")
	}
	size := int64(1 << 30)
	if raceEnabled {
		size = 256 << 20
	}
	b, _ := openDir(t)
	job := renderedJob(t, size)
	a, err := archive.New(b)
	if err != nil {
		t.Fatal(err)
	}
	var rec jobs.Archive
	var n int64
	growth := peakHeap(func() {
		if rec, err = a.Archive(t.Context(), job); err != nil {
			return
		}
		job.Archive = rec
		var v *archive.Video
		if v, err = a.Open(t.Context(), job); err != nil {
			return
		}
		defer v.Close()
		n, err = io.Copy(io.Discard, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec.ArchiveSize != size || n != size {
		t.Fatalf("archived %d bytes, read back %d; want %d", rec.ArchiveSize, n, size)
	}
	t.Logf("%d MiB archived and read back; peak heap growth %.1f MiB", size>>20, float64(growth)/(1<<20))
	if growth > 32<<20 {
		t.Errorf("peak heap growth %d MiB; want at most 32 MiB", growth>>20)
	}
}
