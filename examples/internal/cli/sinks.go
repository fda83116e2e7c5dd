package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/creativeai-run/catalogvideo/batch/outbox"
	"github.com/creativeai-run/catalogvideo/shopify/shopifysink"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

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
// shopify-pdp, and the stand-in ad pipeline for meta-ads.
//
// With no publisher (Shopify not configured) there is no shopify-pdp sink, so
// a program running outbox.Deliver without a Fallback leaves shopify-pdp jobs
// pending in the store for a program that has Shopify settings, rather than
// attempting and failing them.
func Sinks(pub *shopify.Publisher, ads *AdPipelineSink) map[string]outbox.Sink {
	sinks := map[string]outbox.Sink{}
	if pub != nil {
		sinks[SurfaceShopifyPDP] = shopifysink.New(pub)
	}
	if ads != nil {
		sinks[SurfaceMetaAds] = ads
	}
	return sinks
}

// Unrouted is the outbox.Config.Fallback of a program that delivers a batch
// and exits (catalog): a job whose target surface has no sink fails at once
// with an error that names the surface, or the missing Shopify settings,
// rather than waiting in the outbox past the program's end.
var Unrouted outbox.Sink = outbox.SinkFunc(func(_ context.Context, job jobs.Job) (string, error) {
	if job.TargetSurface == SurfaceShopifyPDP {
		return "", outbox.Permanent(errors.New("no Shopify store configured: set " + EnvShopifyStore + " and " + EnvShopifyToken))
	}
	return "", outbox.Permanent(fmt.Errorf("no delivery sink for target_surface %q", job.TargetSurface))
})
