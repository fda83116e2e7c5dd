package batch_test

import (
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

// TestRunUnderFaults submits 200 rows to a service that answers 5% of
// requests with a 500, 5% with a 502 after creating the render, 5% with a
// 429, and drops 3% of connections. Rows whose retries run out are replayed
// with RetryFailed, as an operator would. In the end every row is tracked
// once with a generation, and no input was rendered twice.
func TestRunUnderFaults(t *testing.T) {
	const rows = 200
	sim := newSim(t, creativeaitest.WithManualRender(), creativeaitest.WithSeed(20260311),
		creativeaitest.WithFaults(creativeaitest.Faults{Error500: 0.05, Error502AfterCreate: 0.05, Error429: 0.05, DropConnection: 0.03}))
	store := memstore.New()
	// One retry only, so that some rows run out of retries and take the
	// replay path, where a 502 after create must not become a second render.
	client := simClient(t, sim.URL, sim.APIKey, creativeai.WithRetryPolicy(creativeai.RetryPolicy{MaxRetries: 1, InitialDelay: time.Millisecond}))
	cfg := batch.Config{Client: client, Store: store, Rate: unlimited, Concurrency: 8}

	submitFailed := -1
	for round := 0; submitFailed != 0; round++ {
		if round == 10 {
			t.Fatalf("%d rows still submit_failed after %d runs", submitFailed, round)
		}
		sum, err := batch.Run(t.Context(), cfg, manifestFrom(t, newGeneratedManifest(rows, "faults")))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("run %d: %+v", round, sum.Counts)
		submitFailed = sum.SubmitFailed
		cfg.RetryFailed = true
	}

	jobList := jobsOf(t, store)
	keys := make(map[string]bool)
	gens := make(map[string]bool)
	for _, j := range jobList {
		if !j.Submitted() || j.Status != jobs.StatusPending || j.Attempt != 0 {
			t.Errorf("job %s: status %s, generation %q, attempt %d", j.Key, j.Status, j.GenerationID, j.Attempt)
		}
		if keys[j.Key] || gens[j.GenerationID] {
			t.Errorf("job %s or generation %s appears twice", j.Key, j.GenerationID)
		}
		keys[j.Key], gens[j.GenerationID] = true, true
	}
	st := sim.Stats()
	t.Logf("simulator: %d requests, %d renders, %d idempotent replays, faults %+v", st.Requests, st.Renders, st.IdempotentReplays, st.Faults)
	if len(jobList) != rows || st.Renders != rows || st.DuplicateRenders != 0 {
		t.Errorf("%d jobs, %d renders, %d duplicate renders; want %d, %d, 0", len(jobList), st.Renders, st.DuplicateRenders, rows, rows)
	}
	f := st.Faults
	if f.Error500 == 0 || f.Error502AfterCreate == 0 || f.Error429 == 0 || f.DropConnection == 0 {
		t.Errorf("not every kind of fault happened: %+v", f)
	}
}
