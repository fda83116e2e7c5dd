package batch_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/manifest"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/batch/jsonlstore"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// The crash test and the memory benchmark run Run in a child process: the
// test binary started again with -test.run=^TestHelperProcess$ and the
// settings below in its environment. The simulator stays in the parent, so
// its counters survive the child's death and its memory is not the child's.
const (
	envHelper  = "CATALOGVIDEO_BATCH_HELPER" // "crash", "finish" or "membench"
	envSimURL  = "CATALOGVIDEO_BATCH_SIM_URL"
	envSimKey  = "CATALOGVIDEO_BATCH_SIM_KEY"
	envStore   = "CATALOGVIDEO_BATCH_STORE"
	envHookURL = "CATALOGVIDEO_BATCH_HOOK_URL"
	envRows    = "CATALOGVIDEO_BATCH_ROWS"
	envRate    = "CATALOGVIDEO_BATCH_RATE"
	// envMemProfile names a file the memory benchmark's child writes its
	// heap profile to after the run (go tool pprof -sample_index=inuse_space).
	envMemProfile = "CATALOGVIDEO_BATCH_MEMPROFILE"
	manifestTag   = "crash"
)

// helper is a child process running TestHelperProcess.
type helper struct {
	cmd    *exec.Cmd
	addr   chan string // the webhook receiver's address, once
	mu     sync.Mutex
	output strings.Builder
	done   chan struct{}
}

// startHelper starts the test binary as a helper in the given mode.
func startHelper(t testing.TB, mode string, env map[string]string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envHelper+"="+mode)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, addr: make(chan string, 1), done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{h: h}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(h.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if addr, ok := strings.CutPrefix(line, "LISTEN "); ok {
				h.addr <- addr
			}
			h.mu.Lock()
			h.output.WriteString(line + "\n")
			h.mu.Unlock()
		}
	}()
	return h
}

type lockedWriter struct{ h *helper }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	return w.h.output.Write(p)
}

// wait waits for the helper to exit and returns its output.
func (h *helper) wait() (string, error) {
	<-h.done // stdout must be drained before Wait
	err := h.cmd.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.output.String(), err
}

// TestHelperProcess is not a test: it is the child process of the crash
// test and the memory benchmark, and does nothing unless started by them.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(envHelper)
	if mode == "" {
		t.Skip("helper process for TestCrashRecovery and BenchmarkRunMemory")
	}
	if err := runHelper(mode); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

func runHelper(mode string) error {
	ctx := context.Background()
	rows, err := strconv.Atoi(os.Getenv(envRows))
	if err != nil {
		return err
	}
	rate := math.Inf(1)
	if r := os.Getenv(envRate); r != "" {
		if rate, err = strconv.ParseFloat(r, 64); err != nil {
			return err
		}
	}
	client, err := creativeai.NewClient(os.Getenv(envSimKey), creativeai.WithBaseURL(os.Getenv(envSimURL)),
		creativeai.WithRetryPolicy(fastRetries))
	if err != nil {
		return err
	}
	var store jobs.Store
	if mode == "membench-discard" {
		store = discardStore{}
	} else {
		js, err := jsonlstore.Open(os.Getenv(envStore))
		if err != nil {
			return err
		}
		store = js
	}
	defer store.Close()
	cfg := batch.Config{Client: client, Store: store, Rate: rate, Concurrency: 8, WebhookURL: os.Getenv(envHookURL)}
	// The final run replays rows whose retries ran out, as an operator would.
	cfg.RetryFailed = mode == "finish"

	if strings.HasPrefix(mode, "membench") {
		return memBench(ctx, cfg, rows)
	}

	// The webhook receiver: apply the event, and answer 2xx only once the
	// store has made it durable.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var gen creativeai.Generation
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&gen); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if _, err := store.Apply(r.Context(), gen); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	fmt.Printf("LISTEN %s\n", ln.Addr())

	sum, err := batch.Run(ctx, cfg, generatedRows(rows))
	if err != nil {
		return err
	}
	fmt.Printf("RUN %+v\n", sum.Counts)
	if mode == "crash" {
		select {} // keep receiving webhooks until the parent kills us
	}
	// finish: poll for renders whose webhooks were given up on, until every
	// job has ended.
	for {
		if _, err := batch.Reconcile(ctx, batch.ReconcileConfig{Client: client, Store: store, Rate: math.Inf(1)}); err != nil {
			return err
		}
		open := 0
		for _, err := range store.List(ctx, jobs.Filter{Statuses: []jobs.Status{jobs.StatusPending, jobs.StatusProcessing}}) {
			if err != nil {
				return err
			}
			open++
		}
		if open == 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond) // renders take milliseconds; this is a poll interval
	}
}

func generatedRows(n int) func(yield func(manifest.Row, error) bool) {
	return func(yield func(manifest.Row, error) bool) {
		m, err := manifest.NewReader(newGeneratedManifest(n, manifestTag), "generated.csv")
		if err != nil {
			yield(manifest.Row{}, err)
			return
		}
		for row, err := range m.Rows() {
			if !yield(row, err) {
				return
			}
		}
	}
}

// memBench runs the rows while sampling the heap, and prints the peaks.
func memBench(ctx context.Context, cfg batch.Config, rows int) error {
	if os.Getenv(envMemProfile) != "" {
		runtime.MemProfileRate = 16 << 10 // finer than the default 512 KiB, for small per-row objects
	}
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
	}
	var peakHeap, peakTotal uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			peakHeap = max(peakHeap, samples[0].Value.Uint64())
			peakTotal = max(peakTotal, samples[1].Value.Uint64())
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	sum, err := batch.Run(ctx, cfg, generatedRows(rows))
	close(stop)
	<-sampled
	if err != nil {
		return err
	}
	if sum.Submitted != rows {
		return fmt.Errorf("submitted %d of %d rows: %+v", sum.Submitted, rows, sum.Counts)
	}
	fmt.Printf("PEAK heap=%d total=%d rss=%d elapsed=%s\n", peakHeap, peakTotal, peakRSS(), time.Since(start))
	if path := os.Getenv(envMemProfile); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		runtime.GC() // the profile shows what is live, as the peak held it
		return errors.Join(pprof.WriteHeapProfile(f), f.Close(), keepAlive(sum))
	}
	return nil
}

// peakRSS returns the process's peak resident set in bytes where the
// system tells it (Linux), or 0. Unlike the rusage a parent gets from wait,
// it does not count the parent's pages the child shared before exec.
func peakRSS() uint64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// discardStore keeps nothing: with it, the memory benchmark measures what Run
// itself holds. Only the methods Run calls work.
type discardStore struct{ jobs.Store }

func (discardStore) Get(context.Context, string) (jobs.Job, error) {
	return jobs.Job{}, jobs.ErrNotFound
}
func (discardStore) Track(_ context.Context, j jobs.Job) (jobs.Job, bool, error) {
	return j, true, nil
}
func (discardStore) RecordSubmission(_ context.Context, key string, sub jobs.Submission) (jobs.Job, error) {
	j := jobs.Job{Key: key, Status: jobs.StatusSubmitFailed}
	if sub.Generation != nil {
		j.GenerationID, j.Status = sub.Generation.ID, jobs.Status(sub.Generation.Status)
	}
	return j, nil
}
func (discardStore) Close() error { return nil }

// keepAlive keeps the summary live until the heap profile is written, as it
// is at the peak.
func keepAlive(sum *batch.Summary) error {
	runtime.KeepAlive(sum)
	return nil
}
