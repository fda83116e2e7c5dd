package cli

import (
	"context"
	"errors"
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
// surface fail delivery with an error naming it (outbox.Config's
// default).
//
// With no publisher (Shopify not configured), shopify-pdp deliveries fail
// with an error that is retried with backoff rather than final, so that an
// operator who restarts the program with SHOPIFY_* set still gets them
// published.
func Sinks(pub *shopify.Publisher, ads *AdPipelineSink) map[string]outbox.Sink {
	sinks := map[string]outbox.Sink{}
	if pub != nil {
		sinks[SurfaceShopifyPDP] = shopifysink.New(pub)
	} else {
		sinks[SurfaceShopifyPDP] = outbox.SinkFunc(func(context.Context, jobs.Job) (string, error) {
			return "", errShopifyNotConfigured
		})
	}
	if ads != nil {
		sinks[SurfaceMetaAds] = ads
	}
	return sinks
}
