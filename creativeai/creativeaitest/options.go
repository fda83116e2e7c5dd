package creativeaitest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/creativeai-run/catalogvideo/internal/signing"
)

// The defaults a [Server] starts with.
const (
	// DefaultAPIKey is the key a Server expects unless [WithAPIKey] sets
	// another. It has the shape of a real key so that redaction and
	// validation code meet something realistic.
	DefaultAPIKey = "rph_test_creativeaitest"

	// DefaultRenderTime is the mean time from create to a terminal state.
	// Real renders take 30 s to 4 min; tests want milliseconds.
	DefaultRenderTime = 5 * time.Millisecond

	// ServiceDefaultModel is the model the simulated service records when a
	// create request names none. (batch.DefaultModel is another thing: the
	// model a manifest row without one is submitted with.)
	ServiceDefaultModel = "kling-v3"

	// ServiceDefaultAspectRatio is the aspect ratio the simulated service
	// records when a create request names none.
	ServiceDefaultAspectRatio = "16:9"

	// ServiceDefaultDuration is the clip length in seconds the simulated
	// service records when a create request names none.
	ServiceDefaultDuration = 5

	// DefaultOutputSize is the size in bytes of every rendered mp4.
	DefaultOutputSize = 64 << 10

	// DefaultWebhookConcurrency bounds the goroutines that send webhooks.
	DefaultWebhookConcurrency = 4

	// DefaultWebhookTimeout bounds one webhook attempt.
	DefaultWebhookTimeout = 10 * time.Second
)

// Former names of the request defaults, kept for one release.
const (
	// Deprecated: use [ServiceDefaultModel]; batch.DefaultModel means
	// something else. DefaultModel will be removed in the next release.
	DefaultModel = ServiceDefaultModel
	// Deprecated: use [ServiceDefaultAspectRatio]; DefaultAspectRatio will
	// be removed in the next release.
	DefaultAspectRatio = ServiceDefaultAspectRatio
	// Deprecated: use [ServiceDefaultDuration]; DefaultDuration will be
	// removed in the next release.
	DefaultDuration = ServiceDefaultDuration
)

// defaultModels are the models the public pages mention.
var defaultModels = []string{"kling-v3", "seedance-1.5-pro", "veo-3.1", "auto"}

// defaultWebhookRetries is the service's published schedule: three retries,
// 0 s, 5 s and 30 s after the attempt before.
var defaultWebhookRetries = []time.Duration{0, 5 * time.Second, 30 * time.Second}

// An Option configures a [Server]. [NewServer] skips a nil option and panics
// if an option is invalid, as [net/http/httptest.NewServer] panics when it
// cannot listen: both are mistakes in the test, not conditions to handle.
// (Library constructors, by contrast, return such errors.)
type Option func(*config)

// config is what the options set. The Server keeps it read-only after
// NewServer, except the faults, which SetFaults replaces under a lock.
type config struct {
	apiKey             string
	webhookSecret      string // empty: the API key
	standardWebhooks   bool
	renderTime         time.Duration
	manual             bool
	failureRate        float64
	failureKinds       []FailureKind
	failoverRate       float64
	seed               int64
	seeded             bool
	models             map[string]bool
	outputSize         int64
	faults             Faults
	webhookRetries     []time.Duration
	webhookDuplicates  float64
	webhookReorder     bool
	processingEvents   bool
	webhookConcurrency int
	webhookTimeout     time.Duration
	webhookClient      *http.Client
	outputTTL          time.Duration
	clock              interface{ Now() time.Time }

	errs []error
}

func defaultConfig() config {
	c := config{
		apiKey:             DefaultAPIKey,
		renderTime:         DefaultRenderTime,
		models:             make(map[string]bool),
		outputSize:         DefaultOutputSize,
		webhookRetries:     defaultWebhookRetries,
		processingEvents:   true,
		webhookConcurrency: DefaultWebhookConcurrency,
		webhookTimeout:     DefaultWebhookTimeout,
	}
	for _, m := range defaultModels {
		c.models[m] = true
	}
	return c
}

func (c *config) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("creativeaitest: "+format, args...))
}

// probability records an error unless p is in [0, 1].
func (c *config) probability(option string, p float64) {
	if !(p >= 0 && p <= 1) { // also catches NaN
		c.fail("%s(%v): want a probability in [0, 1]", option, p)
	}
}

func (c *config) err() error { return errors.Join(c.errs...) }

// WithAPIKey sets the key the server expects in "Authorization: Bearer
// <key>" (default [DefaultAPIKey]). It is also the default webhook secret.
func WithAPIKey(key string) Option {
	return func(c *config) {
		if strings.TrimSpace(key) == "" || strings.ContainsFunc(key, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			c.fail("WithAPIKey: the key must be non-empty and free of whitespace and control characters")
			return
		}
		c.apiKey = key
	}
}

// WithWebhookSecret sets the secret that signs webhook deliveries. By
// default the service signs with the API key, and so does the Server.
//
// The key is derived as webhook.NewVerifier derives it: the decoded key of a
// "whsec_" secret, or else the secret's bytes; so a receiver configured with
// the same secret verifies every delivery, in either scheme. A secret
// webhook.NewVerifier would refuse (blank, surrounded by whitespace, a
// pasted signature, a truncated "whsec_" key, shorter than 16 bytes) is
// refused here too, since no receiver could be configured to accept it.
func WithWebhookSecret(secret string) Option {
	return func(c *config) {
		if _, err := signing.ParseSecret(secret); err != nil {
			c.fail("WithWebhookSecret: %v", err)
			return
		}
		c.webhookSecret = secret
	}
}

// WithStandardWebhooks, when enabled, signs deliveries as Standard Webhooks
// (standardwebhooks.com) instead of with X-CreativeAI-Signature: headers
// webhook-id (the delivery id, the same on every retry), webhook-timestamp
// (the attempt's time in Unix seconds) and webhook-signature ("v1," and the
// base64 HMAC-SHA256 of "id.timestamp.body"). The body and the
// X-CreativeAI-Event and X-CreativeAI-Delivery-Id headers stay as they are.
// The default, false, signs as the service documents.
func WithStandardWebhooks(enabled bool) Option {
	return func(c *config) { c.standardWebhooks = enabled }
}

// WithRenderTime sets the mean time from create to a terminal state (default
// [DefaultRenderTime]). Each render takes between half and one and a half
// times d, drawn from the seed, so that renders finish out of submission
// order as real ones do; a render turns "processing" after a third of its
// time. Zero makes renders finish as soon as the timers fire.
func WithRenderTime(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.fail("WithRenderTime(%v): negative duration", d)
			return
		}
		c.renderTime = d
	}
}

// WithManualRender stops renders from advancing on their own: every
// generation stays "pending" until the test calls [Server.Advance],
// [Server.Complete] or [Server.Fail]. It makes tests deterministic without
// depending on timing.
func WithManualRender() Option {
	return func(c *config) { c.manual = true }
}

// WithFailureRate sets the probability that a render ends "failed" (default
// 0). Which renders fail is decided by the seed, the render's inputs and how
// often those inputs were rendered before, not by the order requests arrive
// in.
func WithFailureRate(p float64) Option {
	return func(c *config) {
		c.probability("WithFailureRate", p)
		c.failureRate = p
	}
}

// WithFailoverRate sets the probability that a render reports
// "failover_used": true, as when the service switched providers (default 0).
func WithFailoverRate(p float64) Option {
	return func(c *config) {
		c.probability("WithFailoverRate", p)
		c.failoverRate = p
	}
}

// WithSeed makes the server deterministic: generation and delivery ids,
// render outcomes and times, webhook duplicates and the sequence of injected
// faults all derive from seed. Without it the server picks a random seed,
// which [Server.Seed] reports so that a failing test can be replayed.
//
// Render outcomes and ids depend only on the seed and the request, so they
// are the same however concurrent clients interleave; injected faults are
// drawn in the order requests arrive, so they repeat exactly only for a
// client that sends one request at a time.
func WithSeed(seed int64) Option {
	return func(c *config) {
		c.seed = seed
		c.seeded = true
	}
}

// WithModels replaces the set of video models the server accepts (default
// kling-v3, seedance-1.5-pro, veo-3.1 and auto). A create naming another
// model is rejected with 400, which gives tests a permanent error on demand.
func WithModels(models ...string) Option {
	return func(c *config) {
		if len(models) == 0 {
			c.fail("WithModels: no models")
			return
		}
		c.models = make(map[string]bool, len(models))
		for _, m := range models {
			if strings.TrimSpace(m) == "" {
				c.fail("WithModels: empty model name")
				continue
			}
			c.models[m] = true
		}
	}
}

// WithOutputSize sets the size in bytes of the mp4 served at each completed
// generation's output_url (default [DefaultOutputSize]). The bytes are
// produced as they are read, so a size of gigabytes costs no memory.
func WithOutputSize(n int64) Option {
	return func(c *config) {
		if n < minOutputSize {
			c.fail("WithOutputSize(%d): want at least %d bytes (the ftyp and mdat headers)", n, minOutputSize)
			return
		}
		c.outputSize = n
	}
}

// WithOutputTTL makes each completed generation's output_url expire ttl
// after the render completed, as the service's CDN links do (it does not
// say when; comparable services keep outputs from one hour to two days).
// An expired output is answered 403 Forbidden with code output_expired, as
// an expired signed URL is. The default, 0, keeps outputs forever. Time is
// read from [WithClock]'s clock.
func WithOutputTTL(ttl time.Duration) Option {
	return func(c *config) {
		if ttl < 0 {
			c.fail("WithOutputTTL(%v): want a non-negative duration", ttl)
			return
		}
		c.outputTTL = ttl
	}
}

// WithClock sets the clock that times output expiry ([WithOutputTTL]) and
// stamps created_at and completed_at (default: the wall clock), so that a
// test can move past an output's expiry without sleeping. Render and
// webhook timings stay on real timers. A nil clock is skipped.
func WithClock(clock interface{ Now() time.Time }) Option {
	return func(c *config) {
		if clock != nil {
			c.clock = clock
		}
	}
}

// WithFaults injects faults into API requests from the start; see [Faults]
// and [Server.SetFaults].
func WithFaults(f Faults) Option {
	return func(c *config) {
		if err := f.validate(); err != nil {
			c.errs = append(c.errs, err)
			return
		}
		c.faults = f
	}
}

// WithWebhookRetries sets how often a webhook delivery that got no 2xx answer
// (or no answer) is retried: n times, waiting backoff before the first retry
// and doubling the wait after each. The default follows the service: three
// retries, 0 s, 5 s and 30 s after the attempt before; tests usually want
// milliseconds. n = 0 disables retries.
func WithWebhookRetries(n int, backoff time.Duration) Option {
	return func(c *config) {
		if n < 0 || n > 100 || backoff < 0 {
			c.fail("WithWebhookRetries(%d, %v): want 0 to 100 retries and a non-negative backoff", n, backoff)
			return
		}
		c.webhookRetries = make([]time.Duration, n)
		for i := range c.webhookRetries {
			c.webhookRetries[i] = backoff << min(i, 30)
		}
	}
}

// WithWebhookRetrySchedule sets the exact waits before each retry of a
// webhook delivery: len(delays) retries, the i-th after delays[i].
func WithWebhookRetrySchedule(delays ...time.Duration) Option {
	return func(c *config) {
		for _, d := range delays {
			if d < 0 {
				c.fail("WithWebhookRetrySchedule: negative delay %v", d)
				return
			}
		}
		c.webhookRetries = append([]time.Duration(nil), delays...)
	}
}

// WithWebhookDuplicates sets the probability that an event is delivered a
// second time, with the same body and delivery id, as a sender does when it
// did not see the first answer (default 0).
func WithWebhookDuplicates(p float64) Option {
	return func(c *config) {
		c.probability("WithWebhookDuplicates", p)
		c.webhookDuplicates = p
	}
}

// WithWebhookReorder, when enabled, holds every "processing" event back
// until the delivery of the same generation's terminal event has ended, so
// the receiver sees a stale "processing" after "completed" or "failed".
func WithWebhookReorder(enabled bool) Option {
	return func(c *config) { c.webhookReorder = enabled }
}

// WithProcessingEvents sets whether "processing" transitions are delivered
// as video.generation.processing events (default true). Terminal events are
// always delivered.
func WithProcessingEvents(enabled bool) Option {
	return func(c *config) { c.processingEvents = enabled }
}

// WithWebhookConcurrency bounds the number of webhook deliveries in flight
// (default [DefaultWebhookConcurrency]).
func WithWebhookConcurrency(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("WithWebhookConcurrency(%d): want at least 1", n)
			return
		}
		c.webhookConcurrency = n
	}
}

// WithWebhookTimeout bounds one webhook attempt, response included (default
// [DefaultWebhookTimeout]); an attempt that times out is retried.
func WithWebhookTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("WithWebhookTimeout(%v): want a positive duration", d)
			return
		}
		c.webhookTimeout = d
	}
}

// WithWebhookClient sets the HTTP client that sends webhooks, for example
// the Client of an httptest TLS server. By default the Server uses a
// transport of its own whose idle connections Close shuts.
func WithWebhookClient(hc *http.Client) Option {
	return func(c *config) {
		if hc == nil {
			c.fail("WithWebhookClient: nil *http.Client")
			return
		}
		c.webhookClient = hc
	}
}
