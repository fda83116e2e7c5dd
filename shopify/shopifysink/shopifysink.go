// Package shopifysink delivers finished videos from the job outbox
// (batch/outbox) to Shopify product pages through a shopify.Publisher.
//
// It is the one place that knows both: package shopify imports nothing of
// batch, and nothing under batch imports shopify, so an app that only
// publishes videos carries no job store, and a store carries no GraphQL.
//
//	pub := shopify.NewPublisher(client)
//	err := outbox.Deliver(ctx, outbox.Config{
//		Store:   store,
//		Sinks:   map[string]outbox.Sink{"shopify-pdp": shopifysink.New(pub)},
//		Workers: 32, // concurrent deliveries coalesce into batches
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

type sink struct {
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
// shopify.Publisher.PublishBatch).
//
// Publish coalesces the deliveries that the outbox's workers make at the
// same time into one batch (see shopify.Publisher.PublishBatch): more
// delivery workers mean fuller batches and fewer cost points per video. The
// ref recorded on the job is a shopify.DeliveryRef: the Shopify media id,
// then the video's gallery slot, the video it replaced and its publish
// batch, as in gid://shopify/Video/1005;slot=2;batch=pb-0f3a9c2e71d4
// (read it with shopify.ParseDeliveryRef).
func New(p *shopify.Publisher, opts ...Option) outbox.Sink {
	var s sink
	for _, opt := range opts {
		if opt != nil {
			opt(&s)
		}
	}
	return outbox.SinkFunc(func(ctx context.Context, job jobs.Job) (string, error) {
		res, err := p.PublishJob(ctx, shopify.VideoJob{Key: job.Key, SKU: job.SKU, OutputURL: job.OutputURL, Placement: s.placement})
		if err != nil {
			return "", err
		}
		return res.DeliveryRef().String(), nil
	})
}
