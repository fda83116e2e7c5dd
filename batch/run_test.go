package batch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/manifest"
	"github.com/creativeai-run/catalogvideo/batch/memstore"

	"github.com/google/go-cmp/cmp"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/batch/jsonlstore"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

var unlimited = math.Inf(1)

func TestRunSubmitsManifest(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New()
	var progress []batch.Progress
	sum, err := batch.Run(t.Context(), batch.Config{
		Client:     simClient(t, sim.URL, sim.APIKey),
		Store:      store,
		Rate:       unlimited,
		WebhookURL: "https://hooks.example.com/creativeai",
		Progress:   func(p batch.Progress) { progress = append(progress, p) },
	}, manifestRows(t, "product-videos.csv", seedManifest))
	if err != nil {
		t.Fatal(err)
	}
	if want := (batch.Counts{Submitted: 3}); sum.Counts != want {
		t.Errorf("counts %+v, want %+v", sum.Counts, want)
	}
	if sum.EstimatedCost != 150 {
		t.Errorf("estimated cost %s, want $1.50", sum.EstimatedCost)
	}
	if len(progress) != 3 || progress[2].Counts.Submitted != 3 {
		t.Errorf("progress calls %+v, want 3 ending with 3 submitted", progress)
	}

	jobList := make(map[string]jobs.Job)
	for _, j := range jobsOf(t, store) {
		jobList[j.Key] = j
	}
	if len(jobList) != 3 || len(sum.Rows) != 3 {
		t.Fatalf("%d jobs and %d summary rows, want 3 each", len(jobList), len(sum.Rows))
	}
	for i, res := range sum.Rows {
		job := jobList[res.Key]
		if res.Outcome != batch.OutcomeSubmitted || res.Line != i+2 || res.SKU != fmt.Sprintf("SKU-100%d", i+1) ||
			res.GenerationID != job.GenerationID || res.Status != jobs.StatusPending || res.Cost != 50 {
			t.Errorf("row %d: %+v does not match job %+v", i, res, job)
		}
		gen, ok := sim.Generation(job.GenerationID)
		if !ok {
			t.Fatalf("the simulator has no generation %s", job.GenerationID)
		}
		if gen.Prompt != job.VideoPrompt || gen.ImageURL != job.ImageURL || gen.Model != "kling-v3" ||
			gen.Duration != 5 || gen.AspectRatio != "16:9" {
			t.Errorf("generation %+v was not rendered from job %+v", gen, job)
		}
		if job.Model != "kling-v3" || job.Duration != 5 || job.AspectRatio != "16:9" || job.Status != jobs.StatusPending {
			t.Errorf("job %s: defaults not recorded: %+v", job.Key, job)
		}
	}
	if j := jobList[sum.Rows[2].Key]; j.TargetSurface != "meta-ads" || j.Collection != "paid-social" || j.SKU != "SKU-1003" {
		t.Errorf("SKU-1003 lost its routing: %+v", j)
	}
	if st := sim.Stats(); st.Renders != 3 || st.DuplicateRenders != 0 {
		t.Errorf("simulator rendered %d (%d duplicates), want 3 (0)", st.Renders, st.DuplicateRenders)
	}

	table := sum.String()
	for _, want := range []string{"LINE", "SKU-1002", "submitted", sum.Rows[1].GenerationID, "3 rows: 3 submitted; estimated cost $1.50"} {
		if !strings.Contains(table, want) {
			t.Errorf("summary table lacks %q:\n%s", want, table)
		}
	}
}

func TestRunRerunRendersNothing(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New()
	cfg := batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited}
	if _, err := batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", seedManifest)); err != nil {
		t.Fatal(err)
	}
	before := sim.Stats()
	before.RendersPerInput = nil
	sum, err := batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", seedManifest))
	if err != nil {
		t.Fatal(err)
	}
	if want := (batch.Counts{Skipped: 3}); sum.Counts != want || sum.EstimatedCost != 0 {
		t.Errorf("rerun: counts %+v cost %s, want %+v and $0.00", sum.Counts, sum.EstimatedCost, want)
	}
	after := sim.Stats()
	after.RendersPerInput = nil
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("the rerun talked to the service (-before +after):\n%s", diff)
	}

	// A changed default is a new version of every row.
	cfg.AspectRatio = "9:16"
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", seedManifest))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Submitted != 3 || len(jobsOf(t, store)) != 6 {
		t.Errorf("after changing the aspect ratio: %+v and %d jobs, want 3 submitted and 6 jobs", sum.Counts, len(jobsOf(t, store)))
	}
}

// TestRunResubmitsInDoubtRow plays a crash between the API call and
// recording its answer: the job is tracked as pending without a generation
// id, and the service has rendered it. The rerun must find that render.
func TestRunResubmitsInDoubtRow(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	client := simClient(t, sim.URL, sim.APIKey)
	store := memstore.New()
	row := manifest.Row{SKU: "SKU-1", ImageURL: "https://cdn.example.com/1.jpg", VideoPrompt: "spin", Line: 2}
	resolved := manifest.Defaults{}.Apply(row)
	job, _, err := store.Track(t.Context(), jobs.Job{
		Key: manifest.RowKey(row, manifest.Defaults{}), SKU: row.SKU, Status: jobs.StatusPending,
		ImageURL: row.ImageURL, VideoPrompt: row.VideoPrompt, Model: resolved.Model, Duration: resolved.Duration, AspectRatio: resolved.AspectRatio,
	})
	if err != nil {
		t.Fatal(err)
	}
	first, _, err := client.Videos.Create(t.Context(), &creativeai.VideoRequest{
		Model: job.Model, Prompt: job.VideoPrompt, ImageURL: job.ImageURL, Duration: job.Duration, AspectRatio: job.AspectRatio,
	}, creativeai.WithIdempotencyKey(batch.IdempotencyKey(job)))
	if err != nil {
		t.Fatal(err)
	}

	sum, err := batch.Run(t.Context(), batch.Config{Client: client, Store: store, Rate: unlimited}, seqOf(row))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Submitted != 1 || sum.Rows[0].GenerationID != first.ID {
		t.Errorf("summary %+v, want the row submitted as %s", sum.Rows, first.ID)
	}
	if st := sim.Stats(); st.Renders != 1 || st.IdempotentReplays != 1 {
		t.Errorf("renders %d, idempotent replays %d; want 1 and 1", st.Renders, st.IdempotentReplays)
	}
}

func seqOf(rows ...manifest.Row) iter.Seq2[manifest.Row, error] {
	return func(yield func(manifest.Row, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}
}

func TestRunRetryFailed(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New()
	cfg := batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited}
	manifest := seedManifest + "SKU-1004,https://cdn.example.com/catalog/cap.jpg,spin,,\n"

	// The service is down for the first run: every row is submit_failed.
	sim.SetFaults(creativeaitest.Faults{Error500: 1})
	sum, err := batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", manifest))
	if err != nil {
		t.Fatal(err)
	}
	if sum.SubmitFailed != 4 || !strings.Contains(sum.Rows[0].Error, "500") {
		t.Fatalf("with the service down: %+v, first error %q; want 4 submit_failed with the status", sum.Counts, sum.Rows[0].Error)
	}
	sim.SetFaults(creativeaitest.Faults{})

	// Without RetryFailed nothing is replayed.
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", manifest))
	if err != nil {
		t.Fatal(err)
	}
	if want := (batch.Counts{Skipped: 4}); sum.Counts != want {
		t.Errorf("rerun without RetryFailed: %+v, want %+v", sum.Counts, want)
	}

	cfg.RetryFailed = true
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", manifest))
	if err != nil {
		t.Fatal(err)
	}
	if want := (batch.Counts{Replayed: 4}); sum.Counts != want {
		t.Errorf("rerun with RetryFailed: %+v, want %+v", sum.Counts, want)
	}

	// A render fails; its replay is a new attempt that keeps the old id.
	failed := jobsOf(t, store)[1]
	if err := sim.Fail(failed.GenerationID, "provider timeout after retry budget"); err != nil {
		t.Fatal(err)
	}
	if _, err := batch.Reconcile(t.Context(), batch.ReconcileConfig{Client: cfg.Client, Store: store, Rate: unlimited}); err != nil {
		t.Fatal(err)
	}
	if j, _ := store.Get(t.Context(), failed.Key); j.Status != jobs.StatusFailed {
		t.Fatalf("job %s is %s after the render failed", j.Key, j.Status)
	}
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", manifest))
	if err != nil {
		t.Fatal(err)
	}
	if want := (batch.Counts{Replayed: 1, Skipped: 3}); sum.Counts != want {
		t.Errorf("replaying the failed render: %+v, want %+v", sum.Counts, want)
	}
	j, err := store.Get(t.Context(), failed.Key)
	if err != nil {
		t.Fatal(err)
	}
	if j.Attempt != 1 || j.GenerationID == failed.GenerationID || !j.Submitted() ||
		!slices.Equal(j.PreviousGenerationIDs, []string{failed.GenerationID}) || j.Status != jobs.StatusPending {
		t.Errorf("replayed job %+v: want attempt 1, a new generation, and %s in its history", j, failed.GenerationID)
	}
	if st := sim.Stats(); st.Renders != 5 {
		t.Errorf("renders %d, want 5: four rows, and one failed render rendered again", st.Renders)
	}
}

func TestRunStillRefresh(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New()
	csv := "sku,image_url,video_prompt,still_prompt\n" +
		"SKU-1,https://cdn.example.com/1.jpg,slow push,\"white sweep, softbox\"\n" +
		"SKU-2,https://cdn.example.com/2.jpg,slow push,\n"
	cfg := batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited,
		Pricing: creativeai.Pricing{Clip: 40, Still: 25}}
	sum, err := batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", csv))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Submitted != 2 || sum.Rows[0].Cost != 65 || sum.Rows[1].Cost != 40 || sum.EstimatedCost != 105 {
		t.Errorf("summary %+v, cost %s; want still+clip $0.65 for SKU-1, $0.40 for SKU-2", sum.Rows, sum.EstimatedCost)
	}
	// Workers track rows in whatever order they get to them, so look the
	// jobs up by SKU rather than by position.
	bySKU := map[string]jobs.Job{}
	for _, j := range jobsOf(t, store) {
		bySKU[j.SKU] = j
	}
	withStill, without := bySKU["SKU-1"], bySKU["SKU-2"]
	if withStill.StillURL == "" || withStill.StillPrompt != "white sweep, softbox" || without.StillURL != "" {
		t.Fatalf("jobs %+v: want a still for SKU-1 only", bySKU)
	}
	gen, _ := sim.Generation(withStill.GenerationID)
	if gen.ImageURL != withStill.StillURL {
		t.Errorf("clip rendered from %q, want the refreshed still %q", gen.ImageURL, withStill.StillURL)
	}
	if withStill.ImageURL != "https://cdn.example.com/1.jpg" {
		t.Errorf("the job's hero image became %q", withStill.ImageURL)
	}
	if st := sim.Stats(); st.Images != 1 || st.Renders != 2 {
		t.Errorf("images %d, renders %d; want 1 and 2", st.Images, st.Renders)
	}
}

func TestRunDryRun(t *testing.T) {
	sim := newSim(t)
	csv := seedManifest + "SKU-1004,https://cdn.example.com/cap.jpg,spin,,,\n" + // wrong field count
		"SKU-1005,https://cdn.example.com/5.jpg,spin,c,shopify-pdp\n"

	// Without a store or client, every valid row is planned.
	sum, err := batch.Run(t.Context(), batch.Config{DryRun: true}, manifestRows(t, "m.csv", csv))
	if err != nil {
		t.Fatal(err)
	}
	if want := (batch.Counts{Planned: 4, Invalid: 1}); sum.Counts != want || sum.EstimatedCost != 200 || !sum.DryRun {
		t.Errorf("dry run: %+v cost %s, want %+v and $2.00", sum.Counts, sum.EstimatedCost, want)
	}
	if !strings.Contains(sum.String(), "dry run, estimated cost $2.00") {
		t.Errorf("table:\n%s", sum)
	}

	// With a store, tracked rows would be skipped, and nothing is written.
	store := memstore.New()
	cfg := batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited}
	if _, err := batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", seedManifest)); err != nil {
		t.Fatal(err)
	}
	before := sim.Stats().Requests
	cfg.DryRun = true
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", csv))
	if err != nil {
		t.Fatal(err)
	}
	if want := (batch.Counts{Planned: 1, Skipped: 3, Invalid: 1}); sum.Counts != want || sum.EstimatedCost != 50 {
		t.Errorf("dry run over a store: %+v cost %s, want %+v and $0.50", sum.Counts, sum.EstimatedCost, want)
	}
	if n := len(jobsOf(t, store)); n != 3 {
		t.Errorf("dry run wrote to the store: %d jobs, want 3", n)
	}
	if got := sim.Stats().Requests; got != before {
		t.Errorf("dry run sent %d requests", got-before)
	}
}

func TestRunInvalidRows(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New()
	csv := "sku,image_url,video_prompt,model\n" +
		"A,https://cdn.example.com/a.jpg,spin,\n" +
		"B,not a url,spin,\n" +
		"A,https://cdn.example.com/a.jpg,spin,kling-v3\n" + // the same render as line 2 once defaults apply
		"C,https://cdn.example.com/c.jpg,,\n" +
		"D,https://cdn.example.com/d.jpg,spin,no-such-model\n" // the service rejects it
	sum, err := batch.Run(t.Context(), batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited},
		manifestRows(t, "cat.csv", csv))
	if err != nil {
		t.Fatal(err)
	}
	type line struct {
		Line    int
		Outcome batch.Outcome
		Error   string
	}
	var got []line
	for _, r := range sum.Rows {
		got = append(got, line{r.Line, r.Outcome, r.Error})
	}
	want := []line{
		{2, batch.OutcomeSubmitted, ""},
		{3, batch.OutcomeInvalid, `cat.csv:3: image_url "not a url" is not an absolute http(s) URL (sku "B")`},
		{4, batch.OutcomeInvalid, `cat.csv:4: duplicates line 2 (same sku and render inputs after defaults) (sku "A")`},
		{5, batch.OutcomeInvalid, `cat.csv:5: video_prompt is empty (sku "C")`},
		{6, batch.OutcomeSubmitFailed, ""},
	}
	want[4].Error = sum.Rows[4].Error
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if !strings.Contains(sum.Rows[4].Error, "no-such-model") {
		t.Errorf("submit_failed error %q does not name the model", sum.Rows[4].Error)
	}
	d, err := store.Get(t.Context(), sum.Rows[4].Key)
	if err != nil || d.Status != jobs.StatusSubmitFailed || d.Error != sum.Rows[4].Error {
		t.Errorf("job D: %+v, %v; want submit_failed with the error", d, err)
	}
	if n := len(jobsOf(t, store)); n != 2 {
		t.Errorf("%d jobs tracked, want 2: invalid rows are never tracked", n)
	}

	// Rows from elsewhere are validated too.
	sum, err = batch.Run(t.Context(), batch.Config{DryRun: true}, seqOf(manifest.Row{SKU: "X", ImageURL: "https://e.com/x.jpg", Line: 9}))
	if err != nil || sum.Invalid != 1 || sum.Rows[0].Error != `manifest:9: video_prompt is empty (sku "X")` {
		t.Errorf("Run over an invalid row: %v, %+v", err, sum.Rows)
	}
}

func TestRunStopsOnReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	rows := func(yield func(manifest.Row, error) bool) {
		if yield(manifest.Row{SKU: "A", ImageURL: "https://e.com/a.jpg", VideoPrompt: "p"}, nil) {
			yield(manifest.Row{}, boom)
		}
	}
	sum, err := batch.Run(t.Context(), batch.Config{DryRun: true}, rows)
	if !errors.Is(err, boom) || sum == nil || sum.Planned != 1 {
		t.Errorf("Run = %+v, %v; want the row planned and %v", sum, err, boom)
	}
}

func TestRunConfigErrors(t *testing.T) {
	sim := newSim(t)
	client := simClient(t, sim.URL, sim.APIKey)
	store := memstore.New()
	for _, tt := range []struct {
		cfg  batch.Config
		want string
	}{
		{batch.Config{Store: store}, "Client is nil"},
		{batch.Config{Client: client}, "Store is nil"},
		{batch.Config{Client: client, Store: store, Rate: -1}, "Rate is -1"},
		{batch.Config{Client: client, Store: store, Rate: math.NaN()}, "Rate is NaN"},
		{batch.Config{Client: client, Store: store, Burst: -1}, "Burst is -1"},
		{batch.Config{Client: client, Store: store, Concurrency: -2}, "Concurrency is -2"},
		{batch.Config{Client: client, Store: store, AspectRatio: "wide"}, `AspectRatio: "wide"`},
	} {
		sum, err := batch.Run(t.Context(), tt.cfg, seqOf())
		if err == nil || !strings.Contains(err.Error(), tt.want) || sum != nil {
			t.Errorf("Run(%+v) = %v, %v; want an error containing %q", tt.cfg, sum, err, tt.want)
		}
	}
}

// TestRunCancel cancels a run in the middle and checks that it stops, that
// the store is consistent, and that a rerun finishes without rendering a row
// twice.
func TestRunCancel(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New()
	cfg := batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: 200, Concurrency: 4}
	ctx, cancel := context.WithCancel(t.Context())
	cfg.Progress = func(p batch.Progress) {
		if p.Counts.Total() == 10 {
			cancel()
		}
	}
	const rows = 200
	sum, err := batch.Run(ctx, cfg, manifestFrom(t, newGeneratedManifest(rows, "cancel")))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if sum == nil || sum.Total() >= rows || sum.Total() < 10 {
		t.Fatalf("summary %+v: want the rows handled before the cancel", sum)
	}
	if len(sum.Rows) != sum.Total() {
		t.Errorf("%d rows in the summary, %d counted", len(sum.Rows), sum.Total())
	}
	for i, r := range sum.Rows {
		if r.Outcome == "" || r.SKU == "" {
			t.Errorf("summary row %d is not filled in: %+v", i, r)
		}
	}
	for _, job := range jobsOf(t, store) {
		if job.Submitted() {
			if _, ok := sim.Generation(job.GenerationID); !ok {
				t.Errorf("job %s records generation %s, which the service never made", job.Key, job.GenerationID)
			}
		} else if job.Status != jobs.StatusPending {
			t.Errorf("job %s is %s without a generation", job.Key, job.Status)
		}
	}
	if n, st := len(jobsOf(t, store)), sim.Stats(); st.Renders > n {
		t.Errorf("%d renders but only %d jobs tracked: a render went untracked", st.Renders, n)
	}

	cfg.Progress = nil
	sum, err = batch.Run(t.Context(), cfg, manifestFrom(t, newGeneratedManifest(rows, "cancel")))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Submitted+sum.Skipped != rows {
		t.Errorf("rerun: %+v", sum.Counts)
	}
	if st := sim.Stats(); st.Renders != rows || st.DuplicateRenders != 0 {
		t.Errorf("renders %d with %d duplicates, want %d and 0", st.Renders, st.DuplicateRenders, rows)
	}
	for _, job := range jobsOf(t, store) {
		if !job.Submitted() {
			t.Errorf("job %s not submitted after the rerun", job.Key)
		}
	}
}

func manifestFrom(t testing.TB, r io.Reader) iter.Seq2[manifest.Row, error] {
	t.Helper()
	m, err := manifest.NewReader(r, "generated.csv")
	if err != nil {
		t.Fatal(err)
	}
	return m.Rows()
}

// TestRunRecordsAnswerAfterCancel cancels the run just as the service's
// answer arrives: the answer must still be recorded.
func TestRunRecordsAnswerAfterCancel(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	store := memstore.New()
	ctx, cancel := context.WithCancel(t.Context())
	transport := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil || r.Method != http.MethodPost {
			return resp, err
		}
		// Read the answer before cancelling, so that it is complete.
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		cancel()
		return resp, err
	})
	client := simClient(t, sim.URL, sim.APIKey, creativeai.WithHTTPClient(&http.Client{Transport: transport}))
	sum, err := batch.Run(ctx, batch.Config{Client: client, Store: store, Rate: unlimited, Concurrency: 1},
		manifestRows(t, "m.csv", seedManifest))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if sum.Submitted != 1 || len(sum.Rows) != 1 {
		t.Fatalf("summary %+v: want exactly the first row submitted", sum.Rows)
	}
	job, err := store.Get(t.Context(), sum.Rows[0].Key)
	if err != nil || !job.Submitted() || job.GenerationID != sum.Rows[0].GenerationID {
		t.Errorf("job %+v, %v: the answer received before the cancel was not recorded", job, err)
	}
}

// TestRunRate checks the limiter in virtual time: N rows at R per second
// with a burst of 1 take exactly (N-1)/R.
func TestRunRate(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	synctest.Test(t, func(t *testing.T) {
		// Connections kept alive would leave goroutines blocked on the
		// network, which synctest cannot see through.
		hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		client := simClient(t, sim.URL, sim.APIKey, creativeai.WithHTTPClient(hc))
		var mu sync.Mutex
		var at []time.Duration
		start := time.Now()
		sum, err := batch.Run(t.Context(), batch.Config{
			Client: client, Store: memstore.New(), Rate: 5, Concurrency: 3,
			Progress: func(batch.Progress) {
				mu.Lock()
				defer mu.Unlock()
				at = append(at, time.Since(start))
			},
		}, manifestFrom(t, newGeneratedManifest(11, "rate")))
		if err != nil {
			t.Fatal(err)
		}
		if sum.Submitted != 11 || sum.Elapsed != 2*time.Second {
			t.Errorf("%d rows in %s (virtual), want 11 in exactly 2s at 5 per second", sum.Submitted, sum.Elapsed)
		}
		want := make([]time.Duration, 11)
		for i := range want {
			want[i] = time.Duration(i) * 200 * time.Millisecond
		}
		if diff := cmp.Diff(want, at); diff != "" {
			t.Errorf("rows finished at (-want +got):\n%s", diff)
		}
	})
}

func ExampleSummary_WriteTo() {
	sum, _ := batch.Run(context.Background(), batch.Config{DryRun: true}, seqOf(
		manifest.Row{SKU: "SKU-1001", ImageURL: "https://cdn.example.com/mug.jpg", VideoPrompt: "slow push", Line: 2},
		manifest.Row{SKU: "SKU-1002", ImageURL: "https://cdn.example.com/shoe.jpg", VideoPrompt: "reveal", StillPrompt: "white sweep", Line: 3},
		manifest.Row{SKU: "SKU-1003", ImageURL: "cdn.example.com/bag.jpg", VideoPrompt: "lifestyle", Line: 4},
	))
	sum.Elapsed = 0 // keep the output stable
	_, _ = sum.WriteTo(os.Stdout)
	// Output:
	// LINE  SKU       OUTCOME  STATUS  GENERATION  COST   ERROR
	// 2     SKU-1001  planned  -       -           $0.50
	// 3     SKU-1002  planned  -       -           $0.80
	// 4     SKU-1003  invalid  -       -           $0.00  manifest:4: image_url "cdn.example.com/bag.jpg" is not an absolute http(s) URL (sku "SKU-1003")
	// 3 rows: 2 planned, 1 invalid; dry run, estimated cost $1.30; elapsed 0s
}

// TestRunLegacyJobFile runs the seed manifest over a job file written by the
// original workflow script, whose lines are keyed by SKU.
func TestRunLegacyJobFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "video-jobs.jsonl")
	legacy := `{"sku":"SKU-1001","collection":"new-arrivals","target_surface":"shopify-pdp","generation_id":"vgen_abc123","status":"completed","output_url":"https://cdn.creativeai.run/output/video-abc123.mp4","failover_used":false,"completed_at":"2026-03-11T08:44:03Z","error":null}
{"sku":"SKU-1002","collection":"spring-drop","target_surface":"shopify-pdp","generation_id":"vgen_def456","status":"pending"}
{"sku":"SKU-1003","collection":"paid-social","target_surface":"meta-ads","generation_id":"vgen_ghi789","status":"failed","error":"provider timeout after retry budget"}
`
	if err := os.WriteFile(path, []byte(legacy), 0o644); err != nil {
		t.Fatal(err)
	}
	store, err := jsonlstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	sim := newSim(t, creativeaitest.WithManualRender())
	cfg := batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited}

	sum, err := batch.Run(t.Context(), cfg, manifestRows(t, "product-videos.csv", seedManifest))
	if err != nil {
		t.Fatal(err)
	}
	if want := (batch.Counts{Skipped: 3}); sum.Counts != want || sim.Stats().Requests != 0 {
		t.Fatalf("over the legacy file: %+v and %d requests, want %+v and none", sum.Counts, sim.Stats().Requests, want)
	}
	var got []string
	for _, r := range sum.Rows {
		got = append(got, fmt.Sprintf("%s %s %s %s", r.Key, r.Outcome, r.Status, r.GenerationID))
	}
	want := []string{
		"SKU-1001 skipped completed vgen_abc123",
		"SKU-1002 skipped pending vgen_def456",
		"SKU-1003 skipped failed vgen_ghi789",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}

	// Retrying failed rows renders SKU-1003 as a job of its own; the legacy
	// line stays as the record of the failed render.
	cfg.RetryFailed = true
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "product-videos.csv", seedManifest))
	if err != nil {
		t.Fatal(err)
	}
	if want := (batch.Counts{Submitted: 1, Skipped: 2}); sum.Counts != want {
		t.Errorf("with RetryFailed: %+v, want %+v", sum.Counts, want)
	}
	fresh, err := store.Get(t.Context(), sum.Rows[2].Key)
	if err != nil || fresh.SKU != "SKU-1003" || !fresh.Submitted() || fresh.Key == "SKU-1003" {
		t.Errorf("new job for SKU-1003: %+v, %v", fresh, err)
	}
	if old, err := store.Get(t.Context(), "SKU-1003"); err != nil || old.Status != jobs.StatusFailed {
		t.Errorf("legacy SKU-1003: %+v, %v", old, err)
	}
	// And a third run finds the new job.
	cfg.RetryFailed = false
	if sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "product-videos.csv", seedManifest)); err != nil || sum.Skipped != 3 {
		t.Errorf("third run: %+v, %v", sum.Counts, err)
	}
}

// TestRunKeyConflictAfterWebhookURLChange models a run interrupted after the
// service accepted a row but before the answer was recorded (here: recorded
// in another store), followed by a rerun with another webhook URL. The
// resend under the row's key is refused as a conflict; the row must not be
// stuck: RetryFailed renders it anew under a new key.
func TestRunKeyConflictAfterWebhookURLChange(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	client := simClient(t, sim.URL, sim.APIKey)
	manifest := "sku,image_url,video_prompt\nSKU-1,https://cdn.example.com/1.jpg,slow push\n"

	lost := memstore.New()
	cfg := batch.Config{Client: client, Store: lost, Rate: unlimited, WebhookURL: "https://old.example/hooks"}
	if _, err := batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", manifest)); err != nil {
		t.Fatal(err)
	}

	store := memstore.New()
	cfg.Store, cfg.WebhookURL = store, "https://new.example/hooks"
	sum, err := batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", manifest))
	if err != nil {
		t.Fatal(err)
	}
	if sum.SubmitFailed != 1 || !strings.Contains(sum.Rows[0].Error, "webhook URL") {
		t.Fatalf("rerun with a new webhook URL: %+v; want one submit_failed row explaining the conflict", sum.Rows)
	}

	cfg.RetryFailed = true
	sum, err = batch.Run(t.Context(), cfg, manifestRows(t, "m.csv", manifest))
	if err != nil {
		t.Fatal(err)
	}
	jobList := jobsOf(t, store)
	if sum.Replayed != 1 || len(jobList) != 1 || !jobList[0].Submitted() || jobList[0].Attempt != 1 {
		t.Fatalf("replay: %+v, jobs %+v; want the row submitted as attempt 1", sum.Counts, jobList)
	}
	gen, ok := sim.Generation(jobList[0].GenerationID)
	if !ok {
		t.Fatalf("generation %s unknown to the service", jobList[0].GenerationID)
	}
	if st := sim.Stats(); st.Renders != 2 {
		t.Errorf("renders %d, want 2: the lost one and the replay %s", st.Renders, gen.ID)
	}
}

// submittedMeanwhile is a store on which another run (a second submit on
// the same job file) submits a job's attempt between this run's lookup and
// its reservation.
type submittedMeanwhile struct {
	jobs.Store
	key, generationID string
}

func (s *submittedMeanwhile) Reserve(ctx context.Context, key string, r jobs.Reservation) (jobs.Reserved, error) {
	if key == s.key {
		gen := &creativeai.Generation{ID: s.generationID, Object: "video.generation", Status: creativeai.StatusPending}
		if _, err := s.Store.RecordSubmission(ctx, key, jobs.Submission{Generation: gen}); err != nil {
			return jobs.Reserved{}, err
		}
	}
	return s.Store.Reserve(ctx, key, r)
}

// TestRunRowSubmittedByAnotherRun: two runs share a store, and the other
// submits a row this one found tracked but not submitted. The row is
// skipped, as it would have been had the lookup come a moment later, and the
// run goes on with its other rows rather than stop on a store error.
func TestRunRowSubmittedByAnotherRun(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	mem := memstore.New()
	rows := []manifest.Row{
		{SKU: "SKU-1", ImageURL: "https://cdn.example.com/1.jpg", VideoPrompt: "spin", Line: 2},
		{SKU: "SKU-2", ImageURL: "https://cdn.example.com/2.jpg", VideoPrompt: "spin", Line: 3},
	}
	// The other run tracked SKU-1 and is about to submit it.
	resolved := manifest.Defaults{}.Apply(rows[0])
	tracked, _, err := mem.Track(t.Context(), jobs.Job{
		Key: manifest.RowKey(rows[0], manifest.Defaults{}), SKU: rows[0].SKU, Status: jobs.StatusPending,
		ImageURL: rows[0].ImageURL, VideoPrompt: rows[0].VideoPrompt, Model: resolved.Model, Duration: resolved.Duration, AspectRatio: resolved.AspectRatio,
	})
	if err != nil {
		t.Fatal(err)
	}
	store := &submittedMeanwhile{Store: mem, key: tracked.Key, generationID: "vgen_other_run"}
	cfg := batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited, Budget: batch.Budget{PerDay: 1_000_000}}
	sum, err := batch.Run(t.Context(), cfg, seqOf(rows...))
	if err != nil {
		t.Fatalf("Run stopped: %v", err)
	}
	if want := (batch.Counts{Submitted: 1, Skipped: 1}); sum.Counts != want {
		t.Errorf("counts %+v, want %+v: SKU-1 skipped, SKU-2 submitted", sum.Counts, want)
	}
	if got, err := mem.Get(t.Context(), tracked.Key); err != nil || got.GenerationID != "vgen_other_run" {
		t.Errorf("SKU-1 after the run: %+v, %v; want the other run's submission kept", got, err)
	}
	if st := sim.Stats(); st.Renders != 1 {
		t.Errorf("renders %d, want 1: SKU-2 only", st.Renders)
	}
}
