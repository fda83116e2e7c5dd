package shopifytest

import (
	"fmt"
	"slices"
)

// Catalog edits a test makes to the fake store, the way a merchant would in
// Shopify's admin: filling a product with images up to the media limit,
// removing them again, giving a variant another SKU. They change the store
// without going through GraphQL and cost no points.

// AddImages appends n images to a product, up to the media limit
// (WithMediaLimit) as Shopify's admin allows, and returns how many were
// added. It returns an error for an unknown product.
func (s *Server) AddImages(productID string, n int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.products[productID]
	if p == nil {
		return 0, fmt.Errorf("shopifytest: AddImages: no product %s", productID)
	}
	added := 0
	for ; added < n && len(p.media) < s.cfg.mediaLimit; added++ {
		m := s.newMedia("MediaImage", "IMAGE")
		m.alt = fmt.Sprintf("%s image %d", p.title, len(p.media)+1)
		m.status = "READY"
		p.media = append(p.media, m)
	}
	return added, nil
}

// RemoveImages removes up to n images from the end of a product's gallery
// and returns how many were removed. Videos and other media stay. It
// returns an error for an unknown product.
func (s *Server) RemoveImages(productID string, n int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.products[productID]
	if p == nil {
		return 0, fmt.Errorf("shopifytest: RemoveImages: no product %s", productID)
	}
	removed := 0
	for i := len(p.media) - 1; i >= 0 && removed < n; i-- {
		if m := p.media[i]; m.contentType == "IMAGE" {
			delete(s.mediaByID, m.id)
			p.media = slices.Delete(p.media, i, i+1)
			removed++
		}
	}
	return removed, nil
}

// SetSKU gives the variants of a product that have SKU from the SKU to,
// and returns how many changed. It returns an error for an unknown product.
func (s *Server) SetSKU(productID, from, to string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.products[productID]
	if p == nil {
		return 0, fmt.Errorf("shopifytest: SetSKU: no product %s", productID)
	}
	changed := 0
	for _, v := range p.variants {
		if v.sku == from {
			v.sku = to
			changed++
		}
	}
	return changed, nil
}
