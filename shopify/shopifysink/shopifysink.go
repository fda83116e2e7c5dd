// Package shopifysink delivers finished videos from the job outbox
// (batch/outbox) to Shopify product pages through a shopify.Publisher.
//
// It is the one place that knows both: package shopify imports nothing of
// batch, and nothing under batch imports shopify, so an app that only
// publishes videos carries no job store, and a store carries no GraphQL.
//
//	pub := shopify.NewPublisher(client)
//	err := outbox.Deliver(ctx, outbox.Config{
//		Store: store,
//		Sinks: map[string]outbox.Sink{"shopify-pdp": shopifysink.New(pub)},
//		// Up to 50 due videos per publish; 25 or more go in one bulk operation.
//		BatchSize: outbox.DefaultBatchSize,
//	})
package shopifysink

import (
	"context"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/outbox"
	"github.com/creativeai-run/catalogvideo/shopify"
)

// Option configures the sink of one surface.
type Option func(*sink)

// sink is the outbox.BatchSink of one surface.
type sink struct {
	pub       *shopify.Publisher
	placement shopify.Placement
}

// WithPlacement sets where this surface's videos go in the product's
// gallery (see shopify.Placement); the default is the Publisher's
// (shopify.DefaultPlacement: slot 2, right after the hero image). Give
// each surface its own sink to place them differently.
func WithPlacement(pl shopify.Placement) Option {
	return func(s *sink) { s.placement = pl }
}

// New returns the sink that attaches each job's video to the Shopify product
// whose variant has the job's SKU exactly. The job's key marks the video on
// the product, so a retried delivery finds the video an earlier attempt
// attached instead of attaching it twice. The publisher's permanent errors
// (unknown SKU, media limit, processing failed) carry Permanent() bool,
// which the outbox honours by not retrying them. A job for a SKU that
// already has a video from this SDK replaces it (see
// shopify.Publisher.PublishBatch). The job's CreatedAt orders the jobs of
// one SKU: delivered together they are published oldest first, and an
// older job delivered after a newer one leaves the newer video in place
// (its ref ends in ";superseded=true"), so the newest job's video is the
// one that stays.
//
// The sink is an outbox.BatchSink: the outbox hands it up to
// outbox.Config.BatchSize due jobs at once (50 by default), and
// DeliverBatch publishes them with one shopify.Publisher.PublishBatch, so a
// batch of at least the publisher's bulk threshold
// (shopify.DefaultBulkThreshold, 25; shopify.WithBulkThreshold) is
// attached by one bulk operation instead of a productUpdate per video. A
// backlog, such as a catalog's renders finishing together, reaches Shopify
// that way. Deliver, which the outbox calls with BatchSize 1, publishes
// one job through shopify.Publisher.PublishJob, which coalesces the
// deliveries of concurrent workers into small batches
// (shopify.WithCoalescing).
//
// The ref recorded on each job is a shopify.DeliveryRef: the Shopify media
// id, then the video's gallery slot, the video it replaced and its publish
// batch, as in gid://shopify/Video/1005;slot=2;batch=pb-0f3a9c2e71d4
// (read it with shopify.ParseDeliveryRef).
func New(p *shopify.Publisher, opts ...Option) outbox.BatchSink {
	s := &sink{pub: p}
	for _, opt := range opts {
		if opt != nil {
			opt(s)
		}
	}
	return s
}

// Deliver publishes job alone (see New).
func (s *sink) Deliver(ctx context.Context, job jobs.Job) (string, error) {
	res, err := s.pub.PublishJob(ctx, s.videoJob(job))
	if err != nil {
		return "", err
	}
	return res.DeliveryRef().String(), nil
}

// DeliverBatch publishes batch with one PublishBatch and returns each
// job's ref or error, in the order of batch (see New).
func (s *sink) DeliverBatch(ctx context.Context, batch []jobs.Job) []outbox.Result {
	vjobs := make([]shopify.VideoJob, len(batch))
	for i, job := range batch {
		vjobs[i] = s.videoJob(job)
	}
	out := make([]outbox.Result, len(batch))
	for i, o := range s.pub.PublishBatch(ctx, vjobs) {
		if o.Err != nil {
			out[i].Err = o.Err
			continue
		}
		out[i].Ref = o.Result.DeliveryRef().String()
	}
	return out
}

func (s *sink) videoJob(job jobs.Job) shopify.VideoJob {
	return shopify.VideoJob{Key: job.Key, SKU: job.SKU, OutputURL: job.OutputURL, Placement: s.placement, CreatedAt: job.CreatedAt}
}
