package shopify

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
)

// Jobs of one SKU replace each other (see Snapshot): a product holds one
// video of this SDK per SKU. Publishing two of them side by side would
// break that, since neither would see the other's video when it looks for
// the SKU's earlier one, and both would stay on the product. So jobs of
// one SKU are published one after the other: within a PublishBatch in
// rounds (skuRounds), and across concurrent calls under the SKU's lock
// (lockBatch). Jobs published apart, as renders finish, may come in any
// order: an older job that finds a newer one's video leaves it
// (supersede), and one that finds its own video replaced by a newer one
// reports it (findReplaced).

// maxReplacedHops bounds how many replacements back findReplaced looks:
// enough for the jobs of one SKU that one batch holds, while a SKU
// republished run after run does not cost a read per run it ever had.
const maxReplacedHops = 8

// keyLock and skuLock name the locks of a job's key and of its SKU in the
// Publisher's keyedMutex. The prefixes keep a key from sharing a lock with
// a SKU that is spelled the same.
func keyLock(key string) string { return "key " + key }
func skuLock(sku string) string { return "sku " + strings.TrimSpace(sku) }

// lockBatch takes the locks the jobs of work need: each job's key, so that
// two publishes of one job cannot both miss each other's video and attach
// it twice; and each job's SKU, so that a publish of another job of the
// SKU waits until this one's video is READY and in its slot, and then
// finds it and replaces it. The locks are taken in sorted order, so
// batches that share some cannot deadlock each other. A job whose lock is
// not taken before ctx ends fails with the context's cause. It returns
// the function that releases what it took.
func (p *Publisher) lockBatch(ctx context.Context, work []*batchJob) (unlock func()) {
	holders := make(map[string][]*batchJob)
	for _, b := range work {
		for _, name := range []string{keyLock(b.job.Key), skuLock(b.job.SKU)} {
			holders[name] = append(holders[name], b)
		}
	}
	var unlocks []func()
	for _, name := range slices.Sorted(maps.Keys(holders)) {
		u, err := p.keys.lock(ctx, name)
		if err != nil {
			for _, b := range holders[name] {
				if !b.done {
					b.fail(fmt.Errorf("shopify: waiting for another publish of %s: %w", name, err))
				}
			}
			continue
		}
		unlocks = append(unlocks, u)
	}
	return unlockAll(unlocks)
}

// lockNames takes the named locks in sorted order (see lockBatch), or
// none of them and the context's cause if ctx ends first.
func (p *Publisher) lockNames(ctx context.Context, names ...string) (unlock func(), err error) {
	var unlocks []func()
	for _, name := range slices.Sorted(slices.Values(names)) {
		u, err := p.keys.lock(ctx, name)
		if err != nil {
			unlockAll(unlocks)()
			return nil, err
		}
		unlocks = append(unlocks, u)
	}
	return unlockAll(unlocks), nil
}

// unlockAll returns the function that releases the locks of unlocks, the
// last taken first.
func unlockAll(unlocks []func()) func() {
	return func() {
		for _, u := range slices.Backward(unlocks) {
			u()
		}
	}
}

// skuRounds splits work into rounds that each hold at most one job per
// SKU: round n holds the n-th job of each SKU in publishing order
// (publishOrder), so each round's video of a SKU replaces the one the
// round before put on the product, and the newest job's video is the one
// that stays. A batch without repeated SKUs is one round. Within a round
// jobs keep their order in work.
func skuRounds(work []*batchJob) [][]*batchJob {
	bySKU := make(map[string][]*batchJob)
	for _, b := range work {
		sku := strings.TrimSpace(b.job.SKU)
		bySKU[sku] = append(bySKU[sku], b)
	}
	rank := make(map[*batchJob]int, len(work))
	for _, group := range bySKU {
		slices.SortStableFunc(group, publishOrder)
		for i, b := range group {
			rank[b] = i
		}
	}
	var rounds [][]*batchJob
	for _, b := range work {
		r := rank[b]
		for len(rounds) <= r {
			rounds = append(rounds, nil)
		}
		rounds[r] = append(rounds[r], b)
	}
	return rounds
}

// publishOrder orders jobs of one SKU as they were created: by
// VideoJob.CreatedAt, then by key, so that the newest job's video is the
// one that stays whatever order the batch was handed over in.
func publishOrder(a, b *batchJob) int {
	return cmp.Or(a.job.CreatedAt.Compare(b.job.CreatedAt), strings.Compare(a.job.Key, b.job.Key))
}

// findReplaced looks for the job's own video among those the SKU's
// current video (b.prev, a replacement) replaced, newest first: each
// replacement's snapshot names the video it replaced. A job whose video
// is there was published and then replaced by a newer job of its SKU, and
// has come again because its answer was lost: publishing it anew would
// put an older video in the newer one's place. Such a job is settled as
// it was published (Reused, with its video's slot when it was replaced and
// the video it had replaced itself), and settled reports true. The job is
// left as it was when its video is not found within maxReplacedHops.
func (p *Publisher) findReplaced(ctx context.Context, b *batchJob) (settled bool, err error) {
	own := hasMarker(b.marker)
	cur := *b.prev
	for range maxReplacedHops {
		info := parseFilename(cur.Filename)
		if !info.replaces {
			return false, nil
		}
		g, err := p.readGallery(ctx, b.v.ProductID, info.marker, b.count)
		if err != nil || g.snap == nil {
			return false, err
		}
		resp, err := videoStatuses(ctx, p.client, []string{g.snap.Replaced})
		if err != nil {
			return false, err
		}
		var vid *videoStatusesNodesVideo
		if nodes := resp.GetNodes(); len(nodes) == 1 {
			vid, _ = nodes[0].(*videoStatusesNodesVideo)
		}
		if vid == nil || vid.GetId() == "" {
			// Deleted from the store's files: the chain ends here.
			return false, nil
		}
		it := newMediaItem(vid)
		if !own(it) {
			cur = it
			continue
		}
		b.item, b.located, b.replacedBy, b.prev = &it, true, cur.ID, nil
		b.res.MediaID, b.res.Status, b.res.Reused, b.res.Slot = it.ID, it.Status, true, g.snap.slot()
		if parseFilename(it.Filename).replaces {
			// What the job's video replaced is in its own snapshot.
			mine, err := p.readGallery(ctx, b.v.ProductID, b.marker, b.count)
			if err != nil {
				return false, err
			}
			if mine.snap != nil {
				b.res.Replaced = mine.snap.Replaced
			}
		}
		b.done = true
		p.logger.LogAttrs(ctx, slog.LevelInfo, "shopify: video already published and replaced by a newer job's", slog.String("sku", b.v.SKU),
			slog.String("product", b.v.ProductID), slog.String("media", it.ID), slog.String("replaced_by", cur.ID))
		return true, nil
	}
	return false, nil
}

// settleOlder settles a job new to the product that is older than the
// SKU's video there (b.prev), and reports whether it did: one whose own
// video that one replaced (findReplaced), and one that comes after a newer
// job's video was published (supersede). Which job is newer is told by
// the creation times the file names carry (VideoFilename); a job newer
// than the video, by those, is a new video for the SKU and needs no look
// along the replacements.
func (p *Publisher) settleOlder(ctx context.Context, b *batchJob) (settled bool, err error) {
	info := parseFilename(b.prev.Filename)
	dated := !b.job.CreatedAt.IsZero() && !info.created.IsZero()
	if dated && !info.created.After(b.job.CreatedAt) {
		return false, nil
	}
	if info.replaces {
		if settled, err := p.findReplaced(ctx, b); err != nil || settled {
			return settled, err
		}
	}
	if !dated {
		return false, nil
	}
	p.supersede(ctx, b)
	return true, nil
}

// supersede settles a job whose SKU's video on the product (b.prev)
// belongs to a newer job: its render finished after the newer job's was
// published, say. Replacing the newer video with the older would leave
// the product with the wrong one, so nothing is uploaded and the job
// reports the newer video with Result.Superseded. Jobs without a
// CreatedAt, and videos whose file name has none, are never superseded:
// the later publish replaces.
func (p *Publisher) supersede(ctx context.Context, b *batchJob) {
	b.res.MediaID, b.res.Status, b.res.Superseded = b.prev.ID, b.prev.Status, true
	b.prev, b.done = nil, true
	p.logger.LogAttrs(ctx, slog.LevelInfo, "shopify: a newer job's video of the SKU is on the product; not publishing the older one",
		slog.String("sku", b.v.SKU), slog.String("product", b.v.ProductID), slog.String("media", b.res.MediaID))
}
