// Command catalog is the end-to-end run of the workflow: manifest rows are
// submitted as video renders, rendered, delivered by signed webhooks to a
// local receiver, published to their target surface, and tracked in a job
// file, while the buyer-facing status of every SKU is shown as it changes.
//
// With no CREATIVEAI_API_KEY it runs fully offline, in seconds, on the
// project's simulators: creativeaitest renders the clips and signs the
// webhooks, shopifytest stands in for the Shopify store (with a product for
// every shopify-pdp SKU), and meta-ads videos go to a stand-in ad pipeline
// that downloads them. The rows are the workflow's three sample rows unless
// -csv names a manifest.
//
//	go run ./examples/catalog
//
// With CREATIVEAI_API_KEY it runs against the live API (CREATIVEAI_BASE_URL
// overrides the host). Without a public -webhook-url it polls for results;
// with one it also receives webhooks on -listen. With SHOPIFY_STORE and
// SHOPIFY_ADMIN_TOKEN (or SHOPIFY_ADMIN_API_URL) set, shopify-pdp videos are
// published to that store instead of the local fake.
//
// Usage:
//
//	catalog [-csv FILE] [-encoding NAME] [-template FILE] [-jobs video-jobs.jsonl]
//	        [-timeout D] [-max-spend USD] [-max-daily-spend USD] [-spend-timezone UTC]
//	        [-retry-failed[=CLASSES]] [-transient-retries 3]
//	        [-webhook-url URL] [-listen ADDR] [-archive URL|none] [-preflight=false] [-v]
//
// Every video is archived before it is delivered (see batch/archive): into
// -archive (file:///DIR, s3://bucket?region=REGION, gs://bucket), or, when
// -archive is not given and the job store is a file (JSONL or sqlite:),
// into the folder video-archive beside it, which the run prints. Jobs
// record archive_url and sha256. -archive none turns archiving off.
//
// -csv takes a manifest or Shopify's product CSV export; -template names a
// file of prompt templates that write every row's video_prompt (an export
// needs one).
//
// Before a shopify-pdp row is submitted, and paid for, the store (the fake
// one offline) is checked in batches: a variant has the SKU exactly, of one
// product, which has room for another medium, and the clip is no longer
// than Shopify hosts. A row that fails ends submit_failed with an error
// starting "preflight:" and is rendered by a rerun with -retry-failed once
// the store is fixed. -preflight=false skips the check.
//
// -timeout is how long the run waits for every row to finish; it must be
// above 0 (a run always waits for its renders), and left out it is 15s
// offline and 30m live.
//
// Rerunning with the same job file is safe: rows already tracked are
// reported and not submitted again. A -timeout too short for the rows at the
// API's rate (two calls a second; a row with a still_prompt makes two)
// stops submission as soon as no call fits before it: the rows left are
// reported as not submitted, a still already rendered is kept on its job,
// and the rerun goes on from there. Offline, renders that an earlier run
// left unfinished are resumed: the simulator is deterministic, so submitting
// a row again with its Idempotency-Key recreates the same generation.
//
// Each submission reserves its estimated cost in the job store first; rows
// over -max-spend or -max-daily-spend are held back for a later run (see
// the README's "Spend" section).
//
// Exit status: 0 when every row is rendered and delivered; 1 when a row
// failed (submission, render or delivery), did not finish within -timeout,
// or the run was interrupted or stopped by a spike of moderation refusals;
// 2 for bad flags or manifest errors; 3 when a budget held rows back and
// every other row was rendered and delivered.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/archive"
	"github.com/creativeai-run/catalogvideo/batch/manifest"
	"github.com/creativeai-run/catalogvideo/examples/internal/cli"
)

func main() { cli.Main("catalog", run) }

// sampleCSV is the workflow's sample manifest, the rows the offline demo
// renders when -csv is not given.
const sampleCSV = `sku,image_url,video_prompt,collection,target_surface
SKU-1001,https://cdn.example.com/catalog/mug-hero.jpg,"5-second product hero shot, slow camera push, clean white sweep",new-arrivals,shopify-pdp
SKU-1002,https://cdn.example.com/catalog/shoe-hero.jpg,"5-second product reveal, gentle rotation, dynamic shadow",spring-drop,shopify-pdp
SKU-1003,https://cdn.example.com/catalog/bag-hero.jpg,"5-second lifestyle motion, soft natural light, premium editorial feel",paid-social,meta-ads
`

const description = `Runs the whole workflow: submits the manifest's rows as video renders, receives
the signed webhooks, publishes each finished video to its target surface, and
writes the job file, showing every SKU's buyer-facing status as it changes,
then a final table and the cost summary.

Without CREATIVEAI_API_KEY everything runs offline on local simulators (the
render API, a fake Shopify store, a stand-in ad pipeline) and finishes in
seconds. With the key it uses the live API and polls for results unless
-webhook-url gives a public URL that reaches -listen.

environment:
  CREATIVEAI_API_KEY         live API key (unset: offline simulators)
  CREATIVEAI_BASE_URL        API base URL (default https://api.creativeai.run)
  CREATIVEAI_WEBHOOK_SECRET  webhook signing secret(s), comma-separated (live;
                             default the API key)
  SHOPIFY_STORE, SHOPIFY_ADMIN_TOKEN, SHOPIFY_API_VERSION, SHOPIFY_ADMIN_API_URL
                             publish shopify-pdp videos to this store (unset:
                             a local fake store)

` + cli.SpendHelp + `

Before shopify-pdp rows are submitted, the store is checked (SKU on exactly one
product, room for another medium, a length Shopify hosts); a row that fails
ends submit_failed with a "preflight:" error. -preflight=false skips it.

Every video is copied to -archive (default: the folder video-archive beside the
job file; "none" turns it off) before delivery; jobs record archive_url and sha256.

exit status: 0 every row rendered and delivered; 1 a row failed, did not
finish within -timeout, or the run was interrupted or refusals spiked; 2 bad
flags or manifest; 3 a budget (-max-spend, -max-daily-spend) held rows back.`

// Defaults of -timeout: offline renders take a second or two; live ones 30 s
// to 4 min each.
const (
	offlineTimeout = 15 * time.Second
	liveTimeout    = 30 * time.Minute
)

type options struct {
	csv        string
	jobs       string
	timeout    time.Duration
	spend      *cli.SpendFlags
	webhookURL string
	listen     string
	verbose    bool
	encoding   manifest.Option
	template   string
	archive    string
	preflight  bool
}

func parseFlags(args []string, stdout, stderr io.Writer, env cli.Env) (*options, error) {
	fs := cli.NewFlagSet("catalog", "[-csv FILE] [-encoding NAME] [-template FILE] [-jobs video-jobs.jsonl] [-timeout D] [-webhook-url URL] [-listen ADDR] [-preflight=false] [-archive URL|none] "+cli.SpendFlagsUsage, description)
	var o options
	var encoding string
	fs.StringVar(&o.csv, "csv", "", "manifest CSV `file` (default: the workflow's three sample rows)")
	fs.StringVar(&encoding, "encoding", "", cli.EncodingFlagHelp)
	fs.StringVar(&o.jobs, "jobs", "video-jobs.jsonl", cli.JobsFlagHelp)
	fs.DurationVar(&o.timeout, "timeout", 0, fmt.Sprintf("how long to wait for every row to finish, above 0 (default %s offline, %s live)", offlineTimeout, liveTimeout))
	o.spend = cli.AddSpendFlags(fs)
	fs.StringVar(&o.webhookURL, "webhook-url", "", "live only: public `URL` that forwards to -listen; without it the run polls")
	fs.StringVar(&o.listen, "listen", "", "`host:port` of the webhook receiver (default 127.0.0.1:0 offline, 127.0.0.1:8080 live with -webhook-url)")
	fs.StringVar(&o.template, "template", "", cli.TemplateFlagHelp)
	fs.StringVar(&o.archive, "archive", "", cli.ArchiveFlagHelp+"; default: the folder video-archive beside a job file; none: off")
	fs.BoolVar(&o.preflight, "preflight", true, cli.PreflightFlagHelp)
	fs.BoolVar(&o.verbose, "v", false, "log requests, retries and events to stderr")
	if err := cli.Parse(fs, args, stdout, stderr); err != nil {
		return nil, err
	}
	if err := o.spend.Check(fs); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, cli.Usagef("unexpected arguments %q", fs.Args())
	case o.timeout < 0:
		return nil, cli.Usagef("-timeout is %s; want a positive duration such as 90s, 30m or 2h", o.timeout)
	case o.timeout == 0 && cli.IsSet(fs, "timeout"):
		// A run waits for its renders, which need time: 0 cannot mean none,
		// and "no timeout" would leave a run with a stuck render hanging.
		return nil, cli.Usagef("-timeout is 0, which would stop the run before any row finished; give a positive duration such as 30m, or leave the flag out for the default (%s offline, %s live)", offlineTimeout, liveTimeout)
	case o.webhookURL != "" && !env.Live():
		return nil, cli.Usagef("-webhook-url is for live runs (set %s); offline runs receive webhooks locally", cli.EnvAPIKey)
	}
	if _, err := cli.ParseStoreSpec(o.jobs); err != nil {
		return nil, cli.Usagef("-jobs: %v", err)
	}
	var err error
	if o.encoding, err = cli.EncodingOption(encoding); err != nil {
		return nil, err
	}
	if o.listen != "" {
		if _, _, err := net.SplitHostPort(o.listen); err != nil {
			return nil, cli.Usagef("-listen %q: %v", o.listen, err)
		}
	}
	if o.webhookURL != "" {
		if err := cli.CheckWebhookURL(o.webhookURL); err != nil {
			return nil, cli.Usagef("-webhook-url: %v", err)
		}
	}
	if err := env.CheckShopify(); err != nil {
		return nil, cli.Usagef("%v", err)
	}
	if o.archive != "" && o.archive != "none" {
		if err := cli.CheckArchiveURL(o.archive); err != nil {
			return nil, cli.Usagef("%v", err)
		}
	}
	if o.timeout == 0 {
		o.timeout = offlineTimeout
		if env.Live() {
			o.timeout = liveTimeout
		}
	}
	if o.listen == "" {
		o.listen = "127.0.0.1:0"
		if env.Live() {
			o.listen = "127.0.0.1:8080"
		}
	}
	return &o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	env := cli.LoadEnv(os.Getenv)
	o, err := parseFlags(args, stdout, stderr, env)
	if err != nil {
		return err
	}
	rows, source, err := readManifest(o.csv, o.template, stderr, o.encoding)
	if err != nil {
		return err
	}
	logger := cli.NewLogger(stderr, slog.LevelWarn, o.verbose)

	store, spec, err := cli.OpenStore(ctx, o.jobs, logger)
	if err != nil {
		return err
	}
	// Offline, outputs of an earlier run's simulator are fetched from this
	// run's (see resumedTransport), which the run sets up later.
	resumed := &resumedTransport{next: http.DefaultTransport}
	arch, err := openArchive(ctx, o.archive, spec, logger, archive.WithHTTPClient(&http.Client{Transport: resumed}))
	if err != nil {
		store.Close()
		return err
	}
	if arch != nil {
		defer arch.Close()
	}
	r := &catalogRun{
		archive: arch,
		opts:    o,
		env:     env,
		out:     stdout,
		errOut:  stderr,
		logger:  logger,
		store:   store,
		spec:    spec,
		rows:    rows,
		source:  source,
	}
	resumed.run = r
	runErr := r.run(ctx)
	// Leave one line per job in the file, as the workflow's job manifest
	// has, so people can read it; the store's own log may have several.
	// An interrupted run leaves that to the next.
	if c, ok := store.(cli.Compacter); ok && ctx.Err() == nil {
		if err := c.Compact(context.WithoutCancel(ctx)); err != nil {
			runErr = fmt.Errorf("compacting %s: %w", spec.Display, err)
		}
	}
	return errors.Join(runErr, store.Close())
}

// readManifest checks and reads the rows of -csv, or of the sample.
func readManifest(path, templateFile string, stderr io.Writer, encoding manifest.Option) ([]manifest.Row, string, error) {
	templates, err := cli.LoadTemplates(templateFile)
	if err != nil {
		return nil, "", err
	}
	var in io.Reader = strings.NewReader(sampleCSV)
	name := "the workflow's sample manifest"
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, "", cli.Invalidf("manifest: %v", err)
		}
		defer f.Close()
		in, name = f, path
	}
	var rows []manifest.Row
	if _, err := cli.CheckManifest(in, cmp.Or(path, "sample.csv"), manifest.Defaults{}, templates, stderr, func(r manifest.Row) { rows = append(rows, r) }, encoding); err != nil {
		return nil, "", err
	}
	return rows, name, nil
}

// openArchive opens -archive, or by default the folder video-archive beside
// a job file; none for "none" or a PostgreSQL store without -archive.
func openArchive(ctx context.Context, flag string, spec cli.StoreSpec, logger *slog.Logger, opts ...archive.Option) (*cli.Archive, error) {
	raw := flag
	switch {
	case flag == "none":
		return nil, nil
	case flag == "" && spec.Kind == cli.StorePostgres:
		return nil, nil
	case flag == "":
		path := strings.TrimPrefix(spec.Display, "sqlite:")
		u, err := cli.FolderURL(filepath.Join(filepath.Dir(path), "video-archive"))
		if err != nil {
			return nil, err
		}
		raw = u
	}
	return cli.OpenArchive(ctx, raw, logger, opts...)
}
