package shopify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
)

// Placement says where in a product's gallery a published video goes.
// The zero Placement stands for the Publisher's default (WithPlacement,
// DefaultPlacement).
type Placement struct {
	// Slot is the video's position counting from 1. Slot 1 is the featured
	// media, shown first and in collection grids, so a video takes it only
	// when asked for it by name; DefaultPlacement is slot 2, right after
	// the hero image. A product with fewer media gets the video last.
	Slot int
	// Last puts the video after every other media of the product.
	Last bool
}

// DefaultPlacement is where videos go unless WithPlacement or a job's
// Placement says otherwise: slot 2, right after the hero image.
var DefaultPlacement = Placement{Slot: 2}

// ParsePlacement reads a placement rule: "slot N" (or just "N"), N from 1
// to DefaultMaxProductMedia, or "last".
func ParsePlacement(s string) (Placement, error) {
	f := strings.Fields(strings.ToLower(s))
	switch {
	case len(f) == 1 && f[0] == "last":
		return Placement{Last: true}, nil
	case len(f) == 2 && f[0] == "slot":
		f = f[1:]
	}
	if len(f) == 1 {
		n, err := strconv.Atoi(f[0])
		if err == nil && n >= 1 && n <= DefaultMaxProductMedia {
			return Placement{Slot: n}, nil
		}
	}
	return Placement{}, fmt.Errorf("shopify: placement %q: want \"slot N\" with N from 1 (the featured slot) to %d, or \"last\"", s, DefaultMaxProductMedia)
}

// String is the rule as ParsePlacement reads it: "slot N" or "last".
func (pl Placement) String() string {
	if pl.Last {
		return "last"
	}
	return "slot " + strconv.Itoa(pl.Slot)
}

// WithPlacement sets where videos go in their product's gallery when a
// job does not say (see Placement); the default is DefaultPlacement. An
// invalid placement (a slot below 1 with Last unset, or one above
// DefaultMaxProductMedia) is skipped.
func WithPlacement(pl Placement) PublisherOption {
	return func(p *Publisher) {
		if pl.Last || (pl.Slot >= 1 && pl.Slot <= DefaultMaxProductMedia) {
			p.placement = Placement{Slot: pl.Slot, Last: pl.Last}
			if pl.Last {
				p.placement.Slot = 0
			}
		}
	}
}

// index is the position (from 0) the rule puts a video at in a gallery of
// total media, the video included.
func (pl Placement) index(total int) int {
	if pl.Last || pl.Slot >= total {
		return total - 1
	}
	return pl.Slot - 1
}

// placementOf is the rule that applies to the job.
func (p *Publisher) placementOf(job VideoJob) Placement {
	if job.Placement.Last || (job.Placement.Slot >= 1 && job.Placement.Slot <= DefaultMaxProductMedia) {
		return job.Placement
	}
	return p.placement
}

// galleryPos is where a video was seen in its product's gallery: the
// gallery's size and the video's index from 0, or -1 when the part of the
// gallery read did not hold it.
type galleryPos struct {
	total, index int
}

// placeBatch moves each READY video to its slot with productReorderMedia,
// waits for Shopify's reorder jobs, reads the gallery back and records the
// slot on the job. A video attached by this batch alone on its product is
// known to be last (its product's media count was read just before), so
// it is only read when it had to move; others are read first. Videos that
// replace an earlier one are placed by replaceBatch instead.
func (p *Publisher) placeBatch(ctx context.Context, work []*batchJob) {
	var todo []*batchJob
	perProduct := make(map[string]int)
	for _, b := range work {
		if b.err == nil && b.located && b.res.Status == MediaStatusReady && b.snap == nil && b.replacedBy == "" {
			todo = append(todo, b)
			perProduct[b.v.ProductID]++
		}
	}
	if len(todo) == 0 {
		return
	}
	pos := make(map[*batchJob]galleryPos, len(todo))
	var unknown []*batchJob
	for _, b := range todo {
		if b.attachedAt.IsZero() && parseFilename(b.item.Filename).replaces {
			// A replacement an earlier attempt finished: the video took
			// the old one's slot, which is where it stays.
			p.recordSlot(ctx, b)
			continue
		}
		if !b.attachedAt.IsZero() && b.count >= 0 && perProduct[b.v.ProductID] == 1 {
			pos[b] = galleryPos{total: b.count + 1, index: b.count}
		} else {
			unknown = append(unknown, b)
		}
	}
	if err := p.observe(ctx, unknown, pos); err != nil {
		for _, b := range unknown {
			b.err = err
		}
	}
	moves := make(map[string][]mediaMove)
	var products []string
	var moved []*batchJob
	for _, b := range todo {
		at, ok := pos[b]
		if b.err != nil || !ok || b.res.Slot > 0 {
			continue
		}
		want := b.placement.index(at.total)
		if at.index == want {
			b.res.Slot = want + 1
			continue
		}
		if moves[b.v.ProductID] == nil {
			products = append(products, b.v.ProductID)
		}
		moves[b.v.ProductID] = append(moves[b.v.ProductID], mediaMove{Id: b.item.ID, NewPosition: strconv.Itoa(want)})
		moved = append(moved, b)
	}
	if len(moved) == 0 {
		return
	}
	failed := make(map[string]error)
	var jobIDs []string
	for _, id := range products {
		jobID, err := p.reorder(ctx, id, moves[id])
		if err != nil {
			failed[id] = err
			continue
		}
		jobIDs = append(jobIDs, jobID)
	}
	if err := p.waitJobs(ctx, jobIDs); err != nil {
		for _, id := range products {
			failed[id] = firstErr(failed[id], err)
		}
	}
	var check []*batchJob
	for _, b := range moved {
		if err := failed[b.v.ProductID]; err != nil {
			b.err = err
			continue
		}
		check = append(check, b)
	}
	clear(pos)
	if err := p.observe(ctx, check, pos); err != nil {
		for _, b := range check {
			b.err = err
		}
		return
	}
	for _, b := range check {
		at := pos[b]
		if at.index >= 0 {
			b.res.Slot = at.index + 1
		}
		if want := b.placement.index(at.total); at.index != want {
			// Another change to the gallery raced the move; the video is
			// published and READY, so this is reported, not retried.
			p.logger.LogAttrs(ctx, slog.LevelWarn, "shopify: video not in its slot after the move",
				slog.String("media", b.item.ID), slog.String("product", b.v.ProductID),
				slog.Int("want_slot", want+1), slog.Int("slot", b.res.Slot))
		}
	}
}

// recordSlot reads where the job's video is in the whole gallery and
// records its slot, moving nothing.
func (p *Publisher) recordSlot(ctx context.Context, b *batchJob) {
	g, err := p.readGallery(ctx, b.v.ProductID, b.marker, b.count)
	if err != nil {
		b.err = err
		return
	}
	b.res.Slot = g.index(b.item.ID) + 1
	if g.snap != nil {
		b.res.Replaced = g.snap.Replaced
	}
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// observe reads where each job's video sits in its product's gallery,
// several products per call: the head of the gallery as deep as the
// deepest slot asked for, or, for videos placed last, its tail.
func (p *Publisher) observe(ctx context.Context, jobs []*batchJob, into map[*batchJob]galleryPos) error {
	var head, tail []*batchJob
	for _, b := range jobs {
		if b.placement.Last {
			tail = append(tail, b)
		} else {
			head = append(head, b)
		}
	}
	for _, group := range [][]*batchJob{head, tail} {
		if len(group) == 0 {
			continue
		}
		reverse := group[0].placement.Last
		depth := 1
		var ids []string
		for _, b := range group {
			if !reverse {
				depth = max(depth, b.placement.Slot)
			}
			if !slices.Contains(ids, b.v.ProductID) {
				ids = append(ids, b.v.ProductID)
			}
		}
		for chunk := range slices.Chunk(ids, productsPerCheck) {
			resp, err := mediaOrder(ctx, p.client, chunk, depth, reverse)
			if err != nil {
				return err
			}
			for _, n := range resp.GetNodes() {
				prod, ok := n.(*mediaOrderNodesProduct)
				if !ok || prod == nil {
					continue
				}
				total := prod.MediaCount.GetCount()
				for _, b := range group {
					if b.v.ProductID != prod.GetId() {
						continue
					}
					at := galleryPos{total: total, index: -1}
					for i, m := range prod.Media.GetNodes() {
						if m.GetId() == b.item.ID {
							at.index = i
							if reverse {
								at.index = total - 1 - i
							}
						}
					}
					into[b] = at
				}
			}
		}
	}
	for _, b := range jobs {
		if _, ok := into[b]; !ok {
			return fmt.Errorf("shopify: product %s of SKU %q no longer exists", b.v.ProductID, b.v.SKU)
		}
	}
	return nil
}

// reorder starts a productReorderMedia job and returns its ID.
func (p *Publisher) reorder(ctx context.Context, productID string, moves []mediaMove) (string, error) {
	resp, err := reorderMedia(ctx, p.client, productID, moves)
	if err != nil {
		return "", err
	}
	payload := resp.GetProductReorderMedia()
	if ues := payload.GetMediaUserErrors(); len(ues) > 0 {
		return "", codedUserErrors("place", "productReorderMedia", ues)
	}
	if payload.Job.GetId() == "" {
		return "", fmt.Errorf("shopify: productReorderMedia on %s answered without a job", productID)
	}
	return payload.Job.GetId(), nil
}

// errReorderUnfinished is the cause given when a reorder job had not run
// by the processing timeout.
var errReorderUnfinished = errors.New("shopify: the media reorder job had not run by the deadline")

// waitJobs polls asynchronous jobs (job(id:), one per call: Job is not a
// Node) with growing waits until all are done, up to the processing
// timeout.
func (p *Publisher) waitJobs(ctx context.Context, ids []string) error {
	deadline := p.clock.Now().Add(p.processingTimeout)
	pending := slices.Clone(ids)
	for attempt := 0; len(pending) > 0; attempt++ {
		now := p.clock.Now()
		if !now.Before(deadline) {
			return fmt.Errorf("%w (%s after %v)", errReorderUnfinished, strings.Join(pending, ", "), p.processingTimeout)
		}
		wait := min(p.poll.Delay(attempt), deadline.Sub(now))
		if err := p.clock.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("shopify: waiting for media reorder: %w", err)
		}
		var still []string
		for _, id := range pending {
			resp, err := jobState(ctx, p.client, id)
			if err != nil {
				return err
			}
			if !resp.Job.GetDone() {
				still = append(still, id)
			}
		}
		pending = still
	}
	return nil
}

// newBatchID returns an identifier for one publish batch: "pb-" and 12
// random hex digits.
func newBatchID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "pb-" + hex.EncodeToString(b[:])
}
