package shopify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxVideoDuration is the longest video Shopify hosts as product media: 10
// minutes (Shopify's "Manage media for products" guide: MP4, MOV or WEBM,
// at most 1 GB, 10 minutes and 3840×2160). Shopify also refuses videos
// that are too short (MediaErrorCode VIDEO_MIN_DURATION_ERROR) without
// publishing the minimum, so Preflight checks only the maximum.
const MaxVideoDuration = 10 * time.Minute

// PreflightRow is one video to check before it is rendered.
type PreflightRow struct {
	// Key identifies the job, as VideoJob.Key does: a video on the product
	// that carries its marker is one a publish reuses.
	Key string
	// SKU is the exact SKU of a variant of the product the video is for.
	SKU string
	// Duration is the clip length the render is asked for.
	Duration time.Duration
}

// PreflightReason names the check a row failed.
type PreflightReason string

// The checks of Preflight.
const (
	// PreflightSKUNotFound: no variant has the SKU exactly.
	PreflightSKUNotFound PreflightReason = "sku_not_found"
	// PreflightSKUAmbiguous: variants of several products have the SKU.
	PreflightSKUAmbiguous PreflightReason = "sku_ambiguous"
	// PreflightProductFull: the product holds as many media as it may
	// (DefaultMaxProductMedia), and the video would not replace one.
	PreflightProductFull PreflightReason = "product_media_limit"
	// PreflightVideoTooLong: the requested duration is over
	// MaxVideoDuration.
	PreflightVideoTooLong PreflightReason = "video_too_long"
	// PreflightInvalid: the row itself is unusable (an empty SKU).
	PreflightInvalid PreflightReason = "invalid"
)

// PreflightError says why a row's video could not be published, so it
// should not be rendered. It is permanent until the store or the row
// changes.
type PreflightError struct {
	// SKU is the row's SKU.
	SKU string
	// Reason names the check that failed.
	Reason PreflightReason
	// ProductID is the product the SKU resolved to, when it did.
	ProductID string
	// Err describes the problem: a *SKUNotFoundError or *AmbiguousSKUError
	// for the SKU checks, a plain error otherwise.
	Err error
}

// Error describes the problem and what fixes it.
func (e *PreflightError) Error() string {
	msg := strings.TrimPrefix(e.Err.Error(), "shopify: ")
	switch e.Reason {
	case PreflightSKUNotFound:
		return msg + "; give a variant this SKU in Shopify or correct the row's sku"
	case PreflightSKUAmbiguous:
		return msg + "; keep the SKU on variants of one product only"
	case PreflightProductFull:
		return msg + "; remove media from the product"
	}
	return msg
}

// Unwrap returns Err.
func (e *PreflightError) Unwrap() error { return e.Err }

// Permanent reports true: checking again gives the same answer until the
// store or the row changes.
func (e *PreflightError) Permanent() bool { return true }

// Preflighter checks, before a video is rendered and paid for, that the
// Publisher it was made from could publish it: see Preflight. It shares the
// Publisher's client, its SKU cache (the SKUs it resolves are not looked up
// again when their videos are published, within the cache's TTL) and its
// media limit per product. It is safe for concurrent use.
type Preflighter struct {
	pub           *Publisher
	maxDuration   time.Duration
	bulkThreshold int // distinct SKUs from which a pass uses bulk queries; 0: never
}

// PreflightOption configures a Preflighter.
type PreflightOption func(*Preflighter) error

// WithMaxVideoDuration sets the longest clip Preflight lets through; the
// default is MaxVideoDuration. It must be positive.
func WithMaxVideoDuration(d time.Duration) PreflightOption {
	return func(p *Preflighter) error {
		if d <= 0 {
			return fmt.Errorf("shopify: WithMaxVideoDuration(%v): want a positive duration", d)
		}
		p.maxDuration = d
		return nil
	}
}

// NewPreflighter returns a Preflighter for pub's store. It returns an error
// for a nil Publisher or a bad option; nil options are skipped.
func NewPreflighter(pub *Publisher, opts ...PreflightOption) (*Preflighter, error) {
	if pub == nil {
		return nil, errors.New("shopify: NewPreflighter: the Publisher is nil")
	}
	p := &Preflighter{pub: pub, maxDuration: MaxVideoDuration, bulkThreshold: DefaultPreflightBulkThreshold}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Preflight checks rows in one batched pass and returns one error per row,
// in the order given: nil when the row's video can be published, a
// *PreflightError saying why not otherwise. The checks:
//
//   - the duration is at most MaxVideoDuration (no call is spent on a row
//     that fails it);
//   - a variant has the SKU exactly, and the variants having it belong to
//     one product;
//   - the product has room: after adding the video it holds fewer media
//     than the Publisher's limit (DefaultMaxProductMedia, Shopify's 250),
//     counting the other rows of the pass that go to the same product, so
//     that one place stays free for a later replacement, which holds both
//     videos for a moment. A video that replaces one already on the product
//     (see replacesOnPublish) counts as zero and may use that place.
//
// A pass of at least DefaultPreflightBulkThreshold distinct SKUs (see
// WithPreflightBulkThreshold) reads them with bulk queries of up to 250
// SKUs (bulkOperationRunQuery: 10 cost points and a point per status poll,
// whatever the size; the JSONL result is free), which costs at most 2
// points per row from 8 SKUs on when the bulk query needs up to 6 polls
// (1.75 at 8 rows and 0.06 at 500 with 4 polls, BENCHMARKS.md), but takes
// seconds and runs one at a time per store. Smaller passes, and the SKUs
// of a bulk query that could not start (another bulk query is running on
// the store) or did not complete, are looked up SKUsPerLookup to a
// productVariants search, which also reads each product's media count:
// about three cost points per row (the variant, its product and the count
// are an object each). Either way SKUs are compared exactly in code. Only
// a product that is full costs more, a page of its videos to look for one
// the row would replace.
//
// Shopify's plans also cap the hosted videos and 3D models of a store
// (Basic 250, Shopify 1,000, Advanced 5,000; Plus by agreement, per
// Shopify's "Manage media for products" guide), but the Admin API exposes
// neither the cap nor a count of hosted media (Shop.resourceLimits holds
// locations, product options and variants, and redirects; Shop.plan only
// names the plan), so Preflight cannot check it: a store at its cap fails
// at publishing, as before.
//
// The error is non-nil when a call failed; the rows are then unchecked and
// the []error is nil.
func (p *Preflighter) Preflight(ctx context.Context, rows []PreflightRow) ([]error, error) {
	errs := make([]error, len(rows))
	var skus []string
	seen := make(map[string]bool)
	for i, r := range rows {
		sku := strings.TrimSpace(r.SKU)
		switch {
		case sku == "":
			errs[i] = &PreflightError{Reason: PreflightInvalid, Err: errors.New("the row has no SKU")}
		case r.Duration > p.maxDuration:
			errs[i] = &PreflightError{SKU: sku, Reason: PreflightVideoTooLong,
				Err: fmt.Errorf("a %v video is longer than the %v Shopify hosts; ask for a shorter duration", r.Duration, p.maxDuration)}
		case !seen[sku]:
			seen[sku] = true
			skus = append(skus, sku)
		}
	}
	hits, err := p.search(ctx, skus)
	if err != nil {
		return nil, err
	}

	now := p.pub.clock.Now()
	type resolved struct {
		v     Variant
		media int
		err   error
	}
	bySKU := make(map[string]resolved, len(skus))
	for _, sku := range skus {
		variants := make([]Variant, len(hits[sku]))
		for i, h := range hits[sku] {
			variants[i] = h.Variant
		}
		v, err := resolve(sku, variants)
		p.pub.skus.put(sku, v, err, now)
		media := 0
		if err == nil {
			media = hits[sku][0].MediaCount
		}
		bySKU[sku] = resolved{v: v, media: media, err: err}
	}

	added := make(map[string]int) // videos this pass adds to each product
	for i, r := range rows {
		if errs[i] != nil {
			continue
		}
		sku := strings.TrimSpace(r.SKU)
		res := bySKU[sku]
		var nf *SKUNotFoundError
		switch {
		case errors.As(res.err, &nf):
			errs[i] = &PreflightError{SKU: sku, Reason: PreflightSKUNotFound, Err: res.err}
			continue
		case res.err != nil:
			errs[i] = &PreflightError{SKU: sku, Reason: PreflightSKUAmbiguous, Err: res.err}
			continue
		}
		// A new video must leave the product under its limit: a later
		// replacement holds both videos for a moment (see Replace), so one
		// place stays free. A replacement counts as zero, using that place.
		pid := res.v.ProductID
		have := res.media + added[pid]
		if have+1 < p.pub.maxProductMedia {
			added[pid]++
			continue
		}
		if have < p.pub.maxProductMedia {
			replaced, err := p.replaces(ctx, res.v, r)
			if err != nil {
				return nil, err
			}
			if replaced {
				continue
			}
		}
		errs[i] = &PreflightError{SKU: sku, Reason: PreflightProductFull, ProductID: pid,
			Err: fmt.Errorf("product %s (%q) has %d media and the video would make %d; a product may hold %d, and one place stays free for replacing a video later",
				pid, res.v.ProductTitle, have, have+1, p.pub.maxProductMedia)}
	}
	return errs, nil
}

// page fetches one page of the preflight search.
func (p *Preflighter) page(ctx context.Context, query string, first int, after string) ([]skuHit, string, error) {
	resp, err := preflightVariants(ctx, p.pub.client, query, first, after)
	if err != nil {
		return nil, "", err
	}
	conn := resp.GetProductVariants()
	out := make([]skuHit, 0, len(conn.GetNodes()))
	for _, n := range conn.GetNodes() {
		out = append(out, n.hit())
	}
	pi := conn.GetPageInfo()
	return out, nextCursor(&pi, after), nil
}

// replaces reports whether the product of v already has a video that
// publishing row would replace, by paging through its videos.
func (p *Preflighter) replaces(ctx context.Context, v Variant, row PreflightRow) (bool, error) {
	found, _, err := p.pub.findVideo(ctx, v, func(m mediaItem) bool { return replacesOnPublish(m, row) }, scanPageSize)
	return found != nil, err
}

// replacesOnPublish reports whether publishing row would leave m, a video
// already on the row's product, in place of a new medium rather than
// beside it, so that the video counts as zero against the product's media
// limit:
//
//   - a video carrying the row's own marker is the row's video from an
//     earlier attempt, which the publisher reuses;
//   - a video this SDK published for the row's SKU (its file name's SKU
//     tag, see VideoFilename) is the one a new job's video replaces.
//
// Videos of earlier versions carry no SKU tag and are never replaced, so
// they count as media like any other.
func replacesOnPublish(m mediaItem, row PreflightRow) bool {
	return hasMarker(MediaMarker(row.Key))(m) || publishedFor(row.SKU)(m)
}
