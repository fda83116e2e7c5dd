// Command webhook-server receives CreativeAI render events and delivers the
// finished videos: it embeds webhook.Handler on a real HTTP server, applies
// every verified event to the job store before acknowledging it, runs the
// delivery workers (the outbox: shopify-pdp to the Shopify publisher,
// meta-ads to a stand-in ad pipeline), and polls unfinished jobs as a
// fallback for webhooks that never arrive.
//
// Usage:
//
//	webhook-server -addr 127.0.0.1:8080 -jobs FILE|DSN [-path /webhooks/creativeai]
//	               [-poll-interval 30s] [-delivery-workers 4] [-delivery-batch 50] [-delivery-backoff 30s]
//	               [-shopify-poll-interval 2s] [-console-addr 127.0.0.1:8081] [-archive URL]
//	               [-review SURFACE[,SURFACE]] [-v]
//
// -jobs takes a JSONL file path (job files written by the workflow's original
// script open as they are), sqlite:PATH, or a postgres:// URL; several
// servers may share one PostgreSQL database.
//
// -archive keeps every video in a bucket before delivering it (see
// batch/archive): file:///var/lib/catalogvideo (the folder is created),
// s3://bucket?region=REGION (credentials the AWS SDK's way: environment or
// profile) or gs://bucket (Google Application Default Credentials). Each
// job records archive_url and sha256, and deliveries read the archived
// copy, so a delivery retried after the provider's link expired still
// works.
//
// It prints "listening on http://HOST:PORT" once it accepts connections
// (useful with -addr 127.0.0.1:0) and serves the webhook handler at -path and
// GET /healthz, which answers 503 while the job file cannot be read, and
// for good once a write to it failed (a full disk, say), since the store
// then refuses every change until the server restarts. SIGINT or SIGTERM
// shut it down cleanly: requests in flight finish, the workers stop and
// record what they were doing, and the store is flushed and closed.
//
// -delivery-batch N is the most due shopify-pdp videos one delivery worker
// publishes together (outbox.Config.BatchSize, default 50): a batch of 25
// or more is attached by one Shopify bulk operation instead of a
// productUpdate each; 1 publishes one video per delivery.
//
// -review holds the finished videos of the named target surfaces (such as
// shopify-pdp) for a person's approval: they wait as awaiting_review in the
// job store and are delivered only once approved in the console or with
// "jobs approve"; "jobs reject" (or the console) marks one rejected. The
// approval lives in the job store, so it reaches every server sharing it;
// give every server that delivers a surface the same -review.
//
// -console-addr serves the operator console (package batch/console) and
// GET /metrics in Prometheus' text format on a listener of its own, and
// prints "console on http://HOST:PORT". On an address other than loopback
// it requires CATALOGVIDEO_CONSOLE_TOKEN, sent as "Authorization: Bearer
// TOKEN" or through the console's login form; without it the server exits
// with status 2 before listening.
//
// Environment: CREATIVEAI_WEBHOOK_SECRET (signing secrets, comma-separated
// during a rotation; default CREATIVEAI_API_KEY), CREATIVEAI_API_KEY and
// CREATIVEAI_BASE_URL (for polling), SHOPIFY_STORE, SHOPIFY_ADMIN_TOKEN,
// SHOPIFY_API_VERSION, SHOPIFY_ADMIN_API_URL (for shopify-pdp deliveries),
// CATALOGVIDEO_CONSOLE_TOKEN (the console's token).
//
// Exit status: 0 after a clean shutdown; 1 when the server or the store
// fails; 2 for bad flags or settings, among them a signing secret
// webhook.NewVerifier refuses (blank, a pasted signature, a truncated whsec_
// key, or shorter than 16 bytes).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/batch/console"
	"github.com/creativeai-run/catalogvideo/batch/console/consolemetrics"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/outbox"
	"github.com/creativeai-run/catalogvideo/examples/internal/cli"
	"github.com/creativeai-run/catalogvideo/internal/backoff"
	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/webhook"
)

// minConsoleToken is the shortest console token taken on a non-loopback
// address: the webhook signing secret's minimum (webhook.MinSecretBytes).
const minConsoleToken = webhook.MinSecretBytes

func main() { cli.Main("webhook-server", run) }

const description = `Receives render webhooks, applies them to a job store, delivers finished
videos, and polls unfinished jobs as a fallback.

Serves the webhook handler at -path and GET /healthz (503 while the job file
cannot be read, and for good once a write to it failed, as on a full disk:
restart the server then), and prints
"listening on http://HOST:PORT" once it accepts connections. SIGINT or SIGTERM
shut it down cleanly (in-flight requests finish, the store is flushed).

Deliveries go by target_surface: shopify-pdp to the Shopify product with the
row's SKU (needs SHOPIFY_*; without it this server leaves them pending in the
job store for a server that has it, and says so once at start), meta-ads to a
stand-in ad pipeline that downloads and checks the video; any other surface
is left pending the same way.

-archive URL keeps every video in that bucket before delivering it and
records archive_url and sha256 on the job; deliveries read the archived copy.

-delivery-batch N publishes up to N due shopify-pdp videos together: 25 or
more go in one Shopify bulk operation; 1 publishes them one at a time.

-review SURFACE[,SURFACE] holds finished videos of those target surfaces for
approval: they wait as awaiting_review (archived first with -archive) and are
delivered once approved in the console or with "jobs -jobs ... approve SKU";
"jobs ... reject SKU -reason TEXT" refuses one. Give every server that
delivers a surface the same -review.

environment:
  CREATIVEAI_WEBHOOK_SECRET  signing secret(s), comma-separated during a rotation
                             (default CREATIVEAI_API_KEY)
  CREATIVEAI_API_KEY         API key, needed for polling (-poll-interval)
  CREATIVEAI_BASE_URL        API base URL (default https://api.creativeai.run)
  SHOPIFY_STORE, SHOPIFY_ADMIN_TOKEN, SHOPIFY_API_VERSION, SHOPIFY_ADMIN_API_URL
                             the Shopify store that shopify-pdp videos go to
  CATALOGVIDEO_CONSOLE_TOKEN the operator console's token; required when
                             -console-addr is not a loopback address

-console-addr serves the operator console and GET /metrics (Prometheus text
format) on their own listener and prints "console on http://HOST:PORT".

exit status: 0 clean shutdown; 1 server or store failure; 2 bad flags or settings
(including a signing secret that is blank, a pasted signature, a truncated whsec_
key, or shorter than 16 bytes; a -console-addr that is not loopback without a
console token of 16 bytes or more; a -review surface without a sink).`

type options struct {
	addr            string
	jobs            string
	path            string
	pollInterval    time.Duration
	workers         int
	deliveryBatch   int
	deliveryBackoff time.Duration
	shopifyPoll     time.Duration
	archive         string
	verbose         bool
	consoleAddr     string
	review          []string
	// pollNoKey records that the default polling was turned off for want of
	// an API key, which the server says at startup.
	pollNoKey bool
}

func parseFlags(args []string, stdout, stderr io.Writer, env cli.Env) (*options, error) {
	fs := cli.NewFlagSet("webhook-server",
		"-addr 127.0.0.1:8080 -jobs FILE|DSN [-path /webhooks/creativeai] [-poll-interval 30s]",
		description)
	var o options
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "`host:port` to listen on (port 0 picks a free one)")
	fs.StringVar(&o.jobs, "jobs", "", cli.JobsFlagHelp+" (required)")
	fs.StringVar(&o.path, "path", cli.DefaultWebhookPath, "URL `path` of the webhook handler")
	fs.DurationVar(&o.pollInterval, "poll-interval", 30*time.Second, "how often to poll unfinished jobs (0 turns polling off; needs CREATIVEAI_API_KEY)")
	fs.IntVar(&o.workers, "delivery-workers", outbox.DefaultWorkers, "`deliveries` in flight at once")
	fs.IntVar(&o.deliveryBatch, "delivery-batch", outbox.DefaultBatchSize, "most due `videos` of a surface one worker delivers together (shopify-pdp: 25 or more go in one bulk operation; 1: one at a time)")
	fs.DurationVar(&o.deliveryBackoff, "delivery-backoff", 30*time.Second, "wait before retrying a failed delivery; it doubles per attempt, up to an hour")
	fs.DurationVar(&o.shopifyPoll, "shopify-poll-interval", 2*time.Second, "first wait between checks of a video Shopify is processing")
	fs.StringVar(&o.consoleAddr, "console-addr", "", "`host:port` of the operator console and /metrics (off when empty; not loopback needs "+cli.EnvConsoleToken+")")
	fs.StringVar(&o.archive, "archive", "", cli.ArchiveFlagHelp)
	reviewFlag := fs.String("review", "", "comma-separated target `surfaces` whose videos wait for approval before delivery ("+cli.SurfaceShopifyPDP+", "+cli.SurfaceMetaAds+")")
	fs.BoolVar(&o.verbose, "v", false, "log every event and delivery at debug level")
	if err := cli.Parse(fs, args, stdout, stderr); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, cli.Usagef("unexpected arguments %q", fs.Args())
	case o.jobs == "":
		return nil, cli.Usagef("-jobs is required")
	case o.addr == "":
		return nil, cli.Usagef("-addr is empty")
	case !strings.HasPrefix(o.path, "/") || o.path == "/healthz":
		return nil, cli.Usagef("-path %q: want an absolute URL path other than /healthz, such as %s", o.path, cli.DefaultWebhookPath)
	case o.pollInterval < 0:
		return nil, cli.Usagef("-poll-interval is %s; want 0 (off) or more", o.pollInterval)
	case o.workers < 1:
		return nil, cli.Usagef("-delivery-workers is %d; want 1 or more", o.workers)
	case o.deliveryBatch < 1:
		return nil, cli.Usagef("-delivery-batch is %d; want 1 or more", o.deliveryBatch)
	case o.deliveryBackoff <= 0:
		return nil, cli.Usagef("-delivery-backoff is %s; want a positive duration", o.deliveryBackoff)
	case o.shopifyPoll <= 0:
		return nil, cli.Usagef("-shopify-poll-interval is %s; want a positive duration", o.shopifyPoll)
	case len(env.WebhookSecrets) == 0:
		return nil, cli.Usagef("no webhook signing secret: set %s (or %s, which the service signs with by default)", cli.EnvWebhookSecret, cli.EnvAPIKey)
	}
	// An unusable secret would refuse every delivery; say so before anything
	// starts, as a settings error.
	if _, err := webhook.NewVerifier(env.WebhookSecrets); err != nil {
		return nil, cli.Usagef("%s: %v", secretSource(env), err)
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return nil, cli.Usagef("-addr %q: %v", o.addr, err)
	}
	if o.consoleAddr != "" {
		if _, _, err := net.SplitHostPort(o.consoleAddr); err != nil {
			return nil, cli.Usagef("-console-addr %q: %v", o.consoleAddr, err)
		}
		if loop, _ := console.IsLoopback(o.consoleAddr); !loop && env.ConsoleToken == "" {
			return nil, cli.Usagef("-console-addr %s is not a loopback address, and the console would let anyone who reaches it replay jobs: set %s to a token of your choosing (sent as \"Authorization: Bearer TOKEN\" or typed into the login form), or listen on 127.0.0.1", o.consoleAddr, cli.EnvConsoleToken)
		} else if !loop && len(env.ConsoleToken) < minConsoleToken {
			return nil, cli.Usagef("%s is %d bytes; a console on %s needs at least %d, as a signing secret does (openssl rand -hex 16 makes one)", cli.EnvConsoleToken, len(env.ConsoleToken), o.consoleAddr, minConsoleToken)
		}
	}
	if _, err := cli.ParseStoreSpec(o.jobs); err != nil {
		return nil, cli.Usagef("-jobs: %v", err)
	}
	review, err := parseReview(*reviewFlag)
	if err != nil {
		return nil, err
	}
	o.review = review
	if o.pollInterval > 0 && !env.Live() {
		if cli.IsSet(fs, "poll-interval") {
			return nil, cli.Usagef("-poll-interval %s needs %s to poll the service (or give -poll-interval 0)", o.pollInterval, cli.EnvAPIKey)
		}
		o.pollInterval, o.pollNoKey = 0, true
	}
	if err := env.CheckShopify(); err != nil {
		return nil, cli.Usagef("%v", err)
	}
	if o.archive != "" {
		if err := cli.CheckArchiveURL(o.archive); err != nil {
			return nil, cli.Usagef("%v", err)
		}
	}
	return &o, nil
}

// parseReview reads -review: surfaces the programs deliver, each once.
func parseReview(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	for _, surface := range strings.Split(s, ",") {
		surface = strings.TrimSpace(surface)
		switch {
		case surface != cli.SurfaceShopifyPDP && surface != cli.SurfaceMetaAds:
			return nil, cli.Usagef("-review %q: unknown target surface %q; want %s or %s, comma-separated", s, surface, cli.SurfaceShopifyPDP, cli.SurfaceMetaAds)
		case slices.Contains(out, surface):
			return nil, cli.Usagef("-review %q: %s is named twice", s, surface)
		}
		out = append(out, surface)
	}
	return out, nil
}

// secretSource names where the signing secrets came from, for messages.
func secretSource(env cli.Env) string {
	if len(env.WebhookSecrets) == 1 && env.WebhookSecrets[0] == env.APIKey {
		return fmt.Sprintf("%s (the signing secret while %s is not set)", cli.EnvAPIKey, cli.EnvWebhookSecret)
	}
	return cli.EnvWebhookSecret
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	env := cli.LoadEnv(os.Getenv)
	o, err := parseFlags(args, stdout, stderr, env)
	if err != nil {
		return err
	}
	logger := cli.NewLogger(stderr, slog.LevelInfo, o.verbose)

	store, spec, err := cli.OpenStore(ctx, o.jobs, logger)
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			store.Close()
		}
	}()

	var metrics *consolemetrics.Metrics
	var observe []webhook.HandlerOption
	if o.consoleAddr != "" {
		if metrics, err = consolemetrics.New(consolemetrics.Config{Store: store, WithProcess: true}); err != nil {
			return err
		}
		observe = append(observe, webhook.WithObserver(func(d webhook.DeliveryOutcome) {
			metrics.ObserveWebhook(string(d.Result), d.Duration)
		}))
	}
	receiver, err := cli.NewReceiver(store, env.WebhookSecrets, logger, nil, observe...)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	mux := http.NewServeMux()
	mux.Handle(o.path, receiver)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		// A job file whose write failed refuses every change until the
		// server restarts, and one that cannot be read fails every
		// operation until it is mended: say so, so that a load balancer or
		// supervisor stops sending the server webhooks it can only answer
		// with 503.
		if failed, ok := store.(interface{ Err() error }); ok {
			if err := failed.Err(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = fmt.Fprintf(w, "job store failing: %v\n", err)
				return
			}
		}
		_, _ = io.WriteString(w, "ok\n")
	})

	deliver, err := deliverConfig(o, env, store, metrics, logger)
	if err != nil {
		return err
	}
	if metrics != nil {
		logged := deliver.OnResult
		deliver.OnResult = func(job jobs.Job, err error) {
			logged(job, err)
			metrics.ObserveDelivery(job, err)
		}
	}
	if o.archive != "" {
		arch, err := cli.OpenArchive(ctx, o.archive, logger)
		if err != nil {
			return err
		}
		defer arch.Close()
		deliver.Archive = arch.Archiver
		fmt.Fprintf(stdout, "archiving every video into %s before delivery\n", arch.Display)
	}
	var reconcile *batch.ReconcileConfig
	if o.pollInterval > 0 {
		client, err := cli.NewAPIClient(env, "webhook-server", logger)
		if err != nil {
			return cli.Usagef("%v", err)
		}
		// Jobs updated within the last interval probably have a webhook on
		// its way; polling them would only add load.
		reconcile = &batch.ReconcileConfig{Client: client, Store: store, OlderThan: o.pollInterval, Logger: logger}
	} else if o.pollNoKey {
		logger.Warn("polling fallback off: " + cli.EnvAPIKey + " is not set")
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	fmt.Fprintf(stdout, "webhook URL: http://%s%s; job store: %s %s\n", ln.Addr(), o.path, spec.Kind, spec.Display)

	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	var consoleSrv *http.Server
	if o.consoleAddr != "" {
		consoleSrv, err = startConsole(o, env, store, metrics, logger, stdout, serveErr)
		if err != nil {
			_ = srv.Close()
			return err
		}
	}

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := outbox.Deliver(workCtx, deliver); err != nil {
			logger.Error("delivery workers stopped", "error", err)
		}
	})
	if reconcile != nil {
		wg.Go(func() {
			cfg := *reconcile
			cfg.Interval = o.pollInterval
			if err := batch.ReconcileLoop(workCtx, cfg); err != nil {
				logger.Error("polling stopped", "error", err)
			}
		})
	}

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down: finishing requests in flight")
	case err := <-serveErr:
		runErr = fmt.Errorf("server: %w", err)
	}
	// Stop taking webhooks first and let those in flight reach the store;
	// then stop the workers, which record any attempt they were making.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		runErr = errors.Join(runErr, fmt.Errorf("shutdown: %w", err))
	}
	if consoleSrv != nil {
		if err := consoleSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			runErr = errors.Join(runErr, fmt.Errorf("console shutdown: %w", err))
		}
	}
	stopWork()
	wg.Wait()
	// Every acknowledged update is already durable; closing waits for the
	// last writes and releases the file lock.
	closed = true
	if err := store.Close(); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("closing the job store: %w", err))
	}
	if runErr == nil {
		fmt.Fprintln(stdout, "stopped")
	}
	return runErr
}

// startConsole serves the operator console and /metrics on -console-addr;
// a failure of that server ends the program like one of the webhook
// server.
func startConsole(o *options, env cli.Env, store jobs.Store, metrics *consolemetrics.Metrics, logger *slog.Logger, stdout io.Writer, serveErr chan<- error) (*http.Server, error) {
	h, err := console.New(console.Config{Store: store, Addr: o.consoleAddr, Token: env.ConsoleToken,
		Metrics: metrics.Handler(), Logger: logger})
	if err != nil {
		return nil, cli.Usagef("-console-addr: %v", err)
	}
	ln, err := net.Listen("tcp", o.consoleAddr)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "console on http://%s\n", ln.Addr())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			serveErr <- fmt.Errorf("console: %w", err)
		}
	}()
	return srv, nil
}

// deliverConfig sets up the outbox: a sink per surface, with retries spaced
// by -delivery-backoff, and the review gate of -review. With metrics, the
// Shopify client's cost reports are counted.
func deliverConfig(o *options, env cli.Env, store jobs.Store, metrics *consolemetrics.Metrics, logger *slog.Logger) (outbox.Config, error) {
	var pub *shopify.Publisher
	if env.ShopifyConfigured() {
		var copts []shopify.Option
		if metrics != nil {
			copts = append(copts, shopify.WithCostObserver(func(r shopify.CostReport) {
				metrics.ObserveShopifyCost(r.Operation, r.Actual, r.Throttled)
			}))
		}
		client, err := cli.NewShopifyClient(env, logger, copts...)
		if err != nil {
			return outbox.Config{}, cli.Usagef("Shopify: %v", err)
		}
		popts := []shopify.PublisherOption{shopify.WithPollInterval(o.shopifyPoll, max(15*time.Second, o.shopifyPoll))}
		if o.archive != "" {
			// The publisher downloads output_url itself; this transport
			// answers that download from the archived copy.
			popts = append(popts, shopify.WithTransferClient(&http.Client{Transport: outbox.ArchiveTransport(nil)}))
		}
		pub = shopify.NewPublisher(client, popts...)
	} else {
		// Said once: this server never claims shopify-pdp jobs, so they
		// are neither attempted nor failed here.
		logger.Warn("Shopify not configured: shopify-pdp jobs stay pending in the job store until a server with " +
			cli.EnvShopifyStore + " and " + cli.EnvShopifyToken + " set delivers them")
	}
	policy := backoff.Policy{Initial: o.deliveryBackoff, Max: max(time.Hour, o.deliveryBackoff)}
	// The workers download each video from the output host (one CDN), and
	// the default transport keeps two idle connections per host: keep one
	// per worker, or the others dial and close a connection per video.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = max(o.workers, transport.MaxIdleConnsPerHost)
	sinks := cli.Sinks(pub, &cli.AdPipelineSink{Client: &http.Client{Transport: transport}})
	var review []string
	for _, surface := range o.review {
		// A surface this server has no sink for is never claimed here, so
		// its videos wait for a server that delivers it (and reviews it).
		if _, ok := sinks[surface]; ok {
			review = append(review, surface)
		}
	}
	if len(review) > 0 {
		logger.Info("review gate: videos wait for approval before delivery", "surfaces", strings.Join(review, ","))
	}
	return outbox.Config{
		Store:        store,
		Sinks:        sinks,
		Review:       review,
		Workers:      o.workers,
		BatchSize:    o.deliveryBatch,
		Backoff:      func(n int) time.Duration { return policy.Delay(n - 1) },
		PollInterval: time.Second,
		Logger:       logger,
		OnResult: func(job jobs.Job, err error) {
			if err == nil {
				logger.Info("delivered", "sku", job.SKU, "target_surface", job.TargetSurface, "ref", job.DeliveryRef)
			}
		},
	}, nil
}
