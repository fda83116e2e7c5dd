package manifest

import (
	"crypto/sha256"
	"fmt"
)

// surfaceDigest identifies the row's SKU and target_surface, to warn about
// rows that will replace each other's video (kept in a DigestSet, as row
// digests are): a sink publishes one video per SKU on a surface such as
// Shopify's product page, where a new video of the SKU replaces the one
// before.
func surfaceDigest(r Row) [sha256.Size]byte {
	return hashFields("catalogvideo/sku-surface/v1", r.SKU, r.TargetSurface)
}

// replacesWarning is the Warning for a row whose SKU and target_surface an
// earlier row, at line first, has too, with other render inputs (the same
// inputs are a duplicate row, an error). Both are rendered and delivered;
// where the surface keeps one video per SKU, as Shopify's product page
// does, the later video replaces the earlier one.
func (m *Reader) replacesWarning(r Row, first int) Warning {
	return Warning{File: m.name, Line: r.Line, Column: ColumnTargetSurface, SKU: r.SKU, OtherLine: first,
		Message: fmt.Sprintf("%q for sku %q, as on line %d, with other render inputs: both videos are rendered, and the later video replaces the earlier one on the product; "+
			"keep one row per SKU and surface to publish one video", r.TargetSurface, r.SKU, first)}
}
