package manifest

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// surfaceSet remembers, by line, the SKU and target_surface pairs of the
// rows read, to warn about rows that will replace each other's video: a
// sink publishes one video per SKU on a surface such as Shopify's product
// page, where a new video of the SKU replaces the one before. It keeps 16
// bytes of a hash of each pair, as DigestSet does for rows.
type surfaceSet map[[16]byte]int

// add records the row's SKU and target_surface for line and, when an
// earlier row had the same pair, reports that row's line and true
// instead. Rows without a target_surface are delivered nowhere, so they
// replace nothing and are not recorded.
func (s surfaceSet) add(r Row, line int) (first int, dup bool) {
	if r.TargetSurface == "" {
		return 0, false
	}
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, f := range []string{"catalogvideo/sku-surface/v1", r.SKU, r.TargetSurface} {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		h.Write([]byte(f))
	}
	var sum [sha256.Size]byte
	k := [16]byte(h.Sum(sum[:0]))
	if first, ok := s[k]; ok {
		return first, true
	}
	s[k] = line
	return 0, false
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
