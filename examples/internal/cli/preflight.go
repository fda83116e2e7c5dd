package cli

import (
	"context"
	"errors"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/shopify"
)

// PreflightFlagHelp is the help of -preflight in submit and catalog.
const PreflightFlagHelp = "check shopify-pdp rows against the Shopify store before paying for their renders " +
	"(the SKU names one product, the product has room for another medium, the length is one Shopify hosts); " +
	"a row that fails ends submit_failed with a preflight: error. On when Shopify is configured; -preflight=false skips it"

// Preflight returns the check batch.Run makes before submitting rows: the
// shopify-pdp rows are checked against pub's store in one pass per batch
// (see shopify.Preflighter.Preflight); rows for other surfaces pass.
func Preflight(pub *shopify.Publisher) (batch.Preflighter, error) {
	if pub == nil {
		return nil, errors.New("preflight: no Shopify publisher")
	}
	pre, err := shopify.NewPreflighter(pub)
	if err != nil {
		return nil, err
	}
	return batch.PreflightFunc(func(ctx context.Context, rows []batch.PreflightRow) ([]error, error) {
		errs := make([]error, len(rows))
		var at []int
		var checks []shopify.PreflightRow
		for i, r := range rows {
			if r.Row.TargetSurface != SurfaceShopifyPDP {
				continue
			}
			at = append(at, i)
			checks = append(checks, shopify.PreflightRow{Key: r.Key, SKU: r.Row.SKU, Duration: r.Row.Duration.Std()})
		}
		if len(checks) == 0 {
			return errs, nil
		}
		found, err := pre.Preflight(ctx, checks)
		if err != nil {
			return nil, err
		}
		for j, e := range found {
			errs[at[j]] = e
		}
		return errs, nil
	}), nil
}
