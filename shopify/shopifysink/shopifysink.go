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

// New returns the sink that attaches each job's video to the Shopify product
// whose variant has the job's SKU exactly. The job's key marks the video on
// the product, so a retried delivery finds the video an earlier attempt
// attached instead of attaching it twice. The publisher's permanent errors
// (unknown SKU, media limit, processing failed) carry Permanent() bool,
// which the outbox honours by not retrying them.
//
// Publish coalesces the deliveries that the outbox's workers make at the
// same time into one batch (see shopify.Publisher.PublishBatch): more
// delivery workers mean fuller batches and fewer cost points per video. The
// ref recorded on the job is the Shopify media id.
func New(p *shopify.Publisher) outbox.Sink {
	return outbox.SinkFunc(func(ctx context.Context, job jobs.Job) (string, error) {
		return p.Publish(ctx, job.Key, job.SKU, job.OutputURL)
	})
}
