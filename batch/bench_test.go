package batch_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/memstore"

	"golang.org/x/time/rate"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

// BenchmarkRunRate measures how closely Run keeps to its rate limit: N rows
// at R per second should take N/R. It reports measured/expected for Run and,
// as the baseline, for the bare limiter making N waits, so that the cost Run
// adds on top of the limiter is the difference of the two ratios.
//
//	go test ./batch/ -run '^$' -bench RunRate -benchtime 3x
func BenchmarkRunRate(b *testing.B) {
	const (
		perSecond = 100.0
		rows      = 200
	)
	expected := time.Duration(rows / perSecond * float64(time.Second))
	sim := newSim(b, creativeaitest.WithManualRender())
	client := simClient(b, sim.URL, sim.APIKey)

	b.Run("baseline=limiter", func(b *testing.B) {
		var total time.Duration
		for b.Loop() {
			lim := rate.NewLimiter(perSecond, 1)
			start := time.Now()
			for range rows {
				if err := lim.Wait(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
			total += time.Since(start)
		}
		b.ReportMetric(float64(total)/float64(b.N)/float64(expected), "measured/expected")
	})
	b.Run("Run", func(b *testing.B) {
		var total time.Duration
		i := 0
		for b.Loop() {
			i++
			// New rows each time, so that no row is skipped as tracked.
			rows := manifestFrom(b, newGeneratedManifest(rows, "rate-"+strconv.Itoa(i)))
			sum, err := batch.Run(b.Context(), batch.Config{Client: client, Store: memstore.New(), Rate: perSecond}, rows)
			if err != nil {
				b.Fatal(err)
			}
			if sum.Submitted != 200 {
				b.Fatalf("submitted %d rows: %+v", sum.Submitted, sum.Counts)
			}
			total += sum.Elapsed
		}
		b.ReportMetric(float64(total)/float64(b.N)/float64(expected), "measured/expected")
	})
}

// BenchmarkRunMemory submits a generated manifest (made up row by row by an
// io.Reader, so the manifest costs nothing) to the simulator, in a child
// process whose peak memory it reports: the peak of heap objects (live and
// not yet collected) and of all memory the Go runtime mapped, sampled every
// 5ms, and the peak resident set from the kernel (VmHWM, Linux only). The
// simulator runs in this process, so its memory is not counted.
//
// The cases side by side: the JSONL store at 10k rows (the baseline) and at
// 100k rows, whose difference is the cost per row; and 100k rows with a
// store that keeps nothing, which is what Run itself holds. The JSONL store
// keeps every job in memory, so at 100k rows the garbage collector's default
// headroom (GOGC=100, a heap up to twice the live data) decides the peak; the
// GOMEMLIMIT case shows the peak a program gets by setting a soft limit.
//
//	go test ./batch/ -run '^$' -bench RunMemory -benchtime 1x
//
// With CATALOGVIDEO_BATCH_MEMPROFILE=FILE in the environment, the child
// writes the heap profile of what is live after the run to FILE (go tool
// pprof -sample_index=inuse_space FILE); the last case run writes it.
func BenchmarkRunMemory(b *testing.B) {
	for _, bc := range []struct {
		store    string
		rows     int
		memLimit string // GOMEMLIMIT for the child, if any
	}{
		{"jsonl", 10_000, ""},
		{"jsonl", 100_000, ""},
		{"jsonl", 100_000, "120MiB"},
		{"discard", 100_000, ""},
	} {
		rows := bc.rows
		name := fmt.Sprintf("store=%s/rows=%d", bc.store, rows)
		if bc.memLimit != "" {
			name += "/GOMEMLIMIT=" + bc.memLimit
		}
		b.Run(name, func(b *testing.B) {
			sim := newSim(b, creativeaitest.WithManualRender())
			for b.Loop() {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), "video-jobs.jsonl")
				b.StartTimer()
				mode := "membench"
				if bc.store == "discard" {
					mode = "membench-discard"
				}
				env := map[string]string{envSimURL: sim.URL, envSimKey: sim.APIKey, envStore: path, envRows: strconv.Itoa(rows)}
				if bc.memLimit != "" {
					env["GOMEMLIMIT"] = bc.memLimit
				}
				h := startHelper(b, mode, env)
				out, err := h.wait()
				if err != nil {
					b.Fatalf("helper: %v\n%s", err, out)
				}
				var heap, total, rss uint64
				var elapsed string
				for line := range strings.Lines(out) {
					if rest, ok := strings.CutPrefix(line, "PEAK "); ok {
						if _, err := fmt.Sscanf(rest, "heap=%d total=%d rss=%d elapsed=%s", &heap, &total, &rss, &elapsed); err != nil {
							b.Fatalf("parsing %q: %v", line, err)
						}
					}
				}
				if heap == 0 {
					b.Fatalf("no PEAK line in the helper's output:\n%s", out)
				}
				const mb = 1 << 20
				b.ReportMetric(float64(heap)/mb, "peak-heap-MB")
				b.ReportMetric(float64(total)/mb, "peak-runtime-MB")
				b.ReportMetric(float64(rss)/mb, "peak-RSS-MB")
				b.ReportMetric(float64(heap)/float64(rows), "heap-B/row")
			}
		})
	}
}
