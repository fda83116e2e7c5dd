package batch_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

// submitSeed runs the seed manifest without a webhook URL and returns the
// jobs by SKU.
func submitSeed(t *testing.T, client *creativeai.Client, store jobs.Store) map[string]jobs.Job {
	t.Helper()
	if _, err := batch.Run(t.Context(), batch.Config{Client: client, Store: store, Rate: unlimited},
		manifestRows(t, "m.csv", seedManifest)); err != nil {
		t.Fatal(err)
	}
	bySKU := make(map[string]jobs.Job)
	for _, j := range jobsOf(t, store) {
		bySKU[j.SKU] = j
	}
	return bySKU
}

func TestReconcileAppliesPolls(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	client := simClient(t, sim.URL, sim.APIKey)
	store := memstore.New()
	jobList := submitSeed(t, client, store)

	if err := sim.Complete(jobList["SKU-1001"].GenerationID); err != nil {
		t.Fatal(err)
	}
	if err := sim.Fail(jobList["SKU-1003"].GenerationID, "provider timeout after retry budget"); err != nil {
		t.Fatal(err)
	}
	cfg := batch.ReconcileConfig{Client: client, Store: store, Rate: unlimited}
	res, err := batch.Reconcile(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := (batch.ReconcileResult{Polled: 3, Changed: 2}); res != want {
		t.Errorf("first pass %+v, want %+v", res, want)
	}
	done, _ := store.Get(t.Context(), jobList["SKU-1001"].Key)
	gen, _ := sim.Generation(done.GenerationID)
	if done.Status != jobs.StatusCompleted || done.OutputURL != gen.OutputURL || done.OutputURL == "" ||
		done.Delivery != jobs.DeliveryPending || done.CompletedAt.IsZero() {
		t.Errorf("completed job %+v: want completed with the output URL, in the outbox", done)
	}
	failed, _ := store.Get(t.Context(), jobList["SKU-1003"].Key)
	if failed.Status != jobs.StatusFailed || failed.Error != "provider timeout after retry budget" {
		t.Errorf("failed job %+v", failed)
	}

	// Finished jobs are not polled again; the pending one is, unchanged.
	polls := sim.Stats().Polls
	res, err = batch.Reconcile(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := (batch.ReconcileResult{Polled: 1}); res != want || sim.Stats().Polls != polls+1 {
		t.Errorf("second pass %+v with %d polls, want %+v with 1", res, sim.Stats().Polls-polls, want)
	}

	// Jobs updated more recently than OlderThan wait for their webhook.
	cfg.OlderThan = time.Hour
	if res, err := batch.Reconcile(t.Context(), cfg); err != nil || res != (batch.ReconcileResult{}) {
		t.Errorf("with OlderThan 1h: %+v, %v; want nothing polled", res, err)
	}
	cfg.Clock = jobs.ClockFunc(func() time.Time { return time.Now().Add(2 * time.Hour) })
	if res, err := batch.Reconcile(t.Context(), cfg); err != nil || res.Polled != 1 {
		t.Errorf("two hours later: %+v, %v; want the pending job polled", res, err)
	}
}

func TestReconcileErrors(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	client := simClient(t, sim.URL, sim.APIKey)
	store := memstore.New()
	submitSeed(t, client, store)

	// A generation the service does not know is counted and left alone.
	lost, _, err := store.Track(t.Context(), jobs.Job{Key: "LOST#1", SKU: "LOST", Status: jobs.StatusPending})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.RecordSubmission(t.Context(), lost.Key, jobs.Submission{
		Generation: &creativeai.Generation{ID: "vgen_unknown", Status: creativeai.StatusPending}}); err != nil {
		t.Fatal(err)
	}
	cfg := batch.ReconcileConfig{Client: client, Store: store, Rate: unlimited}
	res, err := batch.Reconcile(t.Context(), cfg)
	if err != nil || res != (batch.ReconcileResult{Polled: 3, NotFound: 1}) {
		t.Errorf("Reconcile = %+v, %v; want 3 polled and 1 not found", res, err)
	}
	if j, _ := store.Get(t.Context(), lost.Key); j.Status != jobs.StatusPending {
		t.Errorf("the unknown generation's job became %s", j.Status)
	}

	// Polls that fail are counted, and the pass reports them.
	sim.SetFaults(creativeaitest.Faults{Error500: 1})
	res, err = batch.Reconcile(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "4 of 4 polls failed") || res.Failed != 4 {
		t.Errorf("Reconcile with the service down = %+v, %v", res, err)
	}

	for _, bad := range []batch.ReconcileConfig{
		{Store: store},
		{Client: client},
		{Client: client, Store: store, OlderThan: -time.Second},
		{Client: client, Store: store, Rate: -1},
	} {
		if _, err := batch.Reconcile(t.Context(), bad); err == nil {
			t.Errorf("Reconcile(%+v) accepted an invalid config", bad)
		}
	}
	if err := batch.ReconcileLoop(t.Context(), cfg); err == nil {
		t.Error("ReconcileLoop accepted a zero interval")
	}
}

func TestReconcileLoop(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	synctest.Test(t, func(t *testing.T) {
		hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		client := simClient(t, sim.URL, sim.APIKey, creativeai.WithHTTPClient(hc))
		store := memstore.New()
		job := submitSeed(t, client, store)["SKU-1002"]

		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			done <- batch.ReconcileLoop(ctx, batch.ReconcileConfig{Client: client, Store: store, Rate: unlimited, Interval: time.Minute})
		}()
		synctest.Wait() // the first pass has run
		if err := sim.Complete(job.GenerationID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute - time.Nanosecond)
		synctest.Wait()
		if j, _ := store.Get(t.Context(), job.Key); j.Status != jobs.StatusPending {
			t.Fatalf("polled before the interval passed: %s", j.Status)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if j, _ := store.Get(t.Context(), job.Key); j.Status != jobs.StatusCompleted {
			t.Errorf("after one interval the job is %s, want completed", j.Status)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ReconcileLoop returned %v after cancel, want nil", err)
		}
	})
}
