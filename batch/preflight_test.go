package batch_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

// storeCheck is a Preflighter over a made-up store: the SKUs in refuse are
// refused with their reason. It records the size of every call.
type storeCheck struct {
	mu     sync.Mutex
	refuse map[string]string
	fail   error
	calls  []int
}

func (c *storeCheck) Preflight(_ context.Context, rows []batch.PreflightRow) ([]error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, len(rows))
	if c.fail != nil {
		return nil, c.fail
	}
	errs := make([]error, len(rows))
	for i, r := range rows {
		if r.Key == "" || r.Row.Duration == 0 {
			return nil, fmt.Errorf("row %d came without its key or defaults: %+v", i, r)
		}
		if why, ok := c.refuse[r.Row.SKU]; ok {
			errs[i] = errors.New(why)
		}
	}
	return errs, nil
}

func (c *storeCheck) callSizes() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.calls...)
}

// preflightManifest has n rows SKU-000001… for shopify-pdp.
func preflightManifest(n int) string {
	var b strings.Builder
	b.WriteString("sku,image_url,video_prompt,collection,target_surface\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "SKU-%06d,https://cdn.example.com/%d.jpg,spin %d,,shopify-pdp\n", i, i, i)
	}
	return b.String()
}

func TestRunPreflightRefusesRowsBeforeSubmitting(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New()
	check := &storeCheck{refuse: map[string]string{
		"SKU-000002": "no product variant has SKU \"SKU-000002\"",
		"SKU-000077": "the product is full",
	}}
	cfg := batch.Config{
		Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited, Preflight: check,
		Budget: batch.Budget{PerRun: 100_000},
	}
	const rows = 120
	sum, err := batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", preflightManifest(rows)))
	if err != nil {
		t.Fatal(err)
	}
	if want := (batch.Counts{Submitted: rows - 2, SubmitFailed: 2}); sum.Counts != want {
		t.Fatalf("counts %+v, want %+v", sum.Counts, want)
	}
	if got := check.callSizes(); fmt.Sprint(got) != "[50 50 20]" {
		t.Errorf("preflight calls of %v rows, want [50 50 20]", got)
	}
	if st := sim.Stats(); st.Renders != rows-2 {
		t.Errorf("the simulator rendered %d, want %d: refused rows must not be sent", st.Renders, rows-2)
	}
	if want := 50 * (rows - 2); int(sum.Spend.RunReserved) != want || int(sum.EstimatedCost) != want {
		t.Errorf("reserved %s and estimated %s, want %d cents: refused rows reserve nothing", sum.Spend.RunReserved, sum.EstimatedCost, want)
	}
	for _, i := range []int{1, 76} {
		res := sum.Rows[i]
		if res.Outcome != batch.OutcomeSubmitFailed || res.Status != jobs.StatusSubmitFailed ||
			!strings.HasPrefix(res.Error, "preflight: ") || res.Cost != 0 || res.GenerationID != "" {
			t.Errorf("row %d: %+v, want submit_failed with a preflight: error and no cost", i, res)
		}
		j, err := store.Get(t.Context(), res.Key)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != jobs.StatusSubmitFailed || j.Error != res.Error || j.FailureClass != jobs.FailureInput ||
			j.PriceCents != 0 || j.SpendDay != "" || j.Submitted() {
			t.Errorf("job %s: %+v, want submit_failed (input), nothing reserved", j.Key, j)
		}
	}
	if !strings.Contains(sum.Rows[1].Error, `"SKU-000002"`) {
		t.Errorf("error %q does not say why", sum.Rows[1].Error)
	}

	// A rerun checks nothing that is already done or failed.
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", preflightManifest(rows)))
	if err != nil {
		t.Fatal(err)
	}
	if want := (batch.Counts{Skipped: rows}); sum.Counts != want {
		t.Errorf("rerun: %+v, want %+v", sum.Counts, want)
	}
	if got := check.callSizes(); len(got) != 3 {
		t.Errorf("a rerun of tracked rows called preflight: %v", got)
	}

	// Once the store is fixed, RetryFailed checks and submits them.
	check.mu.Lock()
	delete(check.refuse, "SKU-000002")
	check.mu.Unlock()
	cfg.RetryFailed = true
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", preflightManifest(rows)))
	if err != nil {
		t.Fatal(err)
	}
	if want := (batch.Counts{Replayed: 1, SubmitFailed: 1, Skipped: rows - 2}); sum.Counts != want {
		t.Errorf("retry after a fix: %+v, want %+v", sum.Counts, want)
	}
	// They are in different batches of PreflightBatch rows read.
	if got := check.callSizes(); fmt.Sprint(got[3:]) != "[1 1]" {
		t.Errorf("retry checked %v rows, want the 2 failed ones, one per batch", got[3:])
	}
	if st := sim.Stats(); st.Renders != rows-1 {
		t.Errorf("renders %d, want %d", st.Renders, rows-1)
	}
}

func TestRunPreflightFailureSubmitsNothing(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New()
	down := errors.New("shopify: 503 Service Unavailable")
	check := &storeCheck{fail: down}
	sum, err := batch.Run(t.Context(), batch.Config{
		Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited, Preflight: check,
	}, manifestRows(t, "m.csv", preflightManifest(60)))
	if !errors.Is(err, down) {
		t.Fatalf("Run error %v, want the preflight's", err)
	}
	if sim.Stats().Renders != 0 || len(jobsOf(t, store)) != 0 {
		t.Errorf("%d renders and %d jobs after a failed preflight, want none", sim.Stats().Renders, len(jobsOf(t, store)))
	}
	if sum.Interrupted != 50 || sum.Total() != 50 {
		t.Errorf("counts %+v, want the 50 checked rows interrupted and the rest unread", sum.Counts)
	}
	if got := check.callSizes(); len(got) != 1 {
		t.Errorf("preflight called %d times after failing, want once", len(got))
	}
}

func TestRunPreflightSkippedInDryRun(t *testing.T) {
	check := &storeCheck{refuse: map[string]string{"SKU-000001": "no"}}
	sum, err := batch.Run(t.Context(), batch.Config{DryRun: true, Preflight: check}, manifestRows(t, "m.csv", preflightManifest(3)))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Planned != 3 || len(check.callSizes()) != 0 {
		t.Errorf("dry run: %+v with %d preflight calls, want 3 planned and none", sum.Counts, len(check.callSizes()))
	}
}
