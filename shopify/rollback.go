package shopify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
)

// RollbackResult tells what Rollback did to a product.
type RollbackResult struct {
	// ProductID is the product of the job's SKU.
	ProductID string
	// Removed is the job's video, detached from the product by this call;
	// empty when it was not on the product.
	Removed string
	// Restored is the earlier video the job's video had replaced, when the
	// job was a replacement: attached again and back in its slot.
	Restored string
	// Slot is the restored video's slot, counting from 1; 0 when nothing
	// was restored.
	Slot int
	// Changed reports whether the product was changed. A second roll back
	// of the same job changes nothing.
	Changed bool
}

// Rollback undoes what publishing the job with the given key did to the
// product of sku, as far as it is still there: the job's video (found by
// its marker) is removed from the product and, when it had replaced an
// earlier video, the snapshot recorded before the replacement is restored:
// the earlier video is attached again and moved back to its slot. The
// earlier video is back on the product before the job's video is removed,
// so a failure midway leaves both, never neither, and rolling back again
// finishes the job. Removed videos stay in the store's files.
//
// Rollback is idempotent: when the job's video is not on the product and
// the earlier video (if any) is in its slot, it changes nothing and
// reports Changed false. It returns *SKUNotFoundError or
// *AmbiguousSKUError for a SKU that no longer names one product, and a
// *PermanentError (with Shopify's code) for a refused change, such as a
// product that has no room left for the earlier video.
func (p *Publisher) Rollback(ctx context.Context, key, sku string) (RollbackResult, error) {
	if strings.TrimSpace(key) == "" || strings.TrimSpace(sku) == "" {
		return RollbackResult{}, &PermanentError{Op: "rollback", Err: errors.New("a roll back needs the job's key and SKU")}
	}
	// The SKU's lock too: a publish of another job of the SKU in progress
	// would otherwise snapshot the gallery while this changes it.
	unlock, err := p.lockNames(ctx, keyLock(key), skuLock(sku))
	if err != nil {
		return RollbackResult{}, err
	}
	defer unlock()
	v, err := p.resolveSKU(ctx, sku)
	if err != nil {
		return RollbackResult{}, err
	}
	res := RollbackResult{ProductID: v.ProductID}
	marker := MediaMarker(key)
	g, err := p.readGallery(ctx, v.ProductID, marker, scanPageSize)
	if err != nil {
		return res, err
	}
	if g.snap != nil && g.index(g.snap.Replaced) < 0 {
		if err := p.reattach(ctx, g.snap.Replaced, v.ProductID); err != nil {
			return res, fmt.Errorf("shopify: roll back of %s: attaching %s again: %w", sku, g.snap.Replaced, err)
		}
		res.Changed = true
		if g, err = p.readGallery(ctx, v.ProductID, marker, len(g.items)+1); err != nil {
			return res, err
		}
		if g.index(g.snap.Replaced) < 0 {
			return res, fmt.Errorf("shopify: roll back of %s: %s is not on product %s after attaching it again", sku, g.snap.Replaced, v.ProductID)
		}
	}
	if i := g.find(hasMarker(marker)); i >= 0 {
		id := g.items[i].ID
		if err := p.detach(ctx, id, v.ProductID); err != nil {
			return res, fmt.Errorf("shopify: roll back of %s: removing %s: %w", sku, id, err)
		}
		res.Removed, res.Changed = id, true
		g.items = slices.Delete(g.items, i, i+1)
	}
	if g.snap == nil {
		p.logRollback(ctx, sku, res)
		return res, nil
	}
	res.Restored = g.snap.Replaced
	want := min(g.snap.slot(), len(g.items)) - 1
	at := g.index(g.snap.Replaced)
	if want >= 0 && at != want {
		jobID, err := p.reorder(ctx, v.ProductID, []mediaMove{{Id: g.snap.Replaced, NewPosition: strconv.Itoa(want)}})
		if err != nil {
			return res, fmt.Errorf("shopify: roll back of %s: moving %s back to slot %d: %w", sku, g.snap.Replaced, want+1, err)
		}
		res.Changed = true
		if err := p.waitJobs(ctx, []string{jobID}); err != nil {
			return res, err
		}
		if g, err = p.readGallery(ctx, v.ProductID, marker, len(g.items)); err != nil {
			return res, err
		}
		at = g.index(g.snap.Replaced)
	}
	res.Slot = at + 1
	p.logRollback(ctx, sku, res)
	return res, nil
}

func (p *Publisher) logRollback(ctx context.Context, sku string, res RollbackResult) {
	p.logger.LogAttrs(ctx, slog.LevelInfo, "shopify: rolled back", slog.String("sku", sku), slog.String("product", res.ProductID),
		slog.String("removed", res.Removed), slog.String("restored", res.Restored), slog.Int("slot", res.Slot), slog.Bool("changed", res.Changed))
}
