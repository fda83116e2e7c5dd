package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
)

// Where replacement snapshots live: a product metafield per job, in the
// SDK's namespace, keyed by "replace-" and the job's marker. Metafields of
// an app's own namespace are not shown on the storefront unless a theme
// asks for them by name.
const (
	snapshotNamespace = "catalogvideo"
	snapshotKeyPrefix = "replace-"
	snapshotType      = "json"
)

// snapshotKey is the metafield key of the job's replacement snapshot.
func snapshotKey(marker string) string { return snapshotKeyPrefix + marker }

// Snapshot is what a replacement records on the product, durably, before
// it changes anything: the product's media in gallery order and the
// earlier video the new one replaces. Rollback restores it. It is stored
// as JSON in a product metafield (namespace "catalogvideo", key "replace-"
// and the job's marker; see MediaMarker).
type Snapshot struct {
	// Media are the product's media IDs in gallery order before the
	// replacement.
	Media []string `json:"media"`
	// Replaced is the media ID of the earlier video.
	Replaced string `json:"replaced"`
}

// slot is where the replaced video was, counting from 1; 0 if the
// snapshot does not list it.
func (s *Snapshot) slot() int {
	return slices.Index(s.Media, s.Replaced) + 1
}

// galleryMargin is how many media beyond those expected a gallery read
// asks for.
const galleryMargin = 5

// gallery is a product's whole gallery, in order, with a job's snapshot.
type gallery struct {
	items []mediaItem
	snap  *Snapshot
}

func (g *gallery) index(id string) int {
	return slices.IndexFunc(g.items, func(m mediaItem) bool { return m.ID == id })
}

func (g *gallery) find(match func(mediaItem) bool) int {
	return slices.IndexFunc(g.items, match)
}

// readGallery reads the product's whole gallery and the snapshot of the
// job with the given marker, if one was recorded. expect is how many media
// the product is thought to hold: the page asked for has a few more, since
// Shopify must find the whole page's cost in the bucket before it runs the
// query, and a product that turns out to hold more is read again in full.
func (p *Publisher) readGallery(ctx context.Context, productID, marker string, expect int) (*gallery, error) {
	first := min(max(expect, 0)+galleryMargin, DefaultMaxProductMedia)
	var prod productGalleryProduct
	for {
		resp, err := productGallery(ctx, p.client, productID, snapshotKey(marker), first)
		if err != nil {
			return nil, err
		}
		prod = resp.GetProduct()
		if prod.GetId() == "" {
			return nil, fmt.Errorf("shopify: product %s no longer exists", productID)
		}
		if n := prod.MediaCount.GetCount(); n <= first || first == DefaultMaxProductMedia {
			break
		} else {
			first = min(n, DefaultMaxProductMedia)
		}
	}
	g := &gallery{}
	for _, n := range prod.Media.GetNodes() {
		it := mediaItem{ID: n.GetId(), Alt: n.GetAlt(), Status: n.GetStatus()}
		if v, ok := n.(*productGalleryProductMediaMediaConnectionNodesVideo); ok {
			it.Filename = v.GetFilename()
		}
		g.items = append(g.items, it)
	}
	if raw := prod.Snapshot.GetValue(); raw != "" {
		var s Snapshot
		if err := json.Unmarshal([]byte(raw), &s); err != nil || s.Replaced == "" {
			return nil, &PermanentError{Op: "replace", Err: fmt.Errorf("metafield %s.%s of product %s is not a replacement snapshot: %q",
				snapshotNamespace, snapshotKey(marker), productID, raw)}
		}
		g.snap = &s
	}
	return g, nil
}

// snapshotBatch prepares the jobs whose SKU already has a video from this
// SDK on the product (checkJob found it): a job that recorded a snapshot
// in an earlier attempt picks it up (the snapshot, not what the product
// holds now, names the video to replace); a new job records one before
// anything is uploaded. A job whose snapshot cannot be written fails with
// the product untouched.
func (p *Publisher) snapshotBatch(ctx context.Context, work []*batchJob) {
	for _, b := range work {
		if b.done || b.prev == nil {
			continue
		}
		if b.item == nil {
			if settled, err := p.settleOlder(ctx, b); err != nil || settled {
				if err != nil {
					b.fail(err)
				}
				continue
			}
		}
		g, err := p.readGallery(ctx, b.v.ProductID, b.marker, b.count)
		if err != nil {
			b.fail(err)
			continue
		}
		switch {
		case g.snap != nil:
			b.snap = g.snap
		case b.item != nil:
			// The job's video is on the product without a snapshot: it was
			// attached as a video of its own (by an SDK before
			// replacements), so there is nothing of this job's to replace.
			b.prev = nil
		default:
			s := &Snapshot{Replaced: b.prev.ID}
			for _, it := range g.items {
				s.Media = append(s.Media, it.ID)
			}
			if err := p.writeSnapshot(ctx, b.v.ProductID, b.marker, s); err != nil {
				b.fail(err)
				continue
			}
			b.snap = s
			p.logger.LogAttrs(ctx, slog.LevelInfo, "shopify: replacing the SKU's earlier video", slog.String("sku", b.v.SKU),
				slog.String("product", b.v.ProductID), slog.String("replaced", s.Replaced), slog.Int("slot", s.slot()))
		}
	}
}

// writeSnapshot records s on the product with metafieldsSet.
func (p *Publisher) writeSnapshot(ctx context.Context, productID, marker string, s *Snapshot) error {
	raw, err := json.Marshal(s)
	if err != nil {
		return err
	}
	resp, err := setSnapshot(ctx, p.client, []metafieldInput{{
		OwnerId: productID, Namespace: snapshotNamespace, Key: snapshotKey(marker), Value: string(raw), Type: snapshotType,
	}})
	if err != nil {
		return err
	}
	if ues := resp.MetafieldsSet.UserErrors; len(ues) > 0 {
		return codedUserErrors("replace", "metafieldsSet", ues)
	}
	return nil
}

// replaceBatch finishes the replacements whose new video is READY: it
// moves the new video into the earlier one's slot, waits for the move and
// reads the gallery back, and only then detaches the earlier video. Any
// failure stops before the detach, so the product keeps both videos and a
// retry (which finds the snapshot) takes up where this one stopped.
func (p *Publisher) replaceBatch(ctx context.Context, work []*batchJob) {
	for _, b := range work {
		if b.err != nil || b.snap == nil || !b.located || b.res.Status != MediaStatusReady {
			continue
		}
		if err := p.replace(ctx, b); err != nil {
			b.err = err
		}
	}
}

func (p *Publisher) replace(ctx context.Context, b *batchJob) error {
	g, err := p.readGallery(ctx, b.v.ProductID, b.marker, b.count+1)
	if err != nil {
		return err
	}
	old := b.snap.Replaced
	at, was := g.index(b.item.ID), g.index(old)
	if at < 0 {
		return fmt.Errorf("shopify: video %s disappeared from product %s before it replaced %s", b.item.ID, b.v.ProductID, old)
	}
	if was < 0 {
		// Detached by an earlier attempt: the replacement is done.
		b.res.Slot, b.res.Replaced = at+1, old
		return nil
	}
	// The new video goes right before the old one: where the old one is
	// once the new one is taken out of the list.
	want := was
	if at < was {
		want = was - 1
	}
	if at != want {
		jobID, err := p.reorder(ctx, b.v.ProductID, []mediaMove{{Id: b.item.ID, NewPosition: strconv.Itoa(want)}})
		if err != nil {
			return err
		}
		if err := p.waitJobs(ctx, []string{jobID}); err != nil {
			return err
		}
		if g, err = p.readGallery(ctx, b.v.ProductID, b.marker, len(g.items)); err != nil {
			return err
		}
		if at = g.index(b.item.ID); at != want || g.index(old) != want+1 {
			return fmt.Errorf("shopify: video %s is at slot %d of product %s after the move, not right before %s at slot %d; %s is left on the product",
				b.item.ID, at+1, b.v.ProductID, old, g.index(old)+1, old)
		}
	}
	if err := p.detach(ctx, old, b.v.ProductID); err != nil {
		return err
	}
	b.res.Slot, b.res.Replaced = at+1, old
	p.logger.LogAttrs(ctx, slog.LevelInfo, "shopify: video replaced", slog.String("sku", b.v.SKU),
		slog.String("product", b.v.ProductID), slog.String("media", b.item.ID), slog.String("replaced", old), slog.Int("slot", at+1))
	return nil
}

// detach removes a video from a product with fileUpdate
// (referencesToRemove). The file stays in the store's files, so a roll
// back can attach it again.
func (p *Publisher) detach(ctx context.Context, mediaID, productID string) error {
	return p.updateFile(ctx, fileUpdate{Id: mediaID, ReferencesToRemove: []string{productID}})
}

// reattach adds a detached video back to a product (referencesToAdd); it
// goes last in the gallery.
func (p *Publisher) reattach(ctx context.Context, mediaID, productID string) error {
	return p.updateFile(ctx, fileUpdate{Id: mediaID, ReferencesToAdd: []string{productID}})
}

func (p *Publisher) updateFile(ctx context.Context, f fileUpdate) error {
	resp, err := updateFiles(ctx, p.client, []fileUpdate{f})
	if err != nil {
		return err
	}
	if ues := resp.FileUpdate.UserErrors; len(ues) > 0 {
		return codedUserErrors("fileUpdate", "fileUpdate", ues)
	}
	return nil
}

// codedUserError is a userErrors entry with a code (MediaUserError,
// FilesUserError, MetafieldsSetUserError).
type codedUserError interface {
	GetCode() string
	GetField() []string
	GetMessage() string
}

// codedUserErrors is the *PermanentError for a mutation's refusal: step
// op, Shopify's first code, and every entry.
func codedUserErrors[T any, PT interface {
	*T
	codedUserError
}](op, operation string, ues []T) error {
	errs := &UserErrors{Operation: operation}
	for i := range ues {
		ue := PT(&ues[i])
		errs.Errors = append(errs.Errors, &UserError{Field: ue.GetField(), Message: ue.GetMessage(), Code: ue.GetCode()})
	}
	return &PermanentError{Op: op, Code: errs.Errors[0].Code, Err: errs}
}
