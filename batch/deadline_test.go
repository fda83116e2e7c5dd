package batch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/batch/outbox"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
	"github.com/creativeai-run/catalogvideo/shopify"
)

// deadlineManifest is a manifest of n rows, each with a still prompt when
// stills is set.
func deadlineManifest(n int, stills bool) string {
	var b strings.Builder
	b.WriteString("sku,image_url,video_prompt,still_prompt\n")
	for i := range n {
		still := ""
		if stills {
			still = `"white sweep, softbox"`
		}
		fmt.Fprintf(&b, "SKU-%02d,https://cdn.example.com/%02d.jpg,slow push,%s\n", i, i, still)
	}
	return b.String()
}

// syncClient returns a client of sim usable inside a synctest bubble:
// connections kept alive would leave goroutines blocked on the network,
// which synctest cannot see through.
func syncClient(t *testing.T, sim *creativeaitest.Server) *creativeai.Client {
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	return simClient(t, sim.URL, sim.APIKey, creativeai.WithHTTPClient(hc))
}

// TestRunDeadlineBeforeToken runs rows at one call per second under a
// deadline that leaves room for three calls. rate.Limiter refuses the fourth
// call at once, while the context is still live (issue #16: Run used to
// dereference the nil cause and crash). The run must report the rows it did
// not submit as interrupted with the reason, keep every still it paid for
// on its job, and return an error wrapping context.DeadlineExceeded; a rerun
// must submit the rest without rendering anything twice.
func TestRunDeadlineBeforeToken(t *testing.T) {
	const (
		rows     = 12
		deadline = 2500 * time.Millisecond // tokens at 0s, 1s and 2s
		calls    = 3
	)
	for _, stills := range []bool{false, true} {
		for _, workers := range []int{1, 2, 4, 8} {
			t.Run(fmt.Sprintf("stills=%t/workers=%d", stills, workers), func(t *testing.T) {
				sim := newSim(t, creativeaitest.WithManualRender())
				store := memstore.New()
				pricing := creativeai.Pricing{Clip: 40, Still: 25}
				manifest := deadlineManifest(rows, stills)
				synctest.Test(t, func(t *testing.T) {
					client := syncClient(t, sim)
					ctx, cancel := context.WithTimeout(t.Context(), deadline)
					defer cancel()
					sum, err := batch.Run(ctx, batch.Config{
						Client: client, Store: store, Rate: 1, Concurrency: workers, Pricing: pricing,
					}, manifestRows(t, "m.csv", manifest))
					if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "rate limit") {
						t.Fatalf("Run = %v, want an error naming the rate limit and wrapping context.DeadlineExceeded", err)
					}
					if sum == nil {
						t.Fatal("Run returned no summary")
					}
					if sum.Elapsed > deadline {
						t.Errorf("the run took %s (virtual), past the %s deadline", sum.Elapsed, deadline)
					}
					checkDeadlineSummary(t, sum, sim.Stats(), pricing, stills)
					if !stills && sum.Submitted != calls {
						t.Errorf("%d rows submitted, want %d: one per token before the deadline", sum.Submitted, calls)
					}
				})
				st := sim.Stats()
				if st.Images+st.Renders != calls {
					t.Errorf("%d stills and %d clips rendered, want %d calls in all, one per token before the deadline", st.Images, st.Renders, calls)
				}
				checkStillsKept(t, store, st)

				// The rerun goes on from there: every row ends submitted,
				// and nothing is rendered twice, stills included.
				sum, err := batch.Run(t.Context(), batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited, Concurrency: workers},
					manifestRows(t, "m.csv", manifest))
				if err != nil {
					t.Fatal(err)
				}
				if sum.Submitted+sum.Skipped != rows || sum.Interrupted != 0 {
					t.Errorf("rerun: %+v, want all %d rows submitted or skipped", sum.Counts, rows)
				}
				st = sim.Stats()
				wantImages := 0
				if stills {
					wantImages = rows
				}
				if st.Renders != rows || st.DuplicateRenders != 0 || st.Images != wantImages {
					t.Errorf("after the rerun: %d clips (%d duplicates), %d stills; want %d, 0 and %d", st.Renders, st.DuplicateRenders, st.Images, rows, wantImages)
				}
				for _, j := range jobsOf(t, store) {
					gen, ok := sim.Generation(j.GenerationID)
					switch {
					case !j.Submitted() || !ok:
						t.Errorf("job %s not submitted after the rerun: %+v", j.Key, j)
					case stills && (j.StillURL == "" || gen.ImageURL != j.StillURL):
						t.Errorf("job %s: clip rendered from %q, want its still %q", j.Key, gen.ImageURL, j.StillURL)
					}
				}
			})
		}
	}
}

// checkDeadlineSummary checks a summary of a run stopped by the deadline:
// every row is submitted or interrupted with the reason, and the costs are
// those of the calls made.
func checkDeadlineSummary(t *testing.T, sum *batch.Summary, st creativeaitest.Stats, p creativeai.Pricing, stills bool) {
	t.Helper()
	if sum.Interrupted == 0 || sum.Total() != len(sum.Rows) || sum.Submitted+sum.Interrupted != sum.Total() {
		t.Errorf("counts %+v for %d rows: want only submitted and interrupted rows, some interrupted", sum.Counts, len(sum.Rows))
	}
	var cost creativeai.Cents
	for _, r := range sum.Rows {
		cost += r.Cost
		switch r.Outcome {
		case batch.OutcomeSubmitted:
			if r.GenerationID == "" {
				t.Errorf("row %s submitted without a generation: %+v", r.SKU, r)
			}
		case batch.OutcomeInterrupted:
			if r.GenerationID != "" || !strings.Contains(r.Error, "deadline") {
				t.Errorf("interrupted row %s: %+v; want no generation and the deadline named in the error", r.SKU, r)
			}
		default:
			t.Errorf("row %s: outcome %s", r.SKU, r.Outcome)
		}
	}
	if want := creativeai.Cents(st.Renders)*p.Clip + creativeai.Cents(st.Images)*p.Still; cost != want || sum.EstimatedCost != want {
		t.Errorf("row costs add up to %s, estimate %s; want %s for %d clips and %d stills", cost, sum.EstimatedCost, want, st.Renders, st.Images)
	}
	if stills {
		kept := 0
		for _, r := range sum.Rows {
			if strings.Contains(r.Error, "still rendered and kept") {
				kept++
			}
		}
		if kept != st.Images-st.Renders {
			t.Errorf("%d rows report a still kept without a clip, want %d (%d stills, %d clips)", kept, st.Images-st.Renders, st.Images, st.Renders)
		}
	}
}

// checkStillsKept checks that every still the service rendered is on a job,
// and that jobs without a generation are pending, for a rerun to submit.
func checkStillsKept(t *testing.T, store jobs.Store, st creativeaitest.Stats) {
	t.Helper()
	withStill := 0
	for _, j := range jobsOf(t, store) {
		if j.StillURL != "" {
			withStill++
		}
		if !j.Submitted() && (j.Status != jobs.StatusPending || j.Error != "") {
			t.Errorf("job %s without a generation is %s (%q); want pending, to be submitted again", j.Key, j.Status, j.Error)
		}
	}
	if withStill != st.Images {
		t.Errorf("%d jobs have a still, but %d were rendered: a still paid for was dropped", withStill, st.Images)
	}
}

// TestRunStillKeptOnInterrupt stops a run after a row's still is rendered
// and before its clip is answered: the job keeps the still, and the rerun
// renders the clip from it without paying for another.
func TestRunStillKeptOnInterrupt(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New()
	ctx, cancel := context.WithCancel(t.Context())
	transport := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/video/generations") {
			cancel() // the still is answered; the clip never is
			return nil, context.Canceled
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	client := simClient(t, sim.URL, sim.APIKey, creativeai.WithHTTPClient(&http.Client{Transport: transport}))
	manifest := deadlineManifest(1, true)
	sum, err := batch.Run(ctx, batch.Config{Client: client, Store: store, Rate: unlimited}, manifestRows(t, "m.csv", manifest))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if sum.Interrupted != 1 || !strings.Contains(sum.Rows[0].Error, "not answered") || sum.Rows[0].Cost != creativeai.DefaultPricing().Still {
		t.Fatalf("summary %+v: want the row interrupted, costing its still", sum.Rows)
	}
	jobList := jobsOf(t, store)
	if len(jobList) != 1 || jobList[0].StillURL == "" || jobList[0].Submitted() || jobList[0].Status != jobs.StatusPending {
		t.Fatalf("jobs %+v: want one pending job keeping its still", jobList)
	}
	still := jobList[0].StillURL

	sum, err = batch.Run(t.Context(), batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited},
		manifestRows(t, "m.csv", manifest))
	if err != nil || sum.Submitted != 1 || sum.Rows[0].Cost != creativeai.DefaultPricing().Clip {
		t.Fatalf("rerun: %+v, %v; want the row submitted, costing a clip only", sum.Rows, err)
	}
	job, _ := store.Get(t.Context(), jobList[0].Key)
	gen, _ := sim.Generation(job.GenerationID)
	if job.StillURL != still || gen.ImageURL != still {
		t.Errorf("rerun: job still %q, clip from %q; want both the first run's still %q", job.StillURL, gen.ImageURL, still)
	}
	if st := sim.Stats(); st.Images != 1 || st.IdempotentReplays != 0 {
		t.Errorf("%d stills rendered, %d replays; want the one still reused without asking again", st.Images, st.IdempotentReplays)
	}
}

// TestReconcileDeadlineBeforeToken polls at one call per second under a
// deadline that leaves room for three polls: Reconcile must return why it
// stopped, not nil, and the next pass goes on with the jobs left.
func TestReconcileDeadlineBeforeToken(t *testing.T) {
	const rows = 8
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New()
	if _, err := batch.Run(t.Context(), batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited},
		manifestRows(t, "m.csv", deadlineManifest(rows, false))); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobsOf(t, store) {
		if err := sim.Complete(j.GenerationID); err != nil {
			t.Fatal(err)
		}
	}
	for _, burst := range []int{1, 2} {
		t.Run(fmt.Sprintf("burst=%d", burst), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := batch.ReconcileConfig{Client: syncClient(t, sim), Store: store, Rate: 1, Burst: burst}
				left := rows - len(completed(t, store))
				ctx, cancel := context.WithTimeout(t.Context(), 2500*time.Millisecond)
				defer cancel()
				res, err := batch.Reconcile(ctx, cfg)
				want := min(left, 2+burst) // burst tokens at once, then one at 1s and 2s
				if res.Polled != want || res.Changed != want {
					t.Errorf("Reconcile under the deadline: %+v, want %d polled and changed", res, want)
				}
				if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), fmt.Sprintf("%d of %d jobs left", left-want, left)) {
					t.Errorf("Reconcile = %v; want the deadline and the %d of %d jobs left named", err, left-want, left)
				}
			})
		})
	}
	// A pass with time enough finishes what the cut-short ones left.
	res, err := batch.Reconcile(t.Context(), batch.ReconcileConfig{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited})
	if err != nil || res.Polled != rows-7 || len(completed(t, store)) != rows {
		t.Errorf("last pass: %+v, %v, %d of %d jobs completed; want the last %d polled and all completed", res, err, len(completed(t, store)), rows, rows-7)
	}
}

func completed(t *testing.T, store jobs.Store) []jobs.Job {
	var out []jobs.Job
	for _, j := range jobsOf(t, store) {
		if j.Status == jobs.StatusCompleted {
			out = append(out, j)
		}
	}
	return out
}

// TestReconcileCancelled checks that a pass cut short by its context
// returns the cause.
func TestReconcileCancelled(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	client := simClient(t, sim.URL, sim.APIKey)
	store := memstore.New()
	submitSeed(t, client, store)
	ctx, cancel := context.WithCancelCause(t.Context())
	why := errors.New("operator pressed ^C")
	cancel(why)
	res, err := batch.Reconcile(ctx, batch.ReconcileConfig{Client: client, Store: store, Rate: unlimited})
	if !errors.Is(err, why) || res.Polled != 0 {
		t.Errorf("Reconcile with a cancelled context: %+v, %v; want nothing polled and the cause", res, err)
	}
}

// TestDeliverAttemptTimeoutOutlastsPublisher keeps the default attempt
// timeout above the Shopify publisher's wait for processing, with room for
// the download and upload before it, and the default lease above both.
func TestDeliverAttemptTimeoutOutlastsPublisher(t *testing.T) {
	const transfer = 2 * time.Minute // a large clip, downloaded and uploaded
	if outbox.DefaultAttemptTimeout < shopify.DefaultProcessingTimeout+transfer {
		t.Errorf("DefaultAttemptTimeout %s leaves less than %s for the transfer after the publisher's %s wait for processing",
			outbox.DefaultAttemptTimeout, transfer, shopify.DefaultProcessingTimeout)
	}
	if outbox.DefaultLease <= outbox.DefaultAttemptTimeout {
		t.Errorf("DefaultLease %s does not exceed DefaultAttemptTimeout %s", outbox.DefaultLease, outbox.DefaultAttemptTimeout)
	}
}
