package shopify

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Batch sizes. Each keeps one request's requested cost well inside a
// 1,000-point bucket, so that two processes sharing it still find room.
const (
	// MaxBatchJobs is the most concurrent Publish calls one coalesced batch
	// takes: one productVariants lookup's worth of SKUs (SKUsPerLookup).
	MaxBatchJobs = SKUsPerLookup
	// productsPerCheck is how many products one duplicate check reads
	// (nodes(ids:)); checkPageSize is how many of each product's newest
	// videos it reads. A product with more videos is paged through alone.
	// A check requests 10 points per product and is charged about 3, so
	// 10 products ask for 100 points: with more, a check waited for the
	// bucket to climb while others' requests kept it low (productsPerCheck
	// 25 asked for 250), which held back the requests paced behind it.
	productsPerCheck = 10
	checkPageSize    = 3
	// uploadsPerStage is how many files one stagedUploadsCreate asks
	// targets for; their downloads are open at the same time.
	uploadsPerStage = 10
	// videosPerPoll is how many videos one status poll (nodes(ids:))
	// reads.
	videosPerPoll = 50
)

// batchJob is one job of a batch as it moves through the steps.
type batchJob struct {
	job    VideoJob
	v      Variant
	marker string
	res    PublishResult
	err    error
	done   bool
	item   *mediaItem // the job's video once found or attached
	// attachedAt is when this batch attached the video; zero for a video
	// an earlier attempt attached.
	attachedAt time.Time
	// located is false while the attached video's id is not known yet.
	located bool
	vid     *video
	target  stagedTarget
	// placement is the job's gallery rule; count is the product's media
	// count when it was checked (-1 until then).
	placement Placement
	count     int
	// prev is the SKU's earlier video from this SDK, which the job's video
	// replaces, and snap the snapshot recorded before replacing it.
	prev *mediaItem
	snap *Snapshot
	// replacedBy is the video that replaced the job's own, which
	// findReplaced found off the product: the job was published and then
	// replaced by a newer job of its SKU, and is settled as it was.
	replacedBy string
}

func (b *batchJob) fail(err error) {
	b.err, b.done = err, true
}

// PublishBatch publishes several videos together, spending fewer cost
// points per video than publishing them one by one: one productVariants
// lookup per 50 SKUs (answers are cached, so a retried job does not look
// its SKU up again), one duplicate check per 10 products (nodes(ids:)),
// one stagedUploadsCreate per 10 files, one productUpdate per video (which
// reads back only the newest video), and status polls of up to 50
// processing videos per call (nodes(ids:)). The guarantees of PublishVideo
// hold per job: the SKU must match exactly, a video already on the product
// (found by its marker) is never attached again, and each outcome ends
// READY or FAILED (or with an error saying why it did not get there).
//
// Once READY, each video is moved to its gallery slot (VideoJob.Placement,
// WithPlacement) with productReorderMedia, and a job whose SKU already has
// a video from this SDK replaces it (see Snapshot): the earlier video is
// removed only once the new one is READY and in its slot. Result.Slot,
// Result.Replaced and Result.Batch tell what happened; Result.DeliveryRef
// is the account to record.
//
// Jobs that share a SKU are published one after the other, oldest first
// (VideoJob.CreatedAt, then key), each after the one before is READY and
// in its slot, so each replaces the one before as above and only the
// newest job's video stays on the product. Each gets its own outcome:
// the earlier ones delivered (their Result says where their video was
// until the next one replaced it), the next one's Result.Replaced naming
// the video it took the place of. Such jobs cost a round of the steps
// each: SKUs repeated in a batch are meant to be rare. A job older than
// the one whose video is on the product already is not published (see
// PublishResult.Superseded).
//
// Outcomes are in the order of jobs. Jobs that share a key are published
// once and all get that outcome. With at least the bulk threshold of videos
// to attach (WithBulkThreshold, DefaultBulkThreshold), they are attached
// by one bulk operation instead of a productUpdate each; hand PublishBatch
// a whole catalog to make the most of it. Each job waits for any other publish
// of its key or its SKU in progress (a concurrent call's); if ctx ends
// first, the jobs not yet published report the context's cause.
func (p *Publisher) PublishBatch(ctx context.Context, jobs []VideoJob) []PublishOutcome {
	return p.publishBatch(ctx, jobs)
}

func (p *Publisher) publishBatch(ctx context.Context, jobs []VideoJob) []PublishOutcome {
	out := make([]PublishOutcome, len(jobs))
	first := make(map[string]int, len(jobs)) // key → the job that publishes it
	var work []*batchJob
	var index []int // work[i] is jobs[index[i]]
	for i, j := range jobs {
		out[i].Job = j
		if err := j.validate(); err != nil {
			out[i].Err = &PermanentError{Op: "validate", Err: err}
			continue
		}
		if _, dup := first[j.Key]; dup {
			continue
		}
		first[j.Key] = i
		work = append(work, &batchJob{job: j, marker: MediaMarker(j.Key), placement: p.placementOf(j), count: -1})
		index = append(index, i)
	}

	unlock := p.lockBatch(ctx, work)
	defer unlock()
	for _, round := range skuRounds(work) {
		p.publishRound(ctx, round)
	}

	for _, b := range work {
		switch {
		case b.item != nil && !b.attachedAt.IsZero():
			b.res.Batch = p.batch
		case b.item != nil:
			b.res.Batch = parseFilename(b.item.Filename).batch
		}
	}
	for w, b := range work {
		out[index[w]].Result, out[index[w]].Err = b.res, b.err
	}
	for i, j := range jobs {
		if f, ok := first[j.Key]; ok && f != i && out[i].Err == nil && out[i].Result == (PublishResult{}) {
			out[i].Result, out[i].Err = out[f].Result, out[f].Err
		}
	}
	return out
}

// publishRound takes jobs of distinct SKUs through every step of
// publishing, from the SKU lookup to the gallery slot.
func (p *Publisher) publishRound(ctx context.Context, work []*batchJob) {
	p.resolveBatch(ctx, work)
	p.checkBatch(ctx, work)
	p.snapshotBatch(ctx, work)
	for chunk := range slices.Chunk(unattached(work), uploadsPerStage) {
		p.uploadBatch(ctx, chunk)
	}
	p.attachBatch(ctx, work)
	p.pollBatch(ctx, work)
	p.replaceBatch(ctx, work)
	p.placeBatch(ctx, work)
	p.clearLegacyMarkers(ctx, work)
}

// resolveBatch finds each job's variant, looking up the SKUs the cache
// does not hold 50 per call.
func (p *Publisher) resolveBatch(ctx context.Context, work []*batchJob) {
	var skus []string
	for _, b := range work {
		if !b.done {
			skus = append(skus, strings.TrimSpace(b.job.SKU))
		}
	}
	// A failed lookup call fails the jobs it left unresolved; asking again
	// SKU by SKU would only spend more on a store that is failing.
	lookupErr := p.Prefetch(ctx, skus)
	for _, b := range work {
		if b.done {
			continue
		}
		e, ok := p.skus.get(strings.TrimSpace(b.job.SKU), p.clock.Now())
		switch {
		case !ok && lookupErr != nil:
			b.fail(lookupErr)
			continue
		case !ok:
			e.v, e.err = p.resolveSKU(ctx, b.job.SKU)
		}
		v, err := e.v, e.err
		if err != nil {
			b.fail(err)
			continue
		}
		b.v = v
		b.res = PublishResult{ProductID: v.ProductID, VariantID: v.ID}
	}
}

// checkBatch looks among each product's newest videos for the jobs'
// markers, several products per call, and refuses jobs whose product is
// at its media limit.
func (p *Publisher) checkBatch(ctx context.Context, work []*batchJob) {
	byProduct := make(map[string][]*batchJob)
	var products []string
	for _, b := range work {
		if b.done {
			continue
		}
		if byProduct[b.v.ProductID] == nil {
			products = append(products, b.v.ProductID)
		}
		byProduct[b.v.ProductID] = append(byProduct[b.v.ProductID], b)
	}
	for ids := range slices.Chunk(products, productsPerCheck) {
		resp, err := productsVideos(ctx, p.client, ids, checkPageSize, videoFilter)
		if err != nil {
			for _, id := range ids {
				for _, b := range byProduct[id] {
					b.fail(err)
				}
			}
			continue
		}
		seen := make(map[string]bool, len(ids))
		for _, n := range resp.GetNodes() {
			prod, ok := n.(*productsVideosNodesProduct)
			if !ok || prod == nil {
				continue
			}
			seen[prod.GetId()] = true
			conn := prod.GetMedia()
			items := make([]mediaItem, 0, len(conn.GetNodes()))
			for _, m := range conn.GetNodes() {
				items = append(items, newMediaItem(m))
			}
			more := len(items) == checkPageSize
			for _, b := range byProduct[prod.GetId()] {
				p.checkJob(ctx, b, items, more, prod.MediaCount.GetCount())
			}
		}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			for _, b := range byProduct[id] {
				// Deleted since the SKU was resolved: resolve it afresh
				// next time.
				p.skus.forget(b.v.SKU)
				b.fail(fmt.Errorf("shopify: product %s of SKU %q no longer exists", id, b.v.SKU))
			}
		}
	}
}

// checkJob settles one job's duplicate check from the first page of its
// product's videos, paging further only when the page was full. On the
// way it notes the newest other video this SDK published for the SKU,
// which the job's video is to replace.
func (p *Publisher) checkJob(ctx context.Context, b *batchJob, page []mediaItem, more bool, count int) {
	own, other := hasMarker(b.marker), publishedFor(b.v.SKU)
	match := func(m mediaItem) bool {
		if own(m) {
			return true
		}
		if b.prev == nil && other(m) {
			b.prev = &m
		}
		return false
	}
	b.count = count
	var found *mediaItem
	for i := range page {
		if match(page[i]) && found == nil {
			found = &page[i]
		}
	}
	if found == nil && more {
		var err error
		if found, count, err = p.findVideo(ctx, b.v, match, scanPageSize); err != nil {
			b.fail(err)
			return
		}
	}
	if found != nil {
		b.item, b.located = found, true
		b.res.MediaID, b.res.Status, b.res.Reused = found.ID, found.Status, true
		p.logger.LogAttrs(ctx, slog.LevelInfo, "shopify: video already on product", slog.String("sku", b.v.SKU),
			slog.String("product", b.v.ProductID), slog.String("media", found.ID), slog.String("status", string(found.Status)))
		return
	}
	b.count = count
	if count >= p.maxProductMedia {
		b.fail(&PermanentError{Op: "attach", Code: CodeProductMediaLimitExceeded,
			Err: fmt.Errorf("product %s already has %d media, the most a product may hold is %d", b.v.ProductID, count, p.maxProductMedia)})
	}
}

// uploadBatch opens the jobs' videos, asks for all their targets in one
// stagedUploadsCreate, and streams each video to its target.
func (p *Publisher) uploadBatch(ctx context.Context, chunk []*batchJob) {
	var todo []*batchJob
	for _, b := range chunk {
		if b.done || b.item != nil {
			continue
		}
		vid, err := p.openVideo(ctx, b.job.OutputURL)
		if err != nil {
			b.fail(err)
			continue
		}
		b.vid = vid
		todo = append(todo, b)
	}
	defer func() {
		for _, b := range todo {
			if cerr := b.vid.close(); cerr != nil {
				p.logger.LogAttrs(ctx, slog.LevelWarn, "shopify: closing video source", slog.String("error", cerr.Error()))
			}
			b.vid = nil
		}
	}()
	if len(todo) == 0 {
		return
	}
	files := make([]stagedFile, len(todo))
	for i, b := range todo {
		files[i] = stagedFile{Filename: videoFilename(b.job.Key, b.v.SKU, p.batch, b.snap != nil, b.job.CreatedAt), Size: b.vid.size}
	}
	targets, err := p.stage(ctx, files)
	for i, b := range todo {
		if err != nil {
			b.fail(err)
			continue
		}
		b.target = targets[i]
		if err := p.upload(ctx, b.target, files[i].Filename, videoMIMEType, b.vid); err != nil {
			b.fail(err)
		}
	}
}

// unattached returns the jobs of work neither settled (failed, say) nor
// with their video on the product already.
func unattached(work []*batchJob) []*batchJob {
	var rest []*batchJob
	for _, b := range work {
		if !b.done && b.item == nil {
			rest = append(rest, b)
		}
	}
	return rest
}

// attachBatch attaches the uploaded videos: with one bulk operation when
// there are at least the bulk threshold of them and no bulk operation of
// this Publisher is running, else (and for what the bulk operation left
// undone) with one productUpdate each, after a look at the store's current
// bulk mutation when bulk operations are on (awaitBulkMutation).
func (p *Publisher) attachBatch(ctx context.Context, work []*batchJob) {
	todo := unattached(work)
	switch {
	case p.bulkThreshold > 0 && len(todo) >= p.bulkThreshold && p.bulk.TryLock():
		todo = p.attachBulk(ctx, todo)
		p.bulk.Unlock()
	case p.bulkThreshold > 0 && len(todo) > 0:
		// An earlier attempt at these jobs may have started a bulk
		// operation whose answer was lost, and then failed them (see
		// bulkUnfinished): its lines would attach their videos after
		// these were attached one by one.
		var err error
		if todo, err = p.awaitBulkMutation(ctx, todo, p.clock.Now().Add(p.processingTimeout)); err != nil {
			p.bulkUnfinished(todo, err)
			return
		}
	}
	for _, b := range todo {
		p.attachJob(ctx, b)
	}
}

// attachJob appends one uploaded video to its product.
func (p *Publisher) attachJob(ctx context.Context, b *batchJob) {
	if b.done || b.item != nil {
		return
	}
	item, err := p.attach(ctx, b.v, b.target.ResourceURL, p.altText(b), b.marker)
	if err != nil {
		b.fail(err)
		return
	}
	b.attached(item, p.clock.Now())
	p.logger.LogAttrs(ctx, slog.LevelInfo, "shopify: video attached", slog.String("sku", b.v.SKU),
		slog.String("product", b.v.ProductID), slog.String("marker", b.marker))
}

// attached records that the job's video was attached at, with the video
// when it is known already (nil: the first poll finds it).
func (b *batchJob) attached(item *mediaItem, at time.Time) {
	b.attachedAt, b.located = at, item != nil
	if item == nil {
		item = &mediaItem{Status: MediaStatusUploaded}
	}
	b.item = item
	b.res.MediaID, b.res.Status = item.ID, item.Status
}

// pollBatch waits, with growing waits and a deadline, until every job's
// video is READY or FAILED. Videos whose id is not known yet are read as
// their product's newest video (newestVideos), the others by id, up to 50
// per call (videoStatuses).
func (p *Publisher) pollBatch(ctx context.Context, work []*batchJob) {
	var pending []*batchJob
	for _, b := range work {
		if b.done {
			continue
		}
		if b.located && (p.settle(b, b.item) || !p.wait) {
			b.done = true
			continue
		}
		pending = append(pending, b)
	}
	if !p.wait {
		// Only the ids are wanted: read them now, whatever the status.
		p.pollOnce(ctx, pending)
		for _, b := range pending {
			b.done = true
		}
		return
	}
	deadline := p.clock.Now().Add(p.processingTimeout)
	first := p.firstPoll(pending)
	for attempt := 0; len(pending) > 0; attempt++ {
		now := p.clock.Now()
		if !now.Before(deadline) {
			for _, b := range pending {
				b.fail(fmt.Errorf("shopify: video %s is %s after %v: %w", cmp.Or(b.item.ID, "with marker "+b.marker), b.res.Status, p.processingTimeout, ErrProcessingTimeout))
			}
			return
		}
		wait := p.poll.Delay(attempt)
		if attempt == 0 {
			wait = first
		}
		if err := p.clock.Sleep(ctx, min(wait, deadline.Sub(now))); err != nil {
			for _, b := range pending {
				b.fail(fmt.Errorf("shopify: waiting for video %s: %w", cmp.Or(b.item.ID, "with marker "+b.marker), err))
			}
			return
		}
		pending = p.pollOnce(ctx, pending)
	}
}

// pollOnce reads the status of each job's video once, settles the jobs
// whose processing is over, and returns the others.
func (p *Publisher) pollOnce(ctx context.Context, pending []*batchJob) []*batchJob {
	var byID, unlocated []*batchJob
	for _, b := range pending {
		if b.located {
			byID = append(byID, b)
		} else {
			unlocated = append(unlocated, b)
		}
	}
	var still []*batchJob
	check := func(b *batchJob, it *mediaItem) {
		if it == nil {
			b.fail(fmt.Errorf("shopify: video %s disappeared from product %s while processing", cmp.Or(b.item.ID, "with marker "+b.marker), b.v.ProductID))
			return
		}
		b.item, b.located = it, true
		b.res.MediaID = it.ID
		if p.settle(b, it) {
			b.done = true
			if it.Status == MediaStatusReady && !b.attachedAt.IsZero() {
				p.learnProcessing(p.clock.Now().Sub(b.attachedAt))
			}
			return
		}
		still = append(still, b)
	}
	for chunk := range slices.Chunk(unlocated, videosPerPoll) {
		found, err := p.locate(ctx, chunk)
		for _, b := range chunk {
			if err != nil {
				b.fail(err)
				continue
			}
			check(b, found[b])
		}
	}
	for chunk := range slices.Chunk(byID, videosPerPoll) {
		ids := make([]string, len(chunk))
		for i, b := range chunk {
			ids[i] = b.item.ID
		}
		resp, err := videoStatuses(ctx, p.client, ids)
		if err != nil {
			for _, b := range chunk {
				b.fail(err)
			}
			continue
		}
		nodes := resp.GetNodes()
		for i, b := range chunk {
			var vid *videoStatusesNodesVideo
			if i < len(nodes) {
				vid, _ = nodes[i].(*videoStatusesNodesVideo)
			}
			if vid == nil || vid.GetId() != b.item.ID {
				check(b, nil)
				continue
			}
			it := newMediaItem(vid)
			check(b, &it)
		}
	}
	return still
}

// locate finds the videos just attached for jobs, as the newest video of
// each job's product, or by paging through the product's videos when
// another video has been attached since.
func (p *Publisher) locate(ctx context.Context, jobs []*batchJob) (map[*batchJob]*mediaItem, error) {
	var ids []string
	for _, b := range jobs {
		if !slices.Contains(ids, b.v.ProductID) {
			ids = append(ids, b.v.ProductID)
		}
	}
	resp, err := newestVideos(ctx, p.client, ids, videoFilter)
	if err != nil {
		return nil, err
	}
	newest := make(map[string]mediaItem, len(ids))
	for _, n := range resp.GetNodes() {
		if prod, ok := n.(*newestVideosNodesProduct); ok && prod != nil {
			for _, m := range prod.Media.GetNodes() {
				newest[prod.GetId()] = newMediaItem(m)
			}
		}
	}
	found := make(map[*batchJob]*mediaItem, len(jobs))
	for _, b := range jobs {
		if it, ok := newest[b.v.ProductID]; ok && hasMarker(b.marker)(it) {
			found[b] = &it
			continue
		}
		it, _, err := p.findVideo(ctx, b.v, hasMarker(b.marker), scanPageSize)
		if err != nil {
			return nil, err
		}
		found[b] = it
	}
	return found, nil
}

// settle records a video's status on its job and reports whether
// processing is over (READY, or FAILED with the job's error set).
func (p *Publisher) settle(b *batchJob, m *mediaItem) bool {
	b.res.Status = m.Status
	switch m.Status {
	case MediaStatusReady:
		return true
	case MediaStatusFailed:
		b.err = processingError(m)
		return true
	}
	return false
}

// firstPoll is the wait before the first status poll of a batch: the
// processing time seen so far, less the time since the batch's newest
// video was attached, but at least the first poll interval. Each poll
// costs a point per video, so polling before videos are likely done is
// points spent for nothing.
func (p *Publisher) firstPoll(pending []*batchJob) time.Duration {
	p.procMu.Lock()
	est := p.procEstimate
	p.procMu.Unlock()
	var newest time.Time
	for _, b := range pending {
		if b.attachedAt.After(newest) {
			newest = b.attachedAt
		}
	}
	if est <= 0 || newest.IsZero() {
		return p.poll.Initial
	}
	// 0.9: the samples are upper bounds (READY was seen at a poll, some
	// time after it happened), so aim a little early.
	return max(p.poll.Initial, time.Duration(0.9*float64(est))-p.clock.Now().Sub(newest))
}

// learnProcessing folds one observed time from attach to READY into the
// estimate firstPoll uses.
func (p *Publisher) learnProcessing(d time.Duration) {
	p.procMu.Lock()
	defer p.procMu.Unlock()
	if p.procEstimate == 0 {
		p.procEstimate = d
		return
	}
	p.procEstimate = time.Duration(0.7*float64(p.procEstimate) + 0.3*float64(d))
}
