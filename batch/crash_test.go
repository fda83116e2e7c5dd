package batch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/jsonlstore"
	"github.com/creativeai-run/catalogvideo/batch/manifest"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

// ackedUpdate is a webhook event the child's receiver answered 2xx: the
// store promised it was durable.
type ackedUpdate struct {
	id     string
	status creativeai.Status
}

// webhookRelay stands between the simulator and the current child: the
// simulator is given one webhook URL for the whole test while children come
// and go. It forwards each delivery to the child alive, answers 503 when
// there is none, and records what the child acknowledged.
type webhookRelay struct {
	target atomic.Pointer[string]
	mu     sync.Mutex
	acked  []ackedUpdate
}

func (rl *webhookRelay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := rl.target.Load()
	if target == nil {
		http.Error(w, "no receiver running", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, "http://"+*target+"/", bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		var gen creativeai.Generation
		if err := json.Unmarshal(body, &gen); err == nil {
			rl.mu.Lock()
			rl.acked = append(rl.acked, ackedUpdate{gen.ID, gen.Status})
			rl.mu.Unlock()
		}
	}
	w.WriteHeader(resp.StatusCode)
}

func (rl *webhookRelay) ackedSoFar() []ackedUpdate {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return append([]ackedUpdate(nil), rl.acked...)
}

// TestCrashRecovery kills a process that submits rows and applies webhook
// events with SIGKILL at random points, at least 20 times, and checks after
// each kill that the job file holds every row at most once, that no row was
// rendered twice, and that every update the process acknowledged survived.
// A last run then finishes the batch, after which every row is tracked
// exactly once and has ended.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills 25 processes")
	}
	const (
		rows   = 300
		rounds = 25
	)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))

	relay := &webhookRelay{}
	hooks := httptest.NewServer(relay)
	t.Cleanup(hooks.Close)
	sim := newSim(t, creativeaitest.WithSeed(seed), creativeaitest.WithRenderTime(40*time.Millisecond),
		creativeaitest.WithWebhookRetrySchedule(repeat(50, 20*time.Millisecond)...),
		creativeaitest.WithWebhookDuplicates(0.05), creativeaitest.WithWebhookReorder(true),
		creativeaitest.WithFaults(creativeaitest.Faults{Error502AfterCreate: 0.05, DropConnection: 0.02}))
	path := filepath.Join(t.TempDir(), "video-jobs.jsonl")
	env := map[string]string{
		envSimURL: sim.URL, envSimKey: sim.APIKey, envStore: path, envHookURL: hooks.URL,
		envRows: strconv.Itoa(rows), envRate: "200",
	}
	wantKeys := make(map[string]bool)
	for row, err := range generatedRows(rows) {
		if err != nil {
			t.Fatal(err)
		}
		wantKeys[manifest.RowKey(row, manifest.Defaults{})] = true
	}

	for round := range rounds {
		h := startHelper(t, "crash", env)
		var addr string
		select {
		case addr = <-h.addr:
		case <-h.done:
			out, err := h.wait()
			t.Fatalf("round %d: helper exited early: %v\n%s", round, err, out)
		}
		relay.target.Store(&addr)
		// Kill at a random point: during Run in the early rounds, during
		// webhook application in all of them.
		time.Sleep(time.Duration(rng.Int64N(int64(150 * time.Millisecond))))
		if err := h.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		relay.target.Store(nil)
		out, err := h.wait()
		var exit interface{ ExitCode() int }
		if !errors.As(err, &exit) || exit.ExitCode() != -1 {
			t.Fatalf("round %d: helper ended with %v, not killed:\n%s", round, err, out)
		}
		tracked := checkJobFile(t, path, sim, relay.ackedSoFar(), wantKeys, false)
		t.Logf("round %d: %d rows tracked, %d renders, %d updates acknowledged", round, tracked, sim.Stats().Renders, len(relay.ackedSoFar()))
	}

	h := startHelper(t, "finish", env)
	select {
	case addr := <-h.addr:
		relay.target.Store(&addr)
	case <-h.done:
	}
	out, err := h.wait()
	relay.target.Store(nil)
	if err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	checkJobFile(t, path, sim, relay.ackedSoFar(), wantKeys, true)
	st := sim.Stats()
	t.Logf("simulator: %d renders, %d idempotent replays, %d webhook deliveries (%d acknowledged), faults %+v",
		st.Renders, st.IdempotentReplays, st.Deliveries, st.DeliveriesSucceeded, st.Faults)
	if st.Renders != rows {
		t.Errorf("%d renders for %d rows", st.Renders, rows)
	}
	if len(relay.ackedSoFar()) == 0 {
		t.Error("no webhook was acknowledged: the test did not exercise event application")
	}
}

func repeat(n int, d time.Duration) []time.Duration {
	ds := make([]time.Duration, n)
	for i := range ds {
		ds[i] = d
	}
	return ds
}

// checkJobFile opens the job file the dead child left and checks it against
// the simulator and the acknowledged updates. With final, every row must be
// tracked, submitted and finished.
func checkJobFile(t *testing.T, path string, sim *creativeaitest.Server, acked []ackedUpdate, wantKeys map[string]bool, final bool) int {
	t.Helper()
	store, err := jsonlstore.Open(path)
	if err != nil {
		t.Fatalf("reopening the job file after the crash: %v", err)
	}
	defer store.Close()
	ctx := context.Background()

	seen := make(map[string]bool)
	submitted := 0
	for job, err := range store.List(ctx, jobs.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[job.Key] {
			t.Errorf("row %s is tracked twice", job.Key)
		}
		seen[job.Key] = true
		if !wantKeys[job.Key] {
			t.Errorf("job %s is no row of the manifest", job.Key)
		}
		switch {
		case job.Submitted():
			submitted++
			if _, ok := sim.Generation(job.GenerationID); !ok {
				t.Errorf("job %s records generation %s, which the service never made", job.Key, job.GenerationID)
			}
		case job.Status != jobs.StatusPending:
			t.Errorf("job %s is %s without a generation", job.Key, job.Status)
		}
		if final && (!job.Submitted() || !job.Status.Terminal()) {
			t.Errorf("after the final run job %s is %s (generation %q)", job.Key, job.Status, job.GenerationID)
		}
	}
	st := sim.Stats()
	if st.DuplicateRenders != 0 {
		t.Errorf("the service rendered %d rows twice", st.DuplicateRenders)
	}
	// Each render belongs to a tracked row: a row is tracked before its
	// render is requested.
	if st.Renders > len(seen) {
		t.Errorf("%d renders but only %d rows tracked", st.Renders, len(seen))
	}
	for _, a := range acked {
		job, err := store.GetByGenerationID(ctx, a.id)
		if errors.Is(err, jobs.ErrNotFound) && !final {
			// The event arrived before the submission's answer was
			// recorded; it is kept and applied when the rerun records it.
			continue
		}
		if err != nil {
			t.Errorf("acknowledged %s for %s: %v", a.status, a.id, err)
			continue
		}
		if job.GenerationID != a.id {
			continue // an earlier attempt's event
		}
		if st := jobs.Status(a.status); job.Status != st && job.Status.Advances(st) || st.Terminal() && job.Status != st {
			t.Errorf("acknowledged %s for %s, but job %s is %s", a.status, a.id, job.Key, job.Status)
		}
		if a.status == creativeai.StatusCompleted && job.OutputURL == "" {
			t.Errorf("acknowledged completion of %s, but job %s has no output URL", a.id, job.Key)
		}
	}
	if final {
		if len(seen) != len(wantKeys) {
			t.Errorf("%d rows tracked, want %d", len(seen), len(wantKeys))
		}
		for _, g := range sim.Generations() {
			if _, err := store.GetByGenerationID(ctx, g.ID); err != nil {
				t.Errorf("render %s is not tracked: %v", g.ID, err)
			}
		}
	}
	return len(seen)
}
