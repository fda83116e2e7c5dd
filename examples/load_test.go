package examples_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/examples/internal/cli"
	"github.com/creativeai-run/catalogvideo/webhook"
)

// loadEnv turns TestLoadWebhookServer on; it is a load program, not a test
// to run with the others.
const loadEnv = "CATALOGVIDEO_LOAD"

// TestLoadWebhookServer is the load program of issue #9: in one run it sends
// 10,000 signed completed events with 8 concurrent senders to a receiver
// that only verifies the signature, then to the real webhook-server on a
// JSONL job file of 20,000 submitted jobs, then to two webhook-servers
// sharing such a file (each event to one of them). Every completed job enters
// the delivery outbox (target meta-ads, delivered by the servers' workers
// from a local video server) while events keep coming. It reports each
// rate, the servers' rates as ratios of the receiver's, the acknowledged
// updates missing from the file afterwards (must be 0) and the deliveries
// answered with anything but 2xx (must be 0):
//
//	CATALOGVIDEO_LOAD=1 go test -run TestLoadWebhookServer -v ./examples/
func TestLoadWebhookServer(t *testing.T) {
	if os.Getenv(loadEnv) == "" {
		t.Skip("set " + loadEnv + "=1 to run the load program")
	}
	const (
		jobsN   = 20_000
		eventsN = 10_000
		senders = 8
		secret  = "load-program-secret"
	)
	videos := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		w.Write([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"))
	}))
	defer videos.Close()
	events := make([]event, eventsN)
	for i := range events {
		gen := creativeai.Generation{ID: fmt.Sprintf("vgen_load%05d", i), Object: "video.generation",
			Status: creativeai.StatusCompleted, OutputURL: videos.URL + "/v.mp4", CompletedAt: time.Date(2026, 3, 11, 8, 44, 3, 0, time.UTC)}
		body, err := json.Marshal(gen)
		if err != nil {
			t.Fatal(err)
		}
		events[i] = event{gen: gen, deliveryID: fmt.Sprintf("whd_load_%05d", i), body: body}
	}

	verifier, err := webhook.NewVerifier([]string{secret})
	if err != nil {
		t.Fatal(err)
	}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			err = verifier.Verify(r.Header, body)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
		}
	}))
	defer receiver.Close()
	base := loadRun(t, events, senders, func(int) string { return receiver.URL }, secret)
	t.Logf("verify-only receiver: %.0f events/s, %d rejected", base.rate, base.rejected)

	env := cleanEnv("CREATIVEAI_WEBHOOK_SECRET=" + secret)
	for _, servers := range []int{1, 2} {
		file := filepath.Join(t.TempDir(), "video-jobs.jsonl")
		writeLoadJobs(t, file, jobsN)
		var procs []*process
		var urls []string
		for range servers {
			p, u := startServer(t, env, "-jobs", file, "-poll-interval", "0", "-delivery-backoff", "100ms")
			procs = append(procs, p)
			urls = append(urls, u+cli.DefaultWebhookPath)
		}
		before, selfBefore := serverCPU(procs), processCPU("self")
		res := loadRun(t, events, senders, func(i int) string { return urls[i%len(urls)] }, secret)
		cpu, self := serverCPU(procs)-before, processCPU("self")-selfBefore
		delivered := 0
		for _, p := range procs {
			delivered += strings.Count(p.stderr.String(), "msg=delivered ")
		}
		for i, p := range procs {
			if code := p.stop(syscall.SIGTERM, time.Minute); code != 0 {
				t.Errorf("server %d exited %d\nstderr:\n%s", i, code, p.stderr)
			}
		}
		lost := countLost(t, file, res.acked)
		perEvent := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(max(1, len(res.acked))) }
		t.Logf("JSONL, %d webhook-server(s) on one file: %.0f events/s = %.2f of the receiver; %d acknowledged, %d lost, %d rejected; "+
			"meanwhile %d delivered; CPU per event: servers %.0f µs, this program (senders, video server) %.0f µs",
			servers, res.rate, res.rate/base.rate, len(res.acked), lost, res.rejected, delivered, perEvent(cpu), perEvent(self))
		if lost != 0 || res.rejected != 0 || base.rejected != 0 {
			t.Errorf("%d lost, %d rejected (receiver: %d); want none", lost, res.rejected, base.rejected)
		}
	}
}

type loadResult struct {
	rate     float64 // acknowledged events per second
	rejected int64   // answers other than 2xx
	acked    []event
}

// loadRun sends every event once, with senders goroutines, to the URL
// target picks for its index.
func loadRun(t *testing.T, events []event, senders int, target func(i int) string, secret string) loadResult {
	t.Helper()
	transport := &http.Transport{MaxIdleConnsPerHost: senders}
	client := &http.Client{Timeout: time.Minute, Transport: transport}
	defer transport.CloseIdleConnections()
	var (
		next     atomic.Int64
		rejected atomic.Int64
		mu       sync.Mutex
		acked    []event
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range senders {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(events) {
					return
				}
				code, err := send(t.Context(), client, target(i), secret, events[i])
				if err != nil {
					t.Errorf("event %d: %v", i, err)
					return
				}
				if code/100 != 2 {
					rejected.Add(1)
					continue
				}
				mu.Lock()
				acked = append(acked, events[i])
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return loadResult{rate: float64(len(acked)) / time.Since(start).Seconds(), rejected: rejected.Load(), acked: acked}
}

// writeLoadJobs writes n submitted jobs, generation vgen_load<i>, for the
// meta-ads surface, as the job file's own lines.
func writeLoadJobs(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	created := time.Date(2026, 3, 11, 8, 0, 0, 0, time.UTC)
	for i := range n {
		sku := fmt.Sprintf("SKU-%05d", i)
		j := jobs.Job{Key: sku + "#load", SKU: sku, TargetSurface: cli.SurfaceMetaAds, GenerationID: fmt.Sprintf("vgen_load%05d", i),
			Status: jobs.StatusProcessing, CreatedAt: created, UpdatedAt: created}
		if err := enc.Encode(j); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// countLost opens the job file and counts the acknowledged completions it
// does not hold.
func countLost(t *testing.T, path string, acked []event) int {
	t.Helper()
	store, _, err := cli.OpenStore(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	lost := 0
	for _, e := range acked {
		j, err := store.GetByGenerationID(t.Context(), e.gen.ID)
		if err != nil || j.Status != jobs.StatusCompleted || j.OutputURL != e.gen.OutputURL {
			lost++
		}
	}
	return lost
}

// serverCPU returns the CPU time the processes have used so far. It
// brackets a run, so that the servers' start (reading the job file) is left
// out.
func serverCPU(procs []*process) time.Duration {
	var total time.Duration
	for _, p := range procs {
		total += processCPU(strconv.Itoa(p.cmd.Process.Pid))
	}
	return total
}

// processCPU returns the CPU time (user and system) the process /proc/pid
// has used so far; 0 where /proc cannot be read.
func processCPU(pid string) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime and stime fields 14 and 15, in
	// clock ticks (USER_HZ, 100 a second on Linux).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
