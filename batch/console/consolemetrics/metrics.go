// Package consolemetrics exports a catalog run's numbers in Prometheus'
// text format with prometheus/client_golang: jobs by console state and the
// estimated spend (read from the store on each scrape), webhook requests by
// result with their latency, deliveries by target surface and outcome, and
// the Shopify Admin API's cost points spent and THROTTLED answers.
//
// It is an adapter for programs: package console stays free of the
// metrics library, and takes the handler this package builds as
// console.Config.Metrics so that /metrics sits behind the console's token.
// Nothing here imports package webhook or shopify either; a program passes
// the handler's outcomes and the Shopify client's cost reports in (see
// [Metrics.ObserveWebhook] and [Metrics.ObserveShopifyCost]).
package consolemetrics

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/creativeai-run/catalogvideo/batch/console"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// Config configures the metrics.
type Config struct {
	// Store is read on every scrape for the jobs by state; required.
	Store jobs.Store
	// Pricing prices the spend gauge for jobs tracked before the SDK
	// recorded prices on jobs (default creativeai.DefaultPricing()); the
	// others count the prices recorded on them.
	Pricing *creativeai.Pricing
	// ScrapeTimeout bounds the read of the store per scrape (default 10s).
	ScrapeTimeout time.Duration
	// WithProcess adds the Go runtime and process collectors.
	WithProcess bool
}

// Metrics holds the collectors and the registry they are served from.
type Metrics struct {
	reg            *prometheus.Registry
	webhooks       *prometheus.CounterVec
	webhookLatency *prometheus.HistogramVec
	deliveries     *prometheus.CounterVec
	shopifyPoints  *prometheus.CounterVec
	shopifyRefused *prometheus.CounterVec
}

// Delivery outcomes, the "outcome" label of catalogvideo_deliveries_total.
const (
	OutcomeDelivered = "delivered" // the sink accepted the video
	OutcomeRetry     = "retry"     // the attempt failed and will be retried
	OutcomeFailed    = "failed"    // the attempt failed for good
)

// New registers the collectors on a registry of their own. It returns an
// error for a nil Store or a negative ScrapeTimeout.
func New(cfg Config) (*Metrics, error) {
	if cfg.Store == nil {
		return nil, errors.New("consolemetrics: Config.Store is nil")
	}
	if cfg.ScrapeTimeout < 0 {
		return nil, errors.New("consolemetrics: Config.ScrapeTimeout is negative")
	}
	if cfg.ScrapeTimeout == 0 {
		cfg.ScrapeTimeout = 10 * time.Second
	}
	p := creativeai.DefaultPricing()
	if cfg.Pricing != nil {
		p = *cfg.Pricing
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "catalogvideo_webhook_requests_total",
			Help: "Webhook requests answered, by result (accepted, duplicate, unauthorized, handler_failed, …).",
		}, []string{"result"}),
		webhookLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "catalogvideo_webhook_request_duration_seconds",
			Help:    "Time from a webhook request's arrival to its answer, by result.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8), // 1 ms to 16 s
		}, []string{"result"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "catalogvideo_deliveries_total",
			Help: "Delivery attempts of finished videos, by target surface and outcome (delivered, retry, failed).",
		}, []string{"surface", "outcome"}),
		shopifyPoints: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "catalogvideo_shopify_cost_points_total",
			Help: "Shopify Admin API cost points debited (actualQueryCost), by GraphQL operation.",
		}, []string{"operation"}),
		shopifyRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "catalogvideo_shopify_throttled_total",
			Help: "Shopify Admin API answers refused as THROTTLED (the cost bucket could not pay the requested cost), by GraphQL operation.",
		}, []string{"operation"}),
	}
	cs := []prometheus.Collector{m.webhooks, m.webhookLatency, m.deliveries, m.shopifyPoints, m.shopifyRefused,
		newJobsCollector(cfg.Store, p, cfg.ScrapeTimeout)}
	if cfg.WithProcess {
		cs = append(cs, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Registry is where the collectors are registered, for a program to add
// its own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// ObserveWebhook counts one webhook request and its latency; result is the
// handler's classification (webhook.DeliveryOutcome.Result). Pass it from
// webhook.WithObserver.
func (m *Metrics) ObserveWebhook(result string, d time.Duration) {
	m.webhooks.WithLabelValues(result).Inc()
	m.webhookLatency.WithLabelValues(result).Observe(d.Seconds())
}

// ObserveDelivery counts one delivery attempt; its signature is that of
// outbox.Config.OnResult, which it is meant for. job is the job as recorded
// after the attempt.
func (m *Metrics) ObserveDelivery(job jobs.Job, err error) {
	outcome := OutcomeDelivered
	if err != nil {
		outcome = OutcomeRetry
		if job.Delivery == jobs.DeliveryFailed {
			outcome = OutcomeFailed
		}
	}
	m.deliveries.WithLabelValues(job.TargetSurface, outcome).Inc()
}

// ObserveShopifyCost counts the cost of one Shopify Admin API answer: the
// points actually debited, and whether it was refused as THROTTLED. Its
// arguments are the fields of a shopify.CostReport; pass them from
// shopify.WithCostObserver.
func (m *Metrics) ObserveShopifyCost(operation string, actual float64, throttled bool) {
	if actual > 0 {
		m.shopifyPoints.WithLabelValues(operation).Add(actual)
	}
	if throttled {
		m.shopifyRefused.WithLabelValues(operation).Inc()
	}
}

// jobsCollector reads the store on each scrape.
type jobsCollector struct {
	store   jobs.Store
	pricing creativeai.Pricing
	timeout time.Duration
	jobs    *prometheus.Desc
	spend   *prometheus.Desc
	units   *prometheus.Desc
}

func newJobsCollector(store jobs.Store, p creativeai.Pricing, timeout time.Duration) *jobsCollector {
	return &jobsCollector{store: store, pricing: p, timeout: timeout,
		jobs: prometheus.NewDesc("catalogvideo_jobs", "Jobs in the store by console state (queued, rendering, ready, awaiting_review, rejected, published, delivery_failed, failed, submit_failed).",
			[]string{"state"}, nil),
		spend: prometheus.NewDesc("catalogvideo_spend_dollars", "Estimated spend on the generations the service accepted for the jobs in the store, at the prices recorded on the jobs (the configured prices for jobs tracked before prices were recorded).",
			nil, nil),
		units: prometheus.NewDesc("catalogvideo_generations", "Generations the service accepted for the jobs in the store (earlier attempts included), by kind (clip, still).",
			[]string{"kind"}, nil),
	}
}

// Describe sends the descriptors.
func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.spend
	ch <- c.units
}

// Collect reads every job once. A failed read reports an invalid metric,
// which the handler answers with an error rather than stale numbers.
func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	counts := map[console.State]int{}
	clips, stills := 0, 0
	var spent creativeai.Cents
	for job, err := range c.store.List(ctx, jobs.Filter{}) {
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.jobs, err)
			return
		}
		counts[console.StateOf(&job)]++
		cl, st := console.Units(&job)
		clips += cl
		stills += st
		spent += console.Cost(&job, c.pricing)
	}
	for _, st := range console.States() {
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
	ch <- prometheus.MustNewConstMetric(c.units, prometheus.GaugeValue, float64(clips), "clip")
	ch <- prometheus.MustNewConstMetric(c.units, prometheus.GaugeValue, float64(stills), "still")
	ch <- prometheus.MustNewConstMetric(c.spend, prometheus.GaugeValue, float64(spent)/100)
}
