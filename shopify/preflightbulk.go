package shopify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
)

// DefaultPreflightBulkThreshold is how many distinct SKUs a preflight pass
// must look up before Preflight reads them with a bulk query
// (bulkOperationRunQuery) instead of productVariants searches.
//
// Why 8: a search costs about 3 cost points per SKU (the variant, its
// product and the product's media count are an object each), while a bulk
// query costs the bulkOperationRunQuery mutation (10 points) and a point
// per status poll, whatever its size, and its result file is free. With
// the publisher's poll intervals a bulk query of a few seconds is polled 2
// to 3 times, so from 8 SKUs on (10+3 < 3×8) it costs less, and at 8 SKUs
// it stays within 2 points per SKU with up to 6 polls. Below that, the
// seconds a bulk query takes buy too little.
const DefaultPreflightBulkThreshold = 8

// preflightBulkSKUs is how many SKUs one bulk query looks up. Shopify runs
// one bulk query per store at a time, so a pass's bulk queries run one
// after another; 250 SKUs of 20 characters make a search string of about
// 6 KB, which keeps each query far from Shopify's request size limits.
const preflightBulkSKUs = 250

// WithPreflightBulkThreshold sets how many distinct SKUs a preflight pass
// must look up before Preflight reads them with bulk queries; the default
// is DefaultPreflightBulkThreshold. 0 never uses bulk queries. It must
// not be negative.
func WithPreflightBulkThreshold(n int) PreflightOption {
	return func(p *Preflighter) error {
		if n < 0 {
			return fmt.Errorf("shopify: WithPreflightBulkThreshold(%d): want 0 (never) or a positive number of SKUs", n)
		}
		p.bulkThreshold = n
		return nil
	}
}

// search looks the SKUs up and returns the exact matches per SKU: runs of
// at least bulkThreshold SKUs (preflightBulkSKUs at most) with a bulk
// query each, the rest, and every run whose bulk query could not start or
// did not complete, with productVariants searches of SKUsPerLookup.
func (p *Preflighter) search(ctx context.Context, skus []string) (map[string][]skuHit, error) {
	hits := make(map[string][]skuHit, len(skus))
	var rest []string
	for run := range slices.Chunk(skus, preflightBulkSKUs) {
		if p.bulkThreshold == 0 || len(run) < p.bulkThreshold {
			rest = append(rest, run...)
			continue
		}
		found, err := p.searchBulk(ctx, run)
		if err != nil {
			// A bulk query only reads: searching again per call is safe
			// and gives every SKU of the run its answer.
			p.pub.logger.LogAttrs(ctx, slog.LevelWarn, "shopify: preflight bulk query failed; searching per call",
				slog.Int("skus", len(run)), slog.String("error", err.Error()))
			rest = append(rest, run...)
			continue
		}
		maps.Copy(hits, found)
	}
	for batch := range slices.Chunk(rest, SKUsPerLookup) {
		found, err := searchSKUPages(ctx, batch, p.page)
		if err != nil {
			return nil, err
		}
		maps.Copy(hits, found)
	}
	return hits, nil
}

// searchBulk looks the SKUs up with one bulk query: bulkOperationRunQuery
// with preflightBulkQuery, polls of the operation until it ends (the
// publisher's finishBulk), and its JSONL result file, one variant a line. It
// returns an error, for the caller to search per call, when the operation
// did not start (another bulk query is running on the store:
// OPERATION_IN_PROGRESS), did not complete, or its result file could not be
// read whole.
func (p *Preflighter) searchBulk(ctx context.Context, skus []string) (map[string][]skuHit, error) {
	resp, err := bulkRunQuery(ctx, p.pub.client, preflightBulkQuery(skus))
	if err != nil {
		return nil, err
	}
	payload := resp.GetBulkOperationRunQuery()
	if ues := payload.GetUserErrors(); len(ues) > 0 {
		return nil, fmt.Errorf("bulkOperationRunQuery refused: %s (%s)", ues[0].GetMessage(), ues[0].GetCode())
	}
	id := payload.BulkOperation.GetId()
	if id == "" {
		return nil, errors.New("bulkOperationRunQuery answered without an operation")
	}
	// A query left running would refuse the next pass's, so one still
	// running at the timeout is canceled (and searched per call).
	url, status, err := p.pub.finishBulk(ctx, id)
	switch {
	case err != nil:
		return nil, err
	case status != "COMPLETED":
		return nil, fmt.Errorf("bulk query %s ended %s", id, status)
	case url == "":
		// Shopify gives no url for an operation without results; reading
		// that as "no SKU found" would rest on that alone, so search.
		return nil, fmt.Errorf("bulk query %s completed without a result file", id)
	}
	var found map[string][]skuHit
	err = p.pub.readBulkFile(ctx, url, func(r io.Reader) (err error) {
		found, err = parsePreflightBulk(r, skus)
		return err
	})
	return found, err
}

// preflightBulkQuery is the bulk query that reads, for every variant whose
// SKU matches SKUQuery(skus...), what a preflightVariants page reads of it:
// the same fields, so that each result line decodes as one of its nodes.
// Bulk queries take no variables and no pagination arguments; the search
// string is written as a JSON string, which is also a GraphQL string.
func preflightBulkQuery(skus []string) string {
	search, _ := json.Marshal(SKUQuery(skus...)) // a string always marshals
	return `{ productVariants(query: ` + string(search) + `) { edges { node { id sku title product { id title mediaCount { count } } } } } }`
}

// parsePreflightBulk reads a preflight bulk query's JSONL result: one
// variant per line, its product and media count inline. It returns the
// exact matches of the SKUs, and an error for a line that does not decode,
// since the answer of its SKU would otherwise be lost.
func parsePreflightBulk(r io.Reader, skus []string) (map[string][]skuHit, error) {
	want := make(map[string]bool, len(skus))
	for _, s := range skus {
		want[s] = true
	}
	matches := make(map[string][]skuHit)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var node preflightVariantsProductVariantsProductVariantConnectionNodesProductVariant
		if err := json.Unmarshal(line, &node); err != nil {
			return nil, fmt.Errorf("bulk query result line %d: %w", n, err)
		}
		if node.GetId() == "" {
			return nil, fmt.Errorf("bulk query result line %d: no variant id", n)
		}
		if h := node.hit(); want[h.SKU] {
			matches[h.SKU] = append(matches[h.SKU], h)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bulk query result: %w", err)
	}
	return matches, nil
}

// hit is what a preflight search (per call or bulk) found of a variant.
func (n *preflightVariantsProductVariantsProductVariantConnectionNodesProductVariant) hit() skuHit {
	return skuHit{Variant: n.variant(), MediaCount: n.Product.MediaCount.GetCount()}
}
