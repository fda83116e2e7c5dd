// Command submit is the workflow's submit script done right: it reads a CSV
// manifest, submits one video render per row with bounded concurrency and a
// rate limit, and tracks every row in a job store, so a rerun after a crash
// skips what is tracked and never renders a row twice.
//
// Usage:
//
//	submit -csv FILE -jobs FILE|DSN -webhook-url URL [-concurrency 4] [-rate 2]
//	       [-model kling-v3] [-duration 5s] [-aspect-ratio 16:9]
//	       [-max-spend USD] [-max-daily-spend USD] [-spend-timezone UTC]
//	       [-retry-failed[=CLASSES]] [-transient-retries 3] [-dry-run]
//	       [-encoding NAME] [-template FILE] [-preflight=false] [-v]
//
// The manifest has the columns sku, image_url, video_prompt (required) and
// collection, target_surface, model, duration, aspect_ratio, still_prompt
// (optional). -csv also takes Shopify's product CSV export as it is, one
// job per variant with a SKU and an image; its prompts come from -template,
// a file of text/template blocks that write every row's video_prompt.
// -dry-run prints each row's prompt. The whole manifest is checked before
// anything is sent: a missing column or any bad row (reported as FILE:LINE)
// stops the program with exit status 2 and nothing submitted.
//
// -jobs takes a JSONL file path, sqlite:PATH, or a postgres:// URL.
// -webhook-url is where the service sends render events (a webhook-server);
// give it explicitly empty (-webhook-url=) to send none and rely on polling.
//
// Environment: CREATIVEAI_API_KEY (required unless -dry-run),
// CREATIVEAI_BASE_URL (optional), and the Shopify store of shopify-pdp
// rows: SHOPIFY_STORE and SHOPIFY_ADMIN_TOKEN, or SHOPIFY_ADMIN_API_URL
// (optional; SHOPIFY_API_VERSION picks the version). With a store, every
// shopify-pdp row is checked against it before it is submitted and paid
// for: a variant has the SKU exactly, of one product, which has room for
// another medium, and the clip is no longer than Shopify hosts. A row that
// fails is not submitted and ends submit_failed with an error starting
// "preflight:"; -retry-failed submits it once the store is fixed.
// -preflight=false skips the check. Dry runs do not check.
//
// It prints a table of the rows with their cost, then the line
// "Submitted X/Y jobs -> FILE", where X counts the rows the service has
// accepted (now or in an earlier run) and Y the rows of the manifest. A
// progress bar is drawn on stderr when it is a terminal; otherwise a line per
// row is written there.
//
// Each submission reserves its estimated cost in the job store before it is
// sent; a row over -max-spend (this run) or -max-daily-spend (the calendar
// day in -spend-timezone, across every run sharing the store) is held back,
// tracked and untouched, for a later run. Failed renders are classified
// transient, input or policy: transient ones are retried by later runs up to
// -transient-retries attempts; -retry-failed=CLASSES replays only the
// classes named. Submitting stops when moderation refusals spike.
//
// Exit status: 0 when every row is tracked and accepted; 1 when some row
// ended submit_failed (rerun with -retry-failed to replay it), the run was
// interrupted, the policy breaker stopped it, or the job store failed; 2 for
// bad flags, a missing CREATIVEAI_API_KEY, or manifest errors; 3 when a
// budget held rows back and nothing else went wrong.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/manifest"

	"github.com/schollz/progressbar/v3"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/examples/internal/cli"
	"github.com/creativeai-run/catalogvideo/shopify"
)

func main() { cli.Main("submit", run) }

const description = `Submits one video render per manifest row and tracks each in a job store.

The manifest is checked in full before anything is sent: a missing column or a
bad row (reported as FILE:LINE) exits with status 2. -csv also takes a Shopify
product export (products_export.csv), with -template FILE for its prompts.
Rows already tracked are skipped, so rerunning after a crash or an
interruption is safe; rows that ended submit_failed (or renders that failed)
are replayed only with -retry-failed.

Prints a table of the rows with their cost and "Submitted X/Y jobs -> FILE".

environment:
  CREATIVEAI_API_KEY   API key (required unless -dry-run)
  CREATIVEAI_BASE_URL  API base URL (default https://api.creativeai.run)
  SHOPIFY_STORE, SHOPIFY_ADMIN_TOKEN, SHOPIFY_API_VERSION, SHOPIFY_ADMIN_API_URL
                       the store of shopify-pdp rows: each is checked there
                       before it is submitted (-preflight)

` + cli.SpendHelp + `

exit status: 0 every row tracked; 1 some row submit_failed, interrupted,
refusals spiked, or a store failure; 2 bad flags, missing API key,
half-configured Shopify settings, or manifest errors;
3 a budget (-max-spend, -max-daily-spend) held rows back.`

type options struct {
	csv         string
	jobs        string
	webhookURL  string
	concurrency int
	rate        float64
	model       string
	duration    creativeai.Duration
	aspectRatio string
	spend       *cli.SpendFlags
	dryRun      bool
	verbose     bool
	encoding    manifest.Option
	template    string
	preflight   bool
}

func parseFlags(args []string, stdout, stderr io.Writer) (*options, error) {
	fs := cli.NewFlagSet("submit",
		"-csv FILE -jobs FILE|DSN -webhook-url URL [-concurrency 4] [-rate 2] [-model kling-v3] [-duration 5s] [-aspect-ratio 16:9] "+cli.SpendFlagsUsage+" [-dry-run] [-encoding NAME] [-template FILE] [-preflight=false]",
		description)
	var o options
	durationText := "5s"
	var encoding string
	fs.StringVar(&o.csv, "csv", "", "manifest CSV `file` (required)")
	fs.StringVar(&encoding, "encoding", "", cli.EncodingFlagHelp)
	fs.StringVar(&o.jobs, "jobs", "", cli.JobsFlagHelp+" (required unless -dry-run)")
	fs.StringVar(&o.webhookURL, "webhook-url", "", "public `URL` the service posts render events to (required unless -dry-run; -webhook-url= sends none, for polling)")
	fs.IntVar(&o.concurrency, "concurrency", batch.DefaultConcurrency, "`rows` submitted at once")
	fs.Float64Var(&o.rate, "rate", batch.DefaultRate, "API `calls` per second")
	fs.StringVar(&o.model, "model", manifest.DefaultModel, "`model` for rows that name none")
	fs.StringVar(&durationText, "duration", durationText, "clip `length` for rows that give none, such as 5s")
	fs.StringVar(&o.aspectRatio, "aspect-ratio", manifest.DefaultAspectRatio, "aspect ratio `W:H` for rows that give none")
	o.spend = cli.AddSpendFlags(fs)
	fs.BoolVar(&o.dryRun, "dry-run", false, "check the manifest and estimate the cost; send and write nothing")
	fs.StringVar(&o.template, "template", "", cli.TemplateFlagHelp)
	fs.BoolVar(&o.preflight, "preflight", true, cli.PreflightFlagHelp)
	fs.BoolVar(&o.verbose, "v", false, "log every row and retry to stderr")
	if err := cli.Parse(fs, args, stdout, stderr); err != nil {
		return nil, err
	}
	if err := o.spend.Check(fs); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, cli.Usagef("unexpected arguments %q", fs.Args())
	}
	var err error
	switch {
	case o.csv == "":
		return nil, cli.Usagef("-csv is required")
	case o.jobs == "" && !o.dryRun:
		return nil, cli.Usagef("-jobs is required")
	case !cli.IsSet(fs, "webhook-url") && !o.dryRun:
		return nil, cli.Usagef("-webhook-url is required (give -webhook-url= to send no webhooks and poll instead)")
	case o.concurrency < 1:
		return nil, cli.Usagef("-concurrency is %d; want 1 or more", o.concurrency)
	case math.IsNaN(o.rate) || o.rate <= 0 || math.IsInf(o.rate, 0):
		return nil, cli.Usagef("-rate is %v; want a positive number of calls per second", o.rate)
	case o.model == "":
		return nil, cli.Usagef("-model is empty")
	}
	if o.duration, err = manifest.ParseDuration(durationText); err != nil {
		return nil, cli.Usagef("-duration %v", err)
	}
	if err := cli.CheckAspectRatio(o.aspectRatio); err != nil {
		return nil, cli.Usagef("-aspect-ratio: %v", err)
	}
	if o.encoding, err = cli.EncodingOption(encoding); err != nil {
		return nil, err
	}
	if o.webhookURL != "" {
		if err := cli.CheckWebhookURL(o.webhookURL); err != nil {
			return nil, cli.Usagef("-webhook-url: %v", err)
		}
	}
	if o.jobs != "" {
		if _, err := cli.ParseStoreSpec(o.jobs); err != nil {
			return nil, cli.Usagef("-jobs: %v", err)
		}
	}
	return &o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stdout, stderr)
	if err != nil {
		return err
	}
	env := cli.LoadEnv(os.Getenv)
	if !env.Live() && !o.dryRun {
		return cli.Usagef("%s is not set (it is needed to submit; -dry-run needs none)", cli.EnvAPIKey)
	}
	if err := env.CheckShopify(); err != nil {
		return cli.Usagef("%v", err)
	}
	logger := cli.NewLogger(stderr, slog.LevelWarn, o.verbose)

	templates, err := cli.LoadTemplates(o.template)
	if err != nil {
		return err
	}
	defaults := manifest.Defaults{Model: o.model, Duration: o.duration, AspectRatio: o.aspectRatio}
	var each func(manifest.Row)
	if o.dryRun {
		each = func(row manifest.Row) { cli.PrintPrompt(stdout, row) }
	}
	valid, err := checkManifest(o.csv, defaults, templates, stderr, each, o.encoding)
	if err != nil {
		return err
	}

	cfg := batch.Config{
		Concurrency: o.concurrency,
		Rate:        o.rate,
		Model:       o.model,
		Duration:    o.duration,
		AspectRatio: o.aspectRatio,
		WebhookURL:  o.webhookURL,
		DryRun:      o.dryRun,
	}
	o.spend.Apply(&cfg)
	if o.verbose {
		// Otherwise the table and the progress lines already tell each
		// row's fate.
		cfg.Logger = logger
	}
	display := o.jobs
	if !o.dryRun {
		if cfg.Client, err = cli.NewAPIClient(env, "submit", logger); err != nil {
			return cli.Usagef("%v", err)
		}
		if o.preflight && env.ShopifyConfigured() {
			shop, err := cli.NewShopifyClient(env, logger)
			if err != nil {
				return cli.Usagef("Shopify: %v", err)
			}
			if cfg.Preflight, err = cli.Preflight(shopify.NewPublisher(shop)); err != nil {
				return err
			}
		}
	}
	if o.jobs != "" && (!o.dryRun || storeExists(o.jobs)) {
		store, spec, err := cli.OpenStore(ctx, o.jobs, logger)
		if err != nil {
			return err
		}
		defer store.Close()
		cfg.Store, display = store, spec.Display
	}

	progress := newProgress(stderr, valid, o.dryRun)
	cfg.Progress = progress.row
	f, err := os.Open(o.csv)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := manifest.Open(f, o.csv, templates, nil, o.encoding)
	if err != nil {
		// The file changed since it was checked.
		return cli.Invalidf("%v", err)
	}
	sum, runErr := batch.Run(ctx, cfg, m.Rows())
	progress.done()
	if sum == nil {
		return runErr
	}
	if _, err := sum.WriteTo(stdout); err != nil {
		return err
	}

	accepted, failed := 0, 0
	for _, r := range sum.Rows {
		switch {
		case r.Status == jobs.StatusSubmitFailed:
			failed++
		case r.Outcome == batch.OutcomePlanned, r.GenerationID != "":
			accepted++
		}
	}
	if o.dryRun {
		fmt.Fprintf(stdout, "Dry run: would submit %d/%d jobs -> %s (nothing was sent)\n", sum.Planned, sum.Total(), orNone(display))
		if sum.Held > 0 {
			fmt.Fprintf(stdout, "Dry run: the spending caps would hold back %d of them\n", sum.Held)
		}
		return runErr
	}
	// An interrupted run stops reading the manifest: the rows it never
	// reached are in no count of the summary, yet are the manifest's.
	unread := max(valid-sum.Total(), 0)
	fmt.Fprintf(stdout, "Submitted %d/%d jobs -> %s\n", accepted, sum.Total()+unread, display)
	switch {
	case errors.Is(runErr, context.Canceled) && ctx.Err() != nil:
		return fmt.Errorf("interrupted: %s not answered yet and %s of %s not reached; rerun the same command to go on",
			cli.Plural(sum.Interrupted, "row"), cli.Plural(unread, "row"), o.csv)
	case runErr != nil:
		return runErr
	case sum.Invalid > 0:
		// Only if the file changed since it was checked.
		return cli.Invalidf("%s invalid (see the table)", rowsAre(sum.Invalid))
	case failed > 0:
		fmt.Fprintf(stderr, "submit: %s submit_failed; fix the manifest (or, for a preflight: error, the Shopify store) and rerun with -retry-failed\n", rowsAre(failed))
		return &cli.ExitError{Code: cli.ExitFailure}
	case sum.Held > 0:
		fmt.Fprintf(stderr, "submit: %s held back by the budget (see the table); rerun with a higher cap or on a later day\n", rowsAre(sum.Held))
		return &cli.ExitError{Code: cli.ExitBudget}
	case accepted < sum.Total():
		return fmt.Errorf("%s tracked but not accepted yet; rerun to submit", rowsAre(sum.Total()-accepted))
	}
	return nil
}

// checkManifest checks the whole manifest file before anything is sent.
// The file is read again to submit, so it must be one that can be: a pipe
// (such as -csv <(iconv …)) would leave the second read waiting forever.
func checkManifest(path string, defaults manifest.Defaults, templates *manifest.Templates, stderr io.Writer, each func(manifest.Row), opts ...manifest.Option) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, cli.Invalidf("manifest: %v", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		return 0, cli.Invalidf("-csv %s is not a regular file (%s): submit reads the manifest twice, "+
			"once to check every row before anything is sent; save it to a file and give that", path, fileKind(fi.Mode()))
	}
	return cli.CheckManifest(f, path, defaults, templates, stderr, each, opts...)
}

// fileKind names what a file that is not a regular one is.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a pipe"
	case m&(os.ModeDevice|os.ModeCharDevice) != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return m.Type().String()
}

// rowsAre formats a row count with its verb, such as "1 row is".
func rowsAre(n int) string {
	if n == 1 {
		return "1 row is"
	}
	return fmt.Sprintf("%d rows are", n)
}

func orNone(s string) string {
	if s == "" {
		return "(no job store)"
	}
	return s
}

// storeExists reports whether a dry run should read the job store: a
// database always, a JSONL file only when it exists, since opening would
// create it.
func storeExists(spec string) bool {
	s, err := cli.ParseStoreSpec(spec)
	if err != nil {
		return false
	}
	if s.Kind != cli.StoreJSONL {
		return true
	}
	_, err = os.Stat(s.Target)
	return err == nil
}

// progress shows rows as they finish: a bar on a terminal, a line per row
// otherwise.
type progress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	total int
	n     int
}

func newProgress(w io.Writer, total int, dryRun bool) *progress {
	p := &progress{w: w, total: total}
	if cli.IsTerminal(w) {
		desc := "submitting"
		if dryRun {
			desc = "checking"
		}
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// row is the batch.Config.Progress callback; Run serializes its calls.
func (p *progress) row(pr batch.Progress) {
	p.n++
	if p.bar != nil {
		_ = p.bar.Add(1)
		return
	}
	r := pr.Row
	line := fmt.Sprintf("[%d/%d] %s %s", p.n, p.total, r.SKU, r.Outcome)
	if r.GenerationID != "" {
		line += " " + r.GenerationID
	}
	if r.Error != "" {
		line += ": " + r.Error
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
