package shopify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// SKUsPerLookup is how many SKUs one productVariants call looks up.
const SKUsPerLookup = 50

// Variant is the product variant a SKU resolved to.
type Variant struct {
	// ID is the variant's global ID (gid://shopify/ProductVariant/…).
	ID string
	// SKU is the variant's SKU, equal to the one looked up.
	SKU string
	// Title is the variant's title.
	Title string
	// ProductID is the global ID of the variant's product, which media attach
	// to.
	ProductID string
	// ProductTitle is the product's title.
	ProductTitle string
}

// LookupSKU resolves one SKU. It returns a *SKUNotFoundError (matching
// ErrSKUNotFound) when no variant has the SKU exactly, and an
// *AmbiguousSKUError when variants of several products do.
func (c *Client) LookupSKU(ctx context.Context, sku string) (Variant, error) {
	found, err := c.LookupSKUs(ctx, []string{sku})
	if v, ok := found[strings.TrimSpace(sku)]; ok {
		return v, nil
	}
	if err == nil {
		err = &SKUNotFoundError{SKU: sku}
	}
	return Variant{}, err
}

// LookupSKUs resolves SKUs to variants with productVariants searches of up
// to SKUsPerLookup SKUs each (sku:"A" OR sku:"B" …), so a catalog of n SKUs
// costs ⌈n/50⌉ calls unless a search matches more variants than one page
// holds. Shopify's search is not exact (it ignores case, for one), so every
// variant returned is compared with the SKU in code and only exact matches
// count. SKUs are trimmed of surrounding space; duplicates are looked up
// once.
//
// The map holds every SKU that resolved to exactly one product (the first
// variant of that product when several carry the SKU). When some SKUs did
// not resolve, err joins a *SKUNotFoundError or *AmbiguousSKUError per SKU;
// use errors.As to pick them out. A failed call aborts the lookup with that
// call's error.
func (c *Client) LookupSKUs(ctx context.Context, skus []string) (map[string]Variant, error) {
	var want []string
	seen := make(map[string]bool, len(skus))
	for i, s := range skus {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, fmt.Errorf("shopify: LookupSKUs: SKU %d is empty", i)
		}
		if !seen[s] {
			seen[s] = true
			want = append(want, s)
		}
	}
	found := make(map[string]Variant, len(want))
	var problems []error
	for batch := range slices.Chunk(want, SKUsPerLookup) {
		matches, err := c.searchSKUs(ctx, batch)
		if err != nil {
			return found, err
		}
		for _, sku := range batch {
			v, err := resolve(sku, matches[sku])
			if err != nil {
				problems = append(problems, err)
				continue
			}
			found[sku] = v
		}
	}
	return found, errors.Join(problems...)
}

// resolve picks the variant for a SKU from its exact matches.
func resolve(sku string, matches []Variant) (Variant, error) {
	if len(matches) == 0 {
		return Variant{}, &SKUNotFoundError{SKU: sku}
	}
	var products []string
	for _, m := range matches {
		if !slices.Contains(products, m.ProductID) {
			products = append(products, m.ProductID)
		}
	}
	if len(products) > 1 {
		return Variant{}, &AmbiguousSKUError{SKU: sku, ProductIDs: products}
	}
	return matches[0], nil
}

// searchSKUs runs one search for a batch and returns the exact matches per
// SKU, following pages when the search matched more than one page holds.
func (c *Client) searchSKUs(ctx context.Context, batch []string) (map[string][]Variant, error) {
	hits, err := searchSKUPages(ctx, batch, func(ctx context.Context, query string, first int, after string) ([]skuHit, string, error) {
		resp, err := lookupVariants(ctx, c, query, first, after)
		if err != nil {
			return nil, "", err
		}
		conn := resp.GetProductVariants()
		out := make([]skuHit, 0, len(conn.GetNodes()))
		for _, n := range conn.GetNodes() {
			out = append(out, skuHit{Variant: n.variant()})
		}
		pi := conn.GetPageInfo()
		return out, nextCursor(&pi, after), nil
	})
	if err != nil {
		return nil, err
	}
	matches := make(map[string][]Variant, len(hits))
	for sku, hs := range hits {
		for _, h := range hs {
			matches[sku] = append(matches[sku], h.Variant)
		}
	}
	return matches, nil
}

// variant returns what a SKU search read of a variant.
func (v *skuVariant) variant() Variant {
	return Variant{ID: v.Id, SKU: v.Sku, Title: v.Title, ProductID: v.Product.Id, ProductTitle: v.Product.Title}
}

// skuHit is a variant a SKU search found, with what else the search read
// of its product.
type skuHit struct {
	Variant
	// MediaCount is the product's media count, when the search read it.
	MediaCount int
}

// skuPageFunc fetches one page of a productVariants search: the variants
// on it and the cursor of the next page, "" when it is the last.
type skuPageFunc func(ctx context.Context, query string, first int, after string) ([]skuHit, string, error)

// searchSKUPages runs one search for a batch of SKUs through page and
// returns the exact matches per SKU, following pages when the search
// matched more than one page holds.
func searchSKUPages(ctx context.Context, batch []string, page skuPageFunc) (map[string][]skuHit, error) {
	want := make(map[string]bool, len(batch))
	for _, s := range batch {
		want[s] = true
	}
	// The page must be available in the bucket at its full size (a few
	// points per variant asked for), though only the variants found are
	// charged: room for one variant per SKU and ten more keeps that small,
	// and a search that matches more (a SKU shared by variants) pages on.
	first := min(250, len(batch)+10)
	query := SKUQuery(batch...)
	matches := make(map[string][]skuHit)
	after := ""
	for {
		hits, next, err := page(ctx, query, first, after)
		if err != nil {
			return nil, err
		}
		for _, h := range hits {
			if want[h.SKU] {
				matches[h.SKU] = append(matches[h.SKU], h)
			}
		}
		if next == "" {
			return matches, nil
		}
		after = next
	}
}

// pageInfo is the part of a connection's pageInfo the searches read.
type pageInfo interface {
	GetHasNextPage() bool
	GetEndCursor() string
}

// nextCursor returns where the page after the one read from after starts,
// or "" when there is none (or the cursor did not move, which would loop).
func nextCursor(pi pageInfo, after string) string {
	if !pi.GetHasNextPage() || pi.GetEndCursor() == "" || pi.GetEndCursor() == after {
		return ""
	}
	return pi.GetEndCursor()
}

// SKUQuery builds the productVariants search query that matches any of the
// SKUs: sku:"A" OR sku:"B". Each value is double-quoted with backslashes
// before any double quote or backslash, so SKUs holding spaces, colons,
// parentheses or the words OR and AND stay single values.
func SKUQuery(skus ...string) string {
	var b strings.Builder
	for i, s := range skus {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString(`sku:"`)
		for _, r := range s {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	return b.String()
}
