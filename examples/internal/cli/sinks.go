package cli

import (
	"context"
	"errors"
	"log/slog"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/shopify"
)

// The target surfaces the programs deliver to.
const (
	// SurfaceShopifyPDP attaches the video to the Shopify product whose
	// variant has the row's SKU.
	SurfaceShopifyPDP = "shopify-pdp"
	// SurfaceMetaAds hands the video to an ad pipeline; the examples stand
	// one in with AdPipelineSink.
	SurfaceMetaAds = "meta-ads"
)

// ShopifySink adapts a shopify.Publisher to the batch delivery outbox: the
// job's key marks the video on the product, so a retried delivery finds the
// video an earlier attempt attached instead of attaching it twice. The
// publisher's permanent errors (unknown SKU, media limit, processing failed)
// carry Permanent() bool, which the outbox honours. Publish coalesces the
// deliveries that the outbox's workers make at the same time into one
// batch (see shopify.Publisher.PublishBatch), so more delivery workers mean
// fuller batches and fewer cost points per video.
func ShopifySink(p *shopify.Publisher) batch.Sink {
	return batch.SinkFunc(func(ctx context.Context, job batch.Job) (string, error) {
		return p.Publish(ctx, job.Key, job.SKU, job.OutputURL)
	})
}

var errShopifyNotConfigured = errors.New("no Shopify store configured: set " + EnvShopifyStore + " and " + EnvShopifyToken)

// NewShopifyClient builds a Shopify Admin client from the environment:
// SHOPIFY_ADMIN_API_URL overrides SHOPIFY_STORE and SHOPIFY_API_VERSION.
func NewShopifyClient(env Env, logger *slog.Logger, opts ...shopify.Option) (*shopify.Client, error) {
	base := []shopify.Option{shopify.WithLogger(logger)}
	if env.ShopifyAPIVersion != "" {
		base = append(base, shopify.WithAPIVersion(env.ShopifyAPIVersion))
	}
	if env.ShopifyAdminURL != "" {
		base = append(base, shopify.WithEndpoint(env.ShopifyAdminURL))
	}
	return shopify.NewClient(env.ShopifyStore, env.ShopifyToken, append(base, opts...)...)
}

// Sinks returns the delivery sinks of the programs: the Shopify publisher for
// shopify-pdp, and the stand-in ad pipeline for meta-ads. Jobs for any other
// surface fail delivery with an error naming it (batch.DeliverConfig's
// default).
//
// With no publisher (Shopify not configured), shopify-pdp deliveries fail
// with an error that is retried with backoff rather than final, so that an
// operator who restarts the program with SHOPIFY_* set still gets them
// published.
func Sinks(pub *shopify.Publisher, ads *AdPipelineSink) map[string]batch.Sink {
	sinks := map[string]batch.Sink{}
	if pub != nil {
		sinks[SurfaceShopifyPDP] = ShopifySink(pub)
	} else {
		sinks[SurfaceShopifyPDP] = batch.SinkFunc(func(context.Context, batch.Job) (string, error) {
			return "", errShopifyNotConfigured
		})
	}
	if ads != nil {
		sinks[SurfaceMetaAds] = ads
	}
	return sinks
}
