package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
	"github.com/creativeai-run/catalogvideo/batch/outbox"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
	"github.com/creativeai-run/catalogvideo/examples/internal/cli"
	"github.com/creativeai-run/catalogvideo/internal/backoff"
	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

// catalogRun is one run of the program: the remote sides (simulated or
// live), the local receiver, the workers, and the display.
type catalogRun struct {
	opts        *options
	env         cli.Env
	out, errOut io.Writer
	logger      *slog.Logger
	store       jobs.Store
	spec        cli.StoreSpec
	rows        []manifest.Row
	source      string
	archive     *cli.Archive // nil: archiving off

	client     *creativeai.Client
	sim        *creativeaitest.Server // offline only
	shop       *shopifytest.Server    // when SHOPIFY_* is not set
	publisher  *shopify.Publisher
	ads        *cli.AdPipelineSink
	webhookURL string

	watch *watcher
}

func (r *catalogRun) offline() bool { return !r.env.Live() }

func (r *catalogRun) run(ctx context.Context) error {
	if err := r.startRemotes(); err != nil {
		return err
	}
	defer r.closeRemotes()

	r.watch = newWatcher(r.out, r.store, len(r.rows))
	r.watch.archiving = r.archive != nil
	stopReceiver, err := r.startReceiver()
	if err != nil {
		return err
	}
	r.printHeader()

	// The workers run until the rows settle, the timeout passes, or the
	// program is interrupted; the display runs alongside.
	workCtx, stopWork := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.deliver(workCtx) })
	wg.Go(func() { r.poll(workCtx) })
	wg.Go(func() { r.watch.run(workCtx) })

	deadline, cancelDeadline := context.WithTimeout(ctx, r.opts.timeout)
	defer cancelDeadline()
	runErr := r.submit(deadline)
	// Run stops early, with an error wrapping context.DeadlineExceeded,
	// when the rate limit leaves no call before the deadline: the rows it
	// did not submit are timed out already, and those it did may still
	// finish before the deadline.
	var stopped error
	if errors.Is(runErr, context.DeadlineExceeded) && deadline.Err() == nil {
		stopped, runErr = runErr, nil
	}
	if runErr == nil && stopped == nil && r.offline() {
		r.resumeLost(deadline)
	}
	if runErr == nil {
		select {
		case <-r.watch.settled:
		case <-deadline.Done():
		}
	}
	stopWork()
	wg.Wait()
	stopReceiver()

	final, err := r.watch.snapshot(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	r.printFinal(final)
	switch {
	case runErr != nil && ctx.Err() == nil && deadline.Err() == nil:
		return runErr
	case ctx.Err() != nil:
		return errors.New("interrupted; rerun the same command to pick up where this run stopped")
	}
	return r.verdict(final, stopped != nil || deadline.Err() != nil, stopped)
}

// startRemotes sets up the render service and the Shopify store: the live
// ones when configured, the simulators otherwise.
func (r *catalogRun) startRemotes() error {
	if r.offline() {
		// A fixed seed makes the simulator's generation ids a function of
		// the request, which is what lets a rerun resume an earlier run's
		// renders (see resumeLost).
		r.sim = creativeaitest.NewServer(
			creativeaitest.WithSeed(offlineSeed),
			creativeaitest.WithRenderTime(1500*time.Millisecond),
			creativeaitest.WithFailoverRate(0.34),
			creativeaitest.WithWebhookRetries(5, 100*time.Millisecond),
		)
		r.client = r.sim.Client(creativeai.WithLogger(r.logger))
	} else {
		var err error
		if r.client, err = cli.NewAPIClient(r.env, "catalog", r.logger); err != nil {
			return cli.Usagef("%v", err)
		}
	}

	var pubOpts []shopify.PublisherOption
	var shopClient *shopify.Client
	if r.env.ShopifyConfigured() {
		var err error
		if shopClient, err = cli.NewShopifyClient(r.env, r.logger); err != nil {
			return cli.Usagef("Shopify: %v", err)
		}
	} else {
		// The bucket of a Shopify Plus store, so that a -csv of a few
		// hundred rows is not paced like a basic plan's.
		r.shop = shopifytest.NewServer(shopifytest.WithBucket(10_000, 1_000))
		for _, sku := range shopifySKUs(r.rows) {
			r.shop.AddProduct(shopifytest.Product{Title: sku.title, Variants: []shopifytest.Variant{{SKU: sku.sku}}})
		}
		shopClient = r.shop.Client(shopify.WithLogger(r.logger))
		// The fake store processes a video in one poll; do not wait the two
		// seconds Shopify's processing calls for.
		pubOpts = append(pubOpts, shopify.WithPollInterval(100*time.Millisecond, time.Second))
	}
	if r.archive != nil {
		// The publisher downloads output_url itself; this transport
		// answers that download from the archived copy.
		pubOpts = append(pubOpts, shopify.WithTransferClient(&http.Client{Transport: outbox.ArchiveTransport(nil)}))
	}
	r.publisher = shopify.NewPublisher(shopClient, pubOpts...)
	r.ads = &cli.AdPipelineSink{}
	return nil
}

func (r *catalogRun) closeRemotes() {
	if r.sim != nil {
		r.sim.Close()
	}
	if r.shop != nil {
		r.shop.Close()
	}
}

// offlineSeed seeds the offline simulator; any fixed value works.
const offlineSeed = 1001

// startReceiver serves the webhook handler when webhooks can reach it:
// always offline, live only with -webhook-url. It returns the function that
// shuts it down, letting requests in flight finish.
func (r *catalogRun) startReceiver() (stop func(), err error) {
	if !r.offline() && r.opts.webhookURL == "" {
		return func() {}, nil
	}
	secrets := r.env.WebhookSecrets
	if r.offline() {
		secrets = []string{r.sim.WebhookSecret}
	}
	h, err := cli.NewReceiver(r.store, secrets, r.logger, func(jobs.ApplyResult) { r.watch.poke() })
	if err != nil {
		return nil, cli.Usagef("%v", err)
	}
	ln, err := net.Listen("tcp", r.opts.listen)
	if err != nil {
		return nil, fmt.Errorf("webhook receiver: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(cli.DefaultWebhookPath, h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	r.webhookURL = r.opts.webhookURL
	if r.webhookURL == "" {
		r.webhookURL = "http://" + ln.Addr().String() + cli.DefaultWebhookPath
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

func (r *catalogRun) printHeader() {
	w := r.out
	if r.offline() {
		fmt.Fprintf(w, "Offline run (no %s): render API simulator at %s\n", cli.EnvAPIKey, r.sim.URL)
	} else {
		fmt.Fprintf(w, "Live run: render API at %s\n", r.client.BaseURL())
	}
	if r.shop != nil {
		fmt.Fprintf(w, "Shopify: local fake store at %s (set SHOPIFY_STORE and SHOPIFY_ADMIN_TOKEN to publish for real)\n", r.shop.URL)
	} else {
		fmt.Fprintf(w, "Shopify: %s\n", cmp.Or(r.env.ShopifyAdminURL, r.env.ShopifyStore))
	}
	if r.webhookURL != "" {
		fmt.Fprintf(w, "Webhooks: %s\n", r.webhookURL)
	} else {
		fmt.Fprintln(w, "Webhooks: none (no -webhook-url); polling for results")
	}
	if r.archive != nil {
		fmt.Fprintf(w, "Archive: %s (every video is copied there with its sha256, before any delivery)\n", r.archive.Display)
	} else {
		fmt.Fprintln(w, "Archive: off (-archive URL keeps every video)")
	}
	fmt.Fprintf(w, "Rows: %d from %s; job file: %s\n\n", len(r.rows), r.source, r.spec.Display)
}

// submit runs batch.Run over the rows, announcing each row as it is
// submitted or found already tracked.
func (r *catalogRun) submit(ctx context.Context) error {
	cfg := batch.Config{
		Client:     r.client,
		Store:      r.store,
		WebhookURL: r.webhookURL,
		Progress:   r.watch.submitted,
	}
	r.opts.spend.Apply(&cfg)
	if r.opts.preflight {
		var err error
		if cfg.Preflight, err = cli.Preflight(r.publisher); err != nil {
			return err
		}
	}
	if r.opts.verbose {
		cfg.Logger = r.logger // otherwise the progress lines tell each row's fate
	}
	if r.offline() {
		cfg.Rate = math.Inf(1) // the simulator has no quota to protect
	}
	sum, err := batch.Run(ctx, cfg, rowsOf(r.rows))
	if sum != nil {
		r.watch.submitDone(sum)
	}
	return err
}

func rowsOf(rows []manifest.Row) iter.Seq2[manifest.Row, error] {
	return func(yield func(manifest.Row, error) bool) {
		for _, row := range rows {
			if !yield(row, nil) {
				return
			}
		}
	}
}

// resumeLost picks up renders an earlier offline run left unfinished: that
// run's simulator died with it, so no webhook or poll will ever answer for
// them. The simulator is deterministic under its seed, so submitting the
// job's current attempt again with its Idempotency-Key recreates the same
// generation id, whose events then complete the job. A job whose id does
// not come back (it was rendered elsewhere, such as by the live API) is
// left as it is and not waited for.
func (r *catalogRun) resumeLost(ctx context.Context) {
	for _, job := range r.watch.tracked(ctx) {
		if !job.Submitted() || !waitsOnRender(&job, r.archive != nil) {
			continue
		}
		if _, known := r.sim.Generation(job.GenerationID); known {
			continue
		}
		gen, _, err := r.client.Videos.Create(ctx, &creativeai.VideoRequest{
			Model:       job.Model,
			Prompt:      job.VideoPrompt,
			ImageURL:    cmp.Or(job.StillURL, job.ImageURL),
			Duration:    job.Duration,
			AspectRatio: job.AspectRatio,
			WebhookURL:  r.webhookURL,
		}, creativeai.WithIdempotencyKey(job.IdempotencyKey()))
		switch {
		case err != nil:
			r.watch.lost(job, fmt.Sprintf("could not resume render %s: %v", job.GenerationID, err))
		case gen.ID != job.GenerationID:
			r.watch.lost(job, fmt.Sprintf("render %s is not from an offline run; it is left as it is", job.GenerationID))
		default:
			r.watch.note(job.SKU, fmt.Sprintf("resumed render %s left unfinished by an earlier run", job.GenerationID))
		}
	}
}

// waitsOnRender reports whether a job still needs its render: not finished,
// or finished but not yet delivered, or not yet archived when archiving
// (the video must be downloaded again).
func waitsOnRender(j *jobs.Job, archiving bool) bool {
	switch j.Status {
	case jobs.StatusPending, jobs.StatusProcessing:
		return true
	case jobs.StatusCompleted:
		return j.Delivery == jobs.DeliveryPending || archiving && !j.Archived()
	}
	return false
}

// deliver runs the outbox until ctx ends.
func (r *catalogRun) deliver(ctx context.Context) {
	policy := backoff.Policy{Initial: 10 * time.Second, Max: 10 * time.Minute}
	attempts := 0 // the default
	if r.offline() {
		policy = backoff.Policy{Initial: 200 * time.Millisecond, Max: 2 * time.Second}
		attempts = 5
	}
	sinks := cli.Sinks(r.publisher, r.ads)
	if r.offline() {
		for surface, s := range sinks {
			sinks[surface] = &resumedOutput{sim: r.sim, next: s}
		}
	}
	cfg := outbox.Config{
		Store:        r.store,
		Sinks:        sinks,
		Fallback:     cli.Unrouted,
		MaxAttempts:  attempts,
		Backoff:      func(n int) time.Duration { return policy.Delay(n - 1) },
		PollInterval: 200 * time.Millisecond,
		Logger:       r.logger,
		OnResult:     func(jobs.Job, error) { r.watch.poke() },
	}
	if r.archive != nil {
		cfg.Archive = r.archive.Archiver
	}
	if err := outbox.Deliver(ctx, cfg); err != nil {
		r.logger.Error("delivery workers stopped", "error", err)
	}
}

// resumedOutput points a delivery at the current simulator's copy of a video
// whose output_url belongs to an earlier run's simulator (see resumeLost).
type resumedOutput struct {
	sim  *creativeaitest.Server
	next outbox.Sink
}

func (s *resumedOutput) Deliver(ctx context.Context, job jobs.Job) (string, error) {
	output, known, err := resumedRender(s.sim, job.GenerationID)
	switch {
	case err != nil:
		return "", err
	case known:
		job.OutputURL = output
	case !onLoopback(job.OutputURL):
		// Not a simulator's video (a live render in the same job file):
		// deliver it as it is.
	default:
		return "", outbox.Permanent(errors.New("the video was rendered by an earlier offline run, whose simulator is gone"))
	}
	return s.next.Deliver(ctx, job)
}

// resumedTransport is the archive's transport offline: a download of a
// video whose output_url belongs to an earlier run's simulator (on this
// machine, at another port) is sent to this run's copy of the resumed render
// instead, as resumedOutput does for deliveries; until resumeLost has
// resumed it, the download fails and the archive retries. Other downloads
// go to next as they are.
type resumedTransport struct {
	run  *catalogRun // set before the run starts; its sim is nil live
	next http.RoundTripper
}

func (t *resumedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	sim := t.run.sim
	if sim == nil || !onLoopback(req.URL.String()) || strings.HasPrefix(req.URL.String(), sim.URL+"/") {
		return t.next.RoundTrip(req)
	}
	// The simulator names an output after its generation: /outputs/ID.mp4.
	id := strings.TrimSuffix(path.Base(req.URL.Path), path.Ext(req.URL.Path))
	output, known, err := resumedRender(sim, id)
	switch {
	case err != nil:
		return nil, err
	case !known:
		return nil, fmt.Errorf("%s is a video of an earlier offline run, whose simulator is gone; waiting for its render to be resumed", req.URL.Redacted())
	}
	u, err := url.Parse(output)
	if err != nil {
		return nil, err
	}
	moved := req.Clone(req.Context())
	moved.URL, moved.Host = u, ""
	return t.next.RoundTrip(moved)
}

// resumedRender returns the output URL of this run's simulator for the
// generation id, which resumeLost resumed from an earlier run's, and
// whether the simulator knows it; an error while its render still runs.
func resumedRender(sim *creativeaitest.Server, id string) (outputURL string, known bool, err error) {
	gen, known := sim.Generation(id)
	if known && gen.Status != creativeai.StatusCompleted {
		return "", true, fmt.Errorf("waiting for the resumed render of %s", id)
	}
	return gen.OutputURL, known, nil
}

// onLoopback reports whether rawURL points at this machine, where the
// simulators serve their files.
func onLoopback(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// poll runs the polling fallback: the only source of results for a live run
// without webhooks, and a safety net otherwise.
func (r *catalogRun) poll(ctx context.Context) {
	interval, olderThan := 5*time.Second, time.Duration(0) // the service's documented poll interval
	switch {
	case r.offline():
		interval, olderThan = 2*time.Second, 2*time.Second
	case r.webhookURL != "":
		interval, olderThan = 30*time.Second, time.Minute
	}
	cfg := batch.ReconcileConfig{Client: r.client, Store: r.store, OlderThan: olderThan, Logger: r.logger}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := batch.Reconcile(ctx, cfg)
		if err != nil && ctx.Err() == nil {
			r.logger.Warn("polling", "error", err)
		}
		if res.Changed > 0 {
			r.watch.poke()
		}
	}
}

func (r *catalogRun) printFinal(jobList []jobs.Job) {
	w := r.out
	fmt.Fprintf(w, "\nFinal status (%s):\n", r.spec.Display)
	_ = cli.WriteStatusTable(w, jobList, jobs.DefaultBuyerCopy())
	fmt.Fprintln(w, "\nCost summary (one clip per render, plus a still when refreshed):")
	_ = cli.WriteCostSummary(w, jobList, creativeai.DefaultPricing())
	if r.sim != nil {
		st := r.sim.Stats()
		fmt.Fprintf(w, "\nSimulator: %s (%d duplicate), %d with provider failover, %s delivered, %s, %s.\n",
			cli.Plural(st.Renders, "render"), st.DuplicateRenders, st.Failovers, cli.Plural(st.DeliveriesSucceeded, "webhook"),
			cli.Plural(st.Polls, "poll"), cli.Plural(st.Downloads, "download"))
	}
	if r.shop != nil {
		st := r.shop.Stats()
		fmt.Fprintf(w, "Fake Shopify: %s uploaded and attached, %s.\n", cli.Plural(st.MediaCreated, "video"), cli.Plural(st.Requests, "GraphQL request"))
	}
	if n := len(r.ads.Received()); n > 0 {
		fmt.Fprintf(w, "Ad pipeline (stand-in): %s downloaded and handed over.\n", cli.Plural(n, "video"))
	}
}

// verdict turns the final state into the exit status: nil when every row
// was rendered and delivered. stopped is why submission stopped before the
// deadline, if it did.
func (r *catalogRun) verdict(jobList []jobs.Job, timedOut bool, stopped error) error {
	var unfinished, failed, held []string
	byKey := make(map[string]*jobs.Job, len(jobList))
	for i := range jobList {
		byKey[jobList[i].Key] = &jobList[i]
	}
	seen := make(map[string]bool, len(jobList))
	for _, row := range r.rows {
		j := byKey[manifest.RowKey(row, manifest.Defaults{})]
		if j == nil {
			j = byKey[row.SKU] // a job file of the original workflow keys rows by SKU
		}
		switch {
		case j == nil:
			unfinished = append(unfinished, row.SKU+" (not submitted)")
		case seen[j.Key]:
		case r.watch.isHeld(j.Key):
			held = append(held, j.SKU)
		case r.watch.isLost(j.Key):
			unfinished = append(unfinished, j.SKU+" (unfinished from an earlier run)")
		case !settled(j, r.archive != nil):
			unfinished = append(unfinished, fmt.Sprintf("%s (%s)", j.SKU, cli.StatusText(j)))
		case j.Status != jobs.StatusCompleted:
			failed = append(failed, fmt.Sprintf("%s (%s: %s)", j.SKU, j.Status, j.Error))
		case j.Delivery == jobs.DeliveryFailed:
			failed = append(failed, fmt.Sprintf("%s (delivery failed: %s)", j.SKU, j.DeliveryError))
		}
		if j != nil {
			seen[j.Key] = true
		}
	}
	var errs []error
	if len(unfinished) > 0 {
		why := "did not finish"
		if timedOut {
			why = fmt.Sprintf("did not finish within -timeout %s", r.opts.timeout)
		}
		if stopped != nil {
			why += fmt.Sprintf(" (submission stopped early: %v)", stopped)
		}
		errs = append(errs, fmt.Errorf("%d of %d rows %s: %s", len(unfinished), len(r.rows), why, joinList(unfinished)))
	}
	if len(failed) > 0 {
		errs = append(errs, fmt.Errorf("%d of %d rows failed: %s (rerun with -retry-failed to replay failed renders)", len(failed), len(r.rows), joinList(failed)))
	}
	if len(held) > 0 {
		msg := fmt.Sprintf("%d of %d rows held back by the budget: %s (rerun with a higher cap or on a later day)", len(held), len(r.rows), joinList(held))
		if len(errs) == 0 {
			fmt.Fprintln(r.out, msg)
			return &cli.ExitError{Code: cli.ExitBudget}
		}
		errs = append(errs, errors.New(msg))
	}
	return errors.Join(errs...)
}

func joinList(items []string) string {
	const most = 10
	if len(items) > most {
		return fmt.Sprintf("%s, and %d more", strings.Join(items[:most], ", "), len(items)-most)
	}
	return strings.Join(items, ", ")
}

// shopifySKU is a product the fake store needs.
type shopifySKU struct{ sku, title string }

// shopifySKUs lists the SKUs of shopify-pdp rows once each, with a product
// title made from the hero image's name ("mug-hero.jpg" → "Mug").
func shopifySKUs(rows []manifest.Row) []shopifySKU {
	var out []shopifySKU
	seen := map[string]bool{}
	for _, row := range rows {
		if row.TargetSurface != cli.SurfaceShopifyPDP || seen[row.SKU] {
			continue
		}
		seen[row.SKU] = true
		out = append(out, shopifySKU{sku: row.SKU, title: productTitle(row)})
	}
	return out
}

// productTitle names the fake store's product for a row after its hero
// image, such as "Mug" for ".../mug-hero.jpg", or after its SKU.
func productTitle(row manifest.Row) string {
	name := path.Base(row.ImageURL)
	name = strings.TrimSuffix(name, path.Ext(name))
	name = strings.TrimSuffix(name, "-hero")
	if name == "" || name == "." || name == "/" {
		return "Product " + row.SKU
	}
	name = strings.ReplaceAll(name, "-", " ")
	return strings.ToUpper(name[:1]) + name[1:]
}
