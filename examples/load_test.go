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
// that only verifies the signature, then to a durable receiver that also
// appends each event to a file and acknowledges it after a group-committed
// fsync (the least any server that keeps its answers can do on this disk),
// then to the real webhook-server on a
// JSONL job file of 20,000 submitted jobs, then to two webhook-servers
// sharing such a file (each event to one of them). Every completed job enters
// the delivery outbox (target meta-ads, delivered by the servers' workers
// from a local video server) while events keep coming. It reports each
// rate, the servers' rates as ratios of both receivers', the acknowledged
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
	t.Logf("verify-only receiver: %.0f events/s, %d rejected; CPU per event (this program) %.0f µs",
		base.rate, base.rejected, base.cpuPerEvent())

	// The least any receiver that keeps what it acknowledges does, on the
	// same disk: the bound the disk's fsync sets on the servers' ratios.
	journalPath := filepath.Join(t.TempDir(), "receiver.jsonl")
	journal := newGroupLog(t, journalPath)
	durable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			err = verifier.Verify(r.Header, body)
		}
		if err == nil {
			err = journal.append(body)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
		}
	}))
	defer durable.Close()
	floor := loadRun(t, events, senders, func(int) string { return durable.URL }, secret)
	journaled, err := os.ReadFile(journalPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("durable receiver (verify, append, group-committed fsync): %.0f events/s = %.2f of the receiver; "+
		"%.1f events per fsync; CPU per event (this program) %.0f µs; %d rejected",
		floor.rate, floor.rate/base.rate, float64(len(floor.acked))/float64(max(1, journal.syncs)), floor.cpuPerEvent(), floor.rejected)
	if n := bytes.Count(journaled, []byte("\n")); n != len(floor.acked) || floor.rejected != 0 {
		t.Errorf("durable receiver: %d lines for %d acknowledged, %d rejected", n, len(floor.acked), floor.rejected)
	}

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
		before := serverCPU(procs)
		res := loadRun(t, events, senders, func(i int) string { return urls[i%len(urls)] }, secret)
		cpu := serverCPU(procs) - before
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
		t.Logf("JSONL, %d webhook-server(s) on one file: %.0f events/s = %.2f of the receiver, %.2f of the durable receiver; "+
			"%d acknowledged, %d lost, %d rejected; meanwhile %d delivered; CPU per event: servers %.0f µs, this program (senders, video server) %.0f µs",
			servers, res.rate, res.rate/base.rate, res.rate/floor.rate, len(res.acked), lost, res.rejected, delivered, perEvent(cpu), res.cpuPerEvent())
		if lost != 0 || res.rejected != 0 || base.rejected != 0 {
			t.Errorf("%d lost, %d rejected (receiver: %d); want none", lost, res.rejected, base.rejected)
		}
	}
}

type loadResult struct {
	rate     float64 // acknowledged events per second
	rejected int64   // answers other than 2xx
	acked    []event
	cpu      time.Duration // this process's CPU time during the run
}

// cpuPerEvent is the load program's CPU time per acknowledged event, in µs.
func (r loadResult) cpuPerEvent() float64 {
	return float64(r.cpu.Microseconds()) / float64(max(1, len(r.acked)))
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
	start, cpu := time.Now(), processCPU("self")
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
	return loadResult{rate: float64(len(acked)) / time.Since(start).Seconds(), rejected: rejected.Load(), acked: acked,
		cpu: processCPU("self") - cpu}
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

// groupLog is the least a receiver that keeps what it acknowledges does,
// the reference receiver: it appends each body as a line and
// answers once an fsync that began after the line was written has ended.
// One goroutine writes and syncs whatever lines wait each time; running
// fsyncs side by side was tried and is slower (one line per fsync: they
// queue at the file system's journal anyway).
type groupLog struct {
	f *os.File

	mu      sync.Mutex
	pending []byte
	synced  chan struct{} // closed when the lines in pending are synced
	err     error         // the first write or sync error; sticky
	busy    bool          // the flush goroutine runs
	syncs   int
}

func newGroupLog(t *testing.T, path string) *groupLog {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &groupLog{f: f, synced: make(chan struct{})}
}

// append writes line and returns once it is synced.
func (l *groupLog) append(line []byte) error {
	l.mu.Lock()
	l.pending = append(append(l.pending, line...), '\n')
	synced := l.synced
	if !l.busy {
		l.busy = true
		go l.flush()
	}
	l.mu.Unlock()
	<-synced
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func (l *groupLog) flush() {
	var spare []byte
	for {
		l.mu.Lock()
		if len(l.pending) == 0 {
			l.busy = false
			l.mu.Unlock()
			return
		}
		lines, synced := l.pending, l.synced
		l.pending, l.synced = spare[:0], make(chan struct{})
		l.syncs++
		l.mu.Unlock()
		_, err := l.f.Write(lines)
		if err == nil {
			err = l.f.Sync()
		}
		l.mu.Lock()
		if l.err == nil {
			l.err = err
		}
		l.mu.Unlock()
		close(synced)
		spare = lines
	}
}
