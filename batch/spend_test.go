package batch_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/batch/storetest"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

// flatPricing makes a clip cost 50 cents and a still 30.
var flatPricing = creativeai.Pricing{Clip: 50, Still: 30}

// manifestOf returns a manifest of n rows; rows whose number is in stills
// also ask for a refreshed still.
func manifestOf(n int, prefix string, stills ...int) string {
	var b strings.Builder
	b.WriteString("sku,image_url,video_prompt,still_prompt\n")
	for i := 1; i <= n; i++ {
		still := ""
		for _, s := range stills {
			if s == i {
				still = "studio still on white"
			}
		}
		fmt.Fprintf(&b, "%s-%03d,https://cdn.example.com/%s-%d.jpg,slow push,%s\n", prefix, i, prefix, i, still)
	}
	return b.String()
}

func TestRunBudgetPerRun(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New()
	cfg := batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited, Concurrency: 1,
		Pricing: flatPricing, Budget: batch.Budget{PerRun: 180}}
	// Rows 1 and 2 cost 50, row 3 costs 80 (clip and still): 180 in all;
	// rows 4 and 5 do not fit.
	manifest := manifestOf(5, "R", 3)
	sum, err := batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", manifest))
	if err != nil {
		t.Fatal(err)
	}
	if want := (batch.Counts{Submitted: 3, Held: 2}); sum.Counts != want {
		t.Fatalf("counts %+v, want %+v", sum.Counts, want)
	}
	for _, r := range sum.Rows[3:] {
		if r.Outcome != batch.OutcomeHeld || !strings.Contains(r.Error, "per-run cap of $1.80") || r.Status != jobs.StatusPending {
			t.Errorf("row %d: %s %s %q; want held, pending, with the per-run cap named", r.Line, r.Outcome, r.Status, r.Error)
		}
	}
	if sum.Spend.RunReserved != 180 || sum.Spend.RunRemaining() != 0 {
		t.Errorf("run reserved %s, remaining %s; want $1.80 and nothing left", sum.Spend.RunReserved, sum.Spend.RunRemaining())
	}
	if !strings.Contains(sum.String(), "spend: run $1.80 reserved of $1.80 ($0.00 left)") {
		t.Errorf("summary lacks the spend line:\n%s", sum)
	}
	if st := sim.Stats(); st.Renders != 3 || st.Images != 1 {
		t.Errorf("the service rendered %d clips and %d stills, want 3 and 1", st.Renders, st.Images)
	}
	// Held rows are tracked, untouched: pending, unsubmitted, no price.
	for _, j := range jobsOf(t, store) {
		switch {
		case j.Submitted() && j.PriceCents == 0:
			t.Errorf("submitted job %s has no price recorded", j.Key)
		case !j.Submitted() && (j.Status != jobs.StatusPending || j.PriceCents != 0):
			t.Errorf("held job %s: %s, price %d; want pending without a reservation", j.Key, j.Status, j.PriceCents)
		}
	}
	if j, _ := store.Get(t.Context(), sum.Rows[2].Key); j.PriceCents != 80 {
		t.Errorf("row with a still: price %d, want 80 (clip and still)", j.PriceCents)
	}

	// A later run with room submits the held rows and nothing else.
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", manifest))
	if err != nil {
		t.Fatal(err)
	}
	if want := (batch.Counts{Submitted: 2, Skipped: 3}); sum.Counts != want {
		t.Errorf("rerun: %+v, want %+v", sum.Counts, want)
	}
}

// TestRunBudgetPerDay runs across midnight in a named time zone with an
// injected clock, and settles renders in between: the daily cap counts what
// earlier runs reserved and spent, frees what the service did not bill, and
// starts afresh on the new day.
func TestRunBudgetPerDay(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	// 23:00 in New York on 30 November.
	clock := storetest.NewClock(time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC))
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New(memstore.WithClock(clock))
	client := simClient(t, sim.URL, sim.APIKey)
	cfg := batch.Config{Client: client, Store: store, Rate: unlimited, Pricing: flatPricing, Clock: clock,
		Budget: batch.Budget{PerDay: 100, Location: ny}}

	sum, err := batch.Run(t.Context(), cfg, manifestRows(t, "a.csv", manifestOf(3, "A")))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Submitted != 2 || sum.Held != 1 || sum.Spend.Day != (jobs.DaySpend{Day: "2026-11-30", Reserved: 100}) {
		t.Fatalf("first run: %+v, day %+v; want 2 submitted, 1 held, $1.00 reserved on 2026-11-30", sum.Counts, sum.Spend.Day)
	}
	// A second run the same day finds the day full.
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "b.csv", manifestOf(1, "B")))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Held != 1 || !strings.Contains(sum.Rows[0].Error, "daily cap of $1.00") {
		t.Fatalf("second run on a full day: %+v %q", sum.Counts, sum.Rows[0].Error)
	}

	// One render is refused and not billed: its room is free again.
	gens := sim.Generations()
	if err := sim.Fail(gens[0].ID, "moderation_blocked: refused by the safety filter; not billed"); err != nil {
		t.Fatal(err)
	}
	if err := sim.Complete(gens[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := batch.Reconcile(t.Context(), batch.ReconcileConfig{Client: client, Store: store, Rate: unlimited, Clock: clock}); err != nil {
		t.Fatal(err)
	}
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "b.csv", manifestOf(1, "B")))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Submitted != 1 || sum.Spend.Day != (jobs.DaySpend{Day: "2026-11-30", Reserved: 50, Spent: 50, Finished: 2, Refused: 1}) {
		t.Fatalf("after a render was not billed: %+v, day %+v; want B submitted, $0.50 reserved and $0.50 spent", sum.Counts, sum.Spend.Day)
	}
	if !strings.Contains(sum.String(), "day 2026-11-30 America/New_York $0.50 reserved, $0.50 spent of $1.00 ($0.00 left)") {
		t.Errorf("summary:\n%s", sum)
	}

	// Past midnight in New York (05:00 UTC) the held row of the first run
	// fits in the new day.
	clock.Advance(time.Hour)
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "a.csv", manifestOf(3, "A")))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Submitted != 1 || sum.Skipped != 2 || sum.Spend.Day != (jobs.DaySpend{Day: "2026-12-01", Reserved: 50}) {
		t.Errorf("the next day: %+v, day %+v; want the held row submitted on 2026-12-01", sum.Counts, sum.Spend.Day)
	}
}

// TestRunBudgetConcurrentRuns has two runs with many workers each share a
// store and a daily cap: together they never reserve a cent over it.
func TestRunBudgetConcurrentRuns(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New()
	cfg := batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited, Concurrency: 8,
		Pricing: flatPricing, Budget: batch.Budget{PerDay: 1000}}
	var wg sync.WaitGroup
	sums := make([]*batch.Summary, 2)
	for i := range sums {
		wg.Go(func() {
			sum, err := batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", manifestOf(30, fmt.Sprintf("P%d", i))))
			if err != nil {
				t.Error(err)
			}
			sums[i] = sum
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if submitted := sums[0].Submitted + sums[1].Submitted; submitted != 20 {
		t.Errorf("%d rows submitted, want 20 (the cap of $10.00 at $0.50 a clip)", submitted)
	}
	if held := sums[0].Held + sums[1].Held; held != 40 {
		t.Errorf("%d rows held, want 40", held)
	}
	var total creativeai.Cents
	for _, j := range jobsOf(t, store) {
		total += j.SpendOn(jobs.Day(time.Now(), nil)).Total()
	}
	if total != 1000 || sim.Stats().Renders != 20 {
		t.Errorf("%s reserved and %d renders; want exactly $10.00 and 20", total, sim.Stats().Renders)
	}
}

func TestRunBudgetDryRun(t *testing.T) {
	sum, err := batch.Run(t.Context(), batch.Config{DryRun: true, Concurrency: 1, Pricing: flatPricing, Budget: batch.Budget{PerRun: 130}},
		manifestRows(t, "m.csv", manifestOf(4, "D", 2)))
	if err != nil {
		t.Fatal(err)
	}
	if want := (batch.Counts{Planned: 2, Held: 2}); sum.Counts != want {
		t.Errorf("dry run under a cap: %+v, want %+v", sum.Counts, want)
	}
	if sum.EstimatedCost != 130 || !strings.Contains(sum.String(), "2 held by budget") {
		t.Errorf("dry run: estimated %s; summary:\n%s", sum.EstimatedCost, sum)
	}
}

func TestRunBudgetConfigErrors(t *testing.T) {
	for _, cfg := range []batch.Config{
		{DryRun: true, Budget: batch.Budget{PerRun: -1}},
		{DryRun: true, TransientRetry: batch.TransientRetry{MaxAttempts: -1}},
		{DryRun: true, PolicyBreaker: batch.PolicyBreaker{Share: 1.5}},
		{DryRun: true, RetryClasses: []jobs.FailureClass{"fatal"}},
	} {
		if _, err := batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", manifestOf(1, "E"))); err == nil {
			t.Errorf("Run(%+v): no error", cfg)
		}
	}
}

// failAndReconcile fails the render of each job named with message and
// lets Reconcile record it.
func failAndReconcile(t *testing.T, sim *creativeaitest.Server, cfg batch.Config, messages map[string]string) {
	t.Helper()
	for key, msg := range messages {
		j, err := cfg.Store.Get(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.Fail(j.GenerationID, msg); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := batch.Reconcile(t.Context(), batch.ReconcileConfig{Client: cfg.Client, Store: cfg.Store, Rate: unlimited, Clock: cfg.Clock}); err != nil {
		t.Fatal(err)
	}
}

// TestRunRetryClasses replays failed renders automatically when they are
// transient, after the backoff and up to the attempt limit, and otherwise
// only the classes RetryFailed names.
func TestRunRetryClasses(t *testing.T) {
	clock := storetest.NewClock(storetest.Epoch)
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New(memstore.WithClock(clock))
	cfg := batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited, Clock: clock,
		TransientRetry: batch.TransientRetry{MaxAttempts: 2, Backoff: 10 * time.Minute}}
	manifest := manifestOf(3, "C")
	sum, err := batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", manifest))
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{sum.Rows[0].Key, sum.Rows[1].Key, sum.Rows[2].Key}
	// Without caps the price is still recorded, with the job as tracked.
	if j, _ := store.Get(t.Context(), keys[0]); j.PriceCents != 50 || j.SpendDay != "2026-03-11" || !j.ReservedAt.Equal(storetest.Epoch) {
		t.Errorf("uncapped job: price %d on %q at %v; want 50 on 2026-03-11 at %v", j.PriceCents, j.SpendDay, j.ReservedAt, storetest.Epoch)
	}
	failAndReconcile(t, sim, cfg, map[string]string{
		keys[0]: "provider timeout after retry budget",
		keys[1]: "invalid_image_url: image_url could not be fetched (HTTP 404)",
		keys[2]: "content_policy_violation: the prompt was flagged",
	})
	for i, want := range []jobs.FailureClass{jobs.FailureTransient, jobs.FailureInput, jobs.FailurePolicy} {
		if j, _ := store.Get(t.Context(), keys[i]); j.FailureClass != want {
			t.Errorf("job %s failed with %q: class %q, want %q", j.Key, j.Error, j.FailureClass, want)
		}
	}
	outcomes := func(sum *batch.Summary) []batch.Outcome {
		return []batch.Outcome{sum.Rows[0].Outcome, sum.Rows[1].Outcome, sum.Rows[2].Outcome}
	}
	run := func() *batch.Summary {
		t.Helper()
		sum, err := batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", manifest))
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	// Before the backoff has passed nothing is replayed.
	clock.Advance(5 * time.Minute)
	if got := outcomes(run()); got[0] != batch.OutcomeSkipped {
		t.Errorf("before the backoff: %v, want the transient failure skipped", got)
	}
	clock.Advance(5 * time.Minute)
	if got := outcomes(run()); got[0] != batch.OutcomeReplayed || got[1] != batch.OutcomeSkipped || got[2] != batch.OutcomeSkipped {
		t.Errorf("after the backoff: %v, want only the transient failure replayed", got)
	}
	// It fails again: two attempts is the limit.
	failAndReconcile(t, sim, cfg, map[string]string{keys[0]: "render worker crashed"})
	clock.Advance(time.Hour)
	if got := outcomes(run()); got[0] != batch.OutcomeSkipped {
		t.Errorf("after the last attempt: %v, want it skipped", got)
	}
	// RetryFailed with classes replays only those.
	cfg.RetryFailed, cfg.RetryClasses = true, []jobs.FailureClass{jobs.FailureInput}
	if got := outcomes(run()); got[0] != batch.OutcomeSkipped || got[1] != batch.OutcomeReplayed || got[2] != batch.OutcomeSkipped {
		t.Errorf("RetryFailed for input: %v, want only the input failure replayed", got)
	}
	cfg.RetryClasses = nil
	if got := outcomes(run()); got[0] != batch.OutcomeReplayed || got[1] != batch.OutcomeSkipped || got[2] != batch.OutcomeReplayed {
		t.Errorf("RetryFailed for every class: %v, want the transient and policy failures replayed", got)
	}
}

// TestRunPolicyBreaker stops a run when refusals dominate the latest
// finished renders, and lets it go on when they do not.
func TestRunPolicyBreaker(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New()
	cfg := batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited, Concurrency: 1,
		PolicyBreaker: batch.PolicyBreaker{Window: 4, Share: 0.5}}
	sum, err := batch.Run(t.Context(), cfg, manifestRows(t, "a.csv", manifestOf(4, "A")))
	if err != nil {
		t.Fatal(err)
	}
	msgs := map[string]string{}
	for i, r := range sum.Rows {
		if i < 2 {
			msgs[r.Key] = "content_policy_violation: the prompt was flagged by the moderation system"
		} else if err := sim.Complete(r.GenerationID); err != nil {
			t.Fatal(err)
		}
	}
	failAndReconcile(t, sim, cfg, msgs)
	// Two refusals of four is not more than half: the run goes on.
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "b.csv", manifestOf(4, "B")))
	if err != nil || sum.Submitted != 4 {
		t.Fatalf("two refusals in four: %+v, %v; want all four submitted", sum.Counts, err)
	}
	// The next render is refused too: three of the last four.
	msgs = map[string]string{sum.Rows[0].Key: "moderation_blocked: refused by the safety filter"}
	failAndReconcile(t, sim, cfg, msgs)
	renders := sim.Stats().Renders
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "c.csv", manifestOf(3, "C")))
	if !errors.Is(err, batch.ErrPolicySpike) {
		t.Fatalf("error %v, want ErrPolicySpike", err)
	}
	if sum.Submitted != 0 || sim.Stats().Renders != renders || !strings.Contains(sum.Stopped, "3 of the last 4") {
		t.Errorf("after the spike: %+v, stopped %q; want nothing submitted and the reason given", sum.Counts, sum.Stopped)
	}
	if !strings.Contains(sum.String(), "stopped: batch: too many moderation refusals") {
		t.Errorf("summary does not say why it stopped:\n%s", sum)
	}
	// Turned off, the breaker lets the run go.
	cfg.PolicyBreaker.Window = -1
	if sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "c.csv", manifestOf(3, "C"))); err != nil || sum.Submitted != 3 {
		t.Errorf("breaker off: %+v, %v", sum.Counts, err)
	}
}

// TestRunPolicyBreakerMidRun trips the breaker while a run submits: the
// refusals arrive after it started, and it judges again once its interval
// has passed.
func TestRunPolicyBreakerMidRun(t *testing.T) {
	clock := storetest.NewClock(storetest.Epoch)
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New(memstore.WithClock(clock))
	cfg := batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited, Concurrency: 1, Clock: clock,
		PolicyBreaker: batch.PolicyBreaker{Window: 2, Share: 0.5, Interval: time.Minute}}
	var refused []string
	cfg.Progress = func(p batch.Progress) {
		// Each submitted row is refused at once; a minute passes.
		if p.Row.GenerationID != "" {
			refused = append(refused, p.Row.Key)
			failAndReconcile(t, sim, cfg, map[string]string{p.Row.Key: "content_policy_violation: flagged"})
			clock.Advance(time.Minute)
		}
	}
	sum, err := batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", manifestOf(6, "M")))
	if !errors.Is(err, batch.ErrPolicySpike) {
		t.Fatalf("error %v, want ErrPolicySpike", err)
	}
	// Two refusals fill the window of two: the third row is stopped.
	if sum.Submitted != 2 || len(refused) != 2 || sum.Rows[2].Outcome != batch.OutcomeInterrupted {
		t.Errorf("%+v, rows %+v; want two submitted and the third stopped", sum.Counts, sum.Rows)
	}
}

// TestRunCostsAtRecordedPrices changes Pricing between two runs: the costs
// in the second run's summary and in the store's totals are the prices
// recorded when each row was reserved, not today's. Run 1 is interrupted
// after reserving (at the old prices) and rendering the row's still, while
// its clip was in flight; run 2 resubmits that row on the old reservation,
// reusing the still, and a new row at the new prices.
func TestRunCostsAtRecordedPrices(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The first run's connection drops as the clip is sent, and the run is
	// stopped: its row stays pending with its reservation.
	dropping := simClient(t, sim.URL, sim.APIKey, creativeai.WithHTTPClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/video/generations") {
			cancel()
			return nil, context.Canceled
		}
		return http.DefaultTransport.RoundTrip(r)
	})}))
	old := creativeai.Pricing{Clip: 50, Still: 30}
	manifest := manifestOf(1, "P", 1)
	sum, err := batch.Run(ctx, batch.Config{Client: dropping, Store: store, Rate: unlimited, Pricing: old}, manifestRows(t, "a.csv", manifest))
	if !errors.Is(err, context.Canceled) || sum.Interrupted != 1 || sum.Rows[0].Cost != 30 {
		t.Fatalf("first run: %+v, row cost %s, %v; want the row interrupted after its $0.30 still", sum.Counts, sum.Rows[0].Cost, err)
	}

	// Prices change; the rerun sends the interrupted row on its old
	// reservation, and a new row at the new prices.
	current := creativeai.Pricing{Clip: 70, Still: 45}
	cfg := batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited, Concurrency: 1, Pricing: current}
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "a.csv", manifest+"P-002,https://cdn.example.com/P-2.jpg,slow push,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Submitted != 2 || sum.Rows[0].Cost != 50 || sum.Rows[1].Cost != 70 || sum.EstimatedCost != 120 {
		t.Errorf("rerun: %+v, costs %s and %s, total %s; want the old $0.50 clip for the row reserved at the old prices (its still is reused), $0.70 for the new row, $1.20 in all",
			sum.Counts, sum.Rows[0].Cost, sum.Rows[1].Cost, sum.EstimatedCost)
	}
	if sum.Spend.RunReserved != 120 {
		t.Errorf("rerun reserved %s against its budget, want the $1.20 its rows cost", sum.Spend.RunReserved)
	}
	for _, g := range sim.Generations() {
		if err := sim.Complete(g.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := batch.Reconcile(t.Context(), batch.ReconcileConfig{Client: cfg.Client, Store: store, Rate: unlimited}); err != nil {
		t.Fatal(err)
	}
	var total creativeai.Cents
	for _, j := range jobsOf(t, store) {
		total += j.Cost(current)
	}
	if total != 150 {
		t.Errorf("the store's jobs cost %s at the prices recorded on them, want $1.50 (at today's prices it would be $1.85)", total)
	}
	d, err := store.DaySpend(t.Context(), jobs.Day(time.Now(), nil))
	if err != nil || d.Spent != 150 || d.Finished != 2 {
		t.Errorf("DaySpend = %+v, %v; want $1.50 spent on two finished renders", d, err)
	}
}

// TestRunStillSpentWhenClipRefused renders a still and then has the service
// refuse the clip: the still was billed, so it stays spent, on the row's
// cost and on the day, where it takes room from the next row under the cap.
func TestRunStillSpentWhenClipRefused(t *testing.T) {
	// The simulator knows only kling-v3, so a clip for veo-3.1 is refused
	// with a 400 after its still was rendered.
	sim := newSim(t, creativeaitest.WithManualRender(), creativeaitest.WithModels("kling-v3"))
	store := memstore.New()
	cfg := batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited, Concurrency: 1,
		Pricing: flatPricing, Model: "veo-3.1", Budget: batch.Budget{PerDay: 100}}
	sum, err := batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", manifestOf(2, "S", 1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	first, second := sum.Rows[0], sum.Rows[1]
	if first.Outcome != batch.OutcomeSubmitFailed || first.Cost != 30 {
		t.Errorf("row 1: %s, cost %s; want submit_failed and the $0.30 still", first.Outcome, first.Cost)
	}
	// $0.30 spent and $0.80 more would pass the $1.00 cap.
	if second.Outcome != batch.OutcomeHeld || !strings.Contains(second.Error, "$0.30 of the daily cap") {
		t.Errorf("row 2: %s %q; want held, with the still's $0.30 counted on the day", second.Outcome, second.Error)
	}
	today := jobs.Day(time.Now(), nil)
	if d, err := store.DaySpend(t.Context(), today); err != nil || d != (jobs.DaySpend{Day: today, Spent: 30}) {
		t.Errorf("DaySpend = %+v, %v; want the still's $0.30 spent", d, err)
	}
	if sum.Spend.RunReserved != 30 || sum.Spend.Day.Spent != 30 || sum.Spend.Day.Reserved != 0 {
		t.Errorf("summary spend %+v; want the run's $0.30 still spent and nothing reserved", sum.Spend)
	}
	if st := sim.Stats(); st.Images != 1 || st.Renders != 0 {
		t.Errorf("the service made %d stills and %d clips, want 1 and 0", st.Images, st.Renders)
	}
	if j, _ := store.Get(t.Context(), first.Key); j.Cost(flatPricing) != 30 || !j.StillPaid {
		t.Errorf("job of row 1 costs %s (still paid %v), want $0.30", j.Cost(flatPricing), j.StillPaid)
	}
}

// listless is a store whose List fails: Run must judge refusals and read
// the day's totals without listing the jobs.
type listless struct{ jobs.Store }

func (listless) List(context.Context, jobs.Filter) iter.Seq2[jobs.Job, error] {
	return func(yield func(jobs.Job, error) bool) { yield(jobs.Job{}, errors.New("List called")) }
}

// TestRunSpendReadsNoJobs trips the breaker and totals a dry run's day on
// a store that cannot list: both read the store's day totals only.
func TestRunSpendReadsNoJobs(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New()
	cfg := batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited, Pricing: flatPricing}
	sum, err := batch.Run(t.Context(), cfg, manifestRows(t, "a.csv", manifestOf(5, "A")))
	if err != nil {
		t.Fatal(err)
	}
	msgs := map[string]string{}
	for _, r := range sum.Rows[:4] {
		msgs[r.Key] = "content_policy_violation: flagged"
	}
	failAndReconcile(t, sim, cfg, msgs)

	cfg.Store = listless{store}
	cfg.PolicyBreaker = batch.PolicyBreaker{Window: 4, Share: 0.5}
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "b.csv", manifestOf(2, "B")))
	if !errors.Is(err, batch.ErrPolicySpike) || !strings.Contains(sum.Stopped, "4 of the last 4") {
		t.Errorf("run after four refusals: %v, stopped %q; want ErrPolicySpike judged from the day's counts", err, sum.Stopped)
	}
	cfg.DryRun, cfg.Budget = true, batch.Budget{PerDay: 1000}
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "b.csv", manifestOf(2, "B")))
	if err != nil || sum.Planned != 2 || sum.Spend.Day.Reserved != 150 || sum.Spend.Day.Finished != 4 {
		t.Errorf("dry run: %+v, day %+v, %v; want 2 planned on the day's $0.50 reserved and four finished renders read from the store", sum.Counts, sum.Spend.Day, err)
	}
}
