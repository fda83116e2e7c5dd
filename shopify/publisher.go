package shopify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/creativeai-run/catalogvideo/internal/backoff"
)

// Publisher defaults.
const (
	// DefaultProcessingTimeout is how long PublishVideo waits for Shopify to
	// finish processing a video.
	DefaultProcessingTimeout = 10 * time.Minute
	// DefaultMaxVideoBytes is the largest video Shopify accepts (1 GB); a
	// larger one is refused before it is uploaded.
	DefaultMaxVideoBytes = 1 << 30
	// DefaultMaxProductMedia is how many media a product may hold.
	DefaultMaxProductMedia = 250
	// DefaultSKUCacheTTL is how long a resolved SKU is remembered.
	DefaultSKUCacheTTL = 10 * time.Minute

	// maxAltLength is Shopify's limit on media alt text, in characters.
	maxAltLength = 512
	// scanPageSize is how many videos one page reads when a product's
	// videos are paged through for a marker.
	scanPageSize = 50
	videoFilter  = "media_type:VIDEO"
)

// ErrProcessingTimeout is matched (with errors.Is) by the error PublishVideo
// returns when Shopify is still processing the video at the deadline. It is
// not permanent: publishing the same job again finds the video and resumes
// waiting.
var ErrProcessingTimeout = errors.New("shopify: video still processing at the deadline")

// VideoJob is one video to publish on a product.
type VideoJob struct {
	// Key identifies the job and must be the same every time the job is
	// published (the batch package's row key, for instance). The video's
	// file name starts with a marker derived from it (see MediaMarker and
	// VideoFilename), which is how a retry finds a video an earlier
	// attempt already attached.
	Key string
	// SKU is the exact SKU of a variant of the product to publish on.
	SKU string
	// OutputURL is where the rendered mp4 can be downloaded (http or https).
	OutputURL string
	// Alt is the video's alternative text; when empty it is written from
	// the Publisher's alt text template (WithAltTemplate,
	// DefaultAltTemplate).
	Alt string
	// Placement is where in the product's gallery the video goes; the
	// zero Placement means the Publisher's (WithPlacement,
	// DefaultPlacement). A video that replaces an earlier one of the SKU
	// takes that one's slot instead.
	Placement Placement
	// CreatedAt is when the job was created (the batch package's
	// jobs.Job.CreatedAt, say). It orders the jobs of one SKU in one
	// PublishBatch: they are published one after the other, by CreatedAt
	// and then by key, each replacing the one before, so the newest job's
	// video is the one left on the product. Zero sorts first.
	CreatedAt time.Time
}

func (j VideoJob) validate() error {
	var errs []error
	if strings.TrimSpace(j.Key) == "" {
		errs = append(errs, errors.New("VideoJob.Key is empty: give a key that stays the same across retries"))
	}
	if strings.TrimSpace(j.SKU) == "" {
		errs = append(errs, errors.New("VideoJob.SKU is empty"))
	}
	if u, err := url.Parse(j.OutputURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("VideoJob.OutputURL %q is not an absolute http(s) URL", redactURL(j.OutputURL)))
	}
	return errors.Join(errs...)
}

// PublishResult tells where a video ended up.
type PublishResult struct {
	// ProductID is the product the video is attached to.
	ProductID string
	// VariantID is the variant whose SKU matched.
	VariantID string
	// MediaID is the video's global ID (gid://shopify/Video/…).
	MediaID string
	// Status is the video's processing status when PublishVideo returned:
	// READY, or UPLOADED/PROCESSING when not waiting or at the deadline.
	Status MediaStatus
	// Reused reports that the video was already on the product from an
	// earlier attempt, so nothing was uploaded.
	Reused bool
	// Slot is the video's position in the product's gallery once placed,
	// counting from 1 (the featured slot); 0 when it was not placed (not
	// READY, or publishing stopped before).
	Slot int
	// Replaced is the media ID of the earlier video of the SKU that this
	// one replaced and that was removed from the product; empty when none
	// was.
	Replaced string
	// Batch is the publish batch that attached the video (see
	// WithBatchID), for rolling a batch back; read from the video's file
	// name for a video an earlier attempt attached.
	Batch string
	// Superseded reports that the job's video was not published because
	// the SKU's video on the product is a newer job's (a later
	// VideoJob.CreatedAt, read from its file name): publishing the older
	// one would replace the newer. MediaID is then the newer job's video,
	// and nothing was uploaded.
	Superseded bool
}

// PublishOutcome is the result of one job of PublishVideos.
type PublishOutcome struct {
	// Job is the job as given.
	Job VideoJob
	// Result is filled as far as publishing got.
	Result PublishResult
	// Err is nil when the video was published.
	Err error
}

// Publisher attaches rendered mp4 videos to products found by SKU.
//
// For each job it resolves the SKU to a product, looks among the product's
// videos for one carrying the job's marker (and if it finds one, reports it
// instead of uploading again), streams the mp4 from the job's URL into a
// staged upload, attaches it with productUpdate as VIDEO media, and waits
// for Shopify to finish processing it. A Publisher is safe for concurrent
// use; jobs with the same key, and jobs with the same SKU, are published
// one at a time, so that a later job of a SKU finds the earlier one's
// video and replaces it.
type Publisher struct {
	client            *Client
	transfer          *http.Client
	clock             Clock
	logger            *slog.Logger
	poll              backoff.Policy
	processingTimeout time.Duration
	wait              bool
	spoolDir          string
	maxVideoBytes     int64
	maxProductMedia   int
	skus              *skuCache
	alt               *template.Template
	placement         Placement
	batch             string
	keys              keyedMutex
	coalesce          *coalescer

	bulkThreshold int
	bulk          sync.Mutex // held while this Publisher runs a bulk operation
	// bulkMu guards bulkSeen, the last bulk mutation this Publisher saw
	// end, and bulkOwn, the one it runs now and got the start answer for:
	// neither needs a second look (see awaitBulkMutation).
	bulkMu   sync.Mutex
	bulkSeen string
	bulkOwn  string

	procMu       sync.Mutex
	procEstimate time.Duration // typical attach-to-READY time seen; see firstPoll
}

// PublisherOption configures a Publisher.
type PublisherOption func(*Publisher)

// WithTransferClient sets the HTTP client that downloads videos and uploads
// them to staged targets. The default is the Client's HTTP client. The
// access token is never sent on these requests.
func WithTransferClient(hc *http.Client) PublisherOption {
	return func(p *Publisher) {
		if hc != nil {
			p.transfer = hc
		}
	}
}

// WithProcessingTimeout sets how long to wait for a video to be processed;
// the default is DefaultProcessingTimeout.
func WithProcessingTimeout(d time.Duration) PublisherOption {
	return func(p *Publisher) {
		if d > 0 {
			p.processingTimeout = d
		}
	}
}

// WithPollInterval sets the first wait between status polls and the longest
// one; waits grow between the two. The defaults are 2 and 15 seconds.
func WithPollInterval(first, longest time.Duration) PublisherOption {
	return func(p *Publisher) {
		if first > 0 {
			p.poll.Initial = first
		}
		p.poll.Max = max(longest, p.poll.Initial)
	}
}

// WithoutWaiting makes PublishVideo return as soon as the video is attached,
// with the status Shopify reported then, instead of polling until it is
// READY. Videos are then neither moved to their slot nor do they replace
// the SKU's earlier video, which both wait for READY: the earlier video
// stays until the job is published again once its video is READY.
func WithoutWaiting() PublisherOption {
	return func(p *Publisher) { p.wait = false }
}

// WithSpoolDir sets the directory for the temporary file a video is copied
// to when its server does not send Content-Length. The default is
// os.TempDir().
func WithSpoolDir(dir string) PublisherOption {
	return func(p *Publisher) { p.spoolDir = dir }
}

// WithMaxVideoBytes sets the largest video to publish; the default is
// DefaultMaxVideoBytes.
func WithMaxVideoBytes(n int64) PublisherOption {
	return func(p *Publisher) {
		if n > 0 {
			p.maxVideoBytes = n
		}
	}
}

// WithMaxProductMedia sets how many media a product may hold before a
// publish is refused without uploading; the default is
// DefaultMaxProductMedia.
func WithMaxProductMedia(n int) PublisherOption {
	return func(p *Publisher) {
		if n > 0 {
			p.maxProductMedia = n
		}
	}
}

// WithSKUCacheTTL sets how long resolved SKUs (and SKUs found missing or
// ambiguous) are remembered; the default is DefaultSKUCacheTTL.
func WithSKUCacheTTL(d time.Duration) PublisherOption {
	return func(p *Publisher) {
		if d > 0 {
			p.skus.ttl = d
		}
	}
}

// WithCoalescing sets how long Publish waits for concurrent Publish calls
// to join one PublishBatch call (up to MaxBatchJobs jobs); the default is
// DefaultCoalesceWindow. Batching saves cost points per video (see
// PublishBatch) and costs each publish up to window of latency, which is
// small beside Shopify's processing time. 0 publishes each call on its
// own.
func WithCoalescing(window time.Duration) PublisherOption {
	return func(p *Publisher) {
		if window < 0 {
			window = 0
		}
		p.coalesce.window = window
	}
}

// NewPublisher returns a Publisher that calls Shopify through c.
func NewPublisher(c *Client, opts ...PublisherOption) *Publisher {
	p := &Publisher{
		client:            c,
		transfer:          c.httpClient,
		clock:             c.clock,
		logger:            c.logger,
		poll:              backoff.Policy{Initial: 2 * time.Second, Max: 15 * time.Second, Multiplier: 1.5, Jitter: 0.2},
		processingTimeout: DefaultProcessingTimeout,
		wait:              true,
		maxVideoBytes:     DefaultMaxVideoBytes,
		maxProductMedia:   DefaultMaxProductMedia,
		skus:              newSKUCache(DefaultSKUCacheTTL),
		alt:               defaultAltTemplate,
		placement:         DefaultPlacement,
		batch:             newBatchID(),
		bulkThreshold:     DefaultBulkThreshold,
	}
	p.coalesce = &coalescer{p: p, window: DefaultCoalesceWindow}
	for _, opt := range opts {
		if opt != nil {
			opt(p)
		}
	}
	return p
}

// Publish publishes one video from plain values and returns the media ID.
// It exists so that a delivery outbox can use the Publisher without this
// package knowing the outbox's types: wrap it in the outbox's sink
// interface, passing the job's key, SKU and output URL. For the batch
// package's outbox:
//
//	sink := batch.SinkFunc(func(ctx context.Context, job batch.Job) (string, error) {
//		return pub.Publish(ctx, job.Key, job.SKU, job.OutputURL)
//	})
//
// Errors that retrying cannot fix have a Permanent() bool method returning
// true (see IsPermanent), which the outbox can check with errors.As. The
// media ID of a job a newer job of its SKU superseded is the newer job's
// video (see PublishResult.Superseded); PublishJob, which shopifysink
// uses, tells the two apart.
//
// Concurrent calls are coalesced: calls that arrive within the coalescing
// window (WithCoalescing) are published together by one PublishBatch, so
// an outbox running several delivery workers spends the cost points of
// batches without knowing about them. Each call still gets its own job's
// outcome, and returns when its own context ends.
func (p *Publisher) Publish(ctx context.Context, key, sku, outputURL string) (mediaID string, err error) {
	res, err := p.PublishJob(ctx, VideoJob{Key: key, SKU: sku, OutputURL: outputURL})
	return res.MediaID, err
}

// PublishVideos publishes jobs with PublishBatch.
// It stops early, reporting the context's cause for the remaining jobs,
// when ctx ends.
func (p *Publisher) PublishVideos(ctx context.Context, jobs []VideoJob) []PublishOutcome {
	return p.PublishBatch(ctx, jobs)
}

// Prefetch resolves SKUs in batches and remembers the answers, so that
// publishing them later costs no lookup call each. SKUs that are missing or
// ambiguous are remembered as such. It returns an error only when a lookup
// call failed.
func (p *Publisher) Prefetch(ctx context.Context, skus []string) error {
	var todo []string
	for _, s := range skus {
		if _, ok := p.skus.get(s, p.clock.Now()); !ok {
			todo = append(todo, s)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	found, err := p.client.LookupSKUs(ctx, todo)
	now := p.clock.Now()
	for sku, v := range found {
		p.skus.put(sku, v, nil, now)
	}
	var multi interface{ Unwrap() []error }
	if errors.As(err, &multi) {
		for _, e := range multi.Unwrap() {
			var nf *SKUNotFoundError
			var amb *AmbiguousSKUError
			switch {
			case errors.As(e, &nf):
				p.skus.put(nf.SKU, Variant{}, e, now)
			case errors.As(e, &amb):
				p.skus.put(amb.SKU, Variant{}, e, now)
			default:
				return err
			}
		}
		return nil
	}
	return err
}

func (p *Publisher) resolveSKU(ctx context.Context, sku string) (Variant, error) {
	sku = strings.TrimSpace(sku)
	if e, ok := p.skus.get(sku, p.clock.Now()); ok {
		return e.v, e.err
	}
	v, err := p.client.LookupSKU(ctx, sku)
	// Remember what the catalog said, not failures to ask it.
	var nf *SKUNotFoundError
	var amb *AmbiguousSKUError
	if err == nil || errors.As(err, &nf) || errors.As(err, &amb) {
		p.skus.put(sku, v, err, p.clock.Now())
	}
	return v, err
}

// PublishVideo publishes one video and returns where it is. When the job's
// video is already on the product (an earlier attempt attached it), nothing
// is uploaded and Result.Reused is set.
//
// Errors: a *PermanentError (with Shopify's code where there is one) for a
// product at its media limit, a video Shopify failed to process, or input
// Shopify refuses; *SKUNotFoundError and *AmbiguousSKUError for SKUs that do
// not name one product; an error matching ErrProcessingTimeout when
// processing outlasts the deadline. Other errors (network, throttling
// exhausted, server errors) are worth retrying; IsPermanent tells them
// apart. The result is filled as far as publishing got.
func (p *Publisher) PublishVideo(ctx context.Context, job VideoJob) (PublishResult, error) {
	o := p.publishBatch(ctx, []VideoJob{job})[0]
	return o.Result, o.Err
}

// PublishJob publishes one job as Publish does, coalescing concurrent
// calls into batches, and returns the whole result: where the video is,
// its slot, the video it replaced and its batch (see
// PublishResult.DeliveryRef).
func (p *Publisher) PublishJob(ctx context.Context, job VideoJob) (PublishResult, error) {
	if p.coalesce.window > 0 {
		o := p.coalesce.publish(ctx, job)
		return o.Result, o.Err
	}
	return p.PublishVideo(ctx, job)
}

// attach appends the uploaded video to the product. It returns the video
// only when it had to look for it (the answer was lost); otherwise the
// video is nil and the first status poll finds it (see locate).
func (p *Publisher) attach(ctx context.Context, v Variant, resourceURL, alt, marker string) (*mediaItem, error) {
	resp, err := attachMedia(ctx, p.client, productRef{Id: v.ProductID}, []createMediaInput{{
		OriginalSource:   resourceURL,
		Alt:              alt,
		MediaContentType: "VIDEO",
	}})
	if err != nil {
		if IsPermanent(err) || ctx.Err() != nil {
			return nil, err
		}
		// No answer (a dropped connection, a 5xx) does not mean it was not
		// applied: look before reporting a failure that would be retried.
		found, _, ferr := p.findVideo(ctx, v, hasMarker(marker), scanPageSize)
		if ferr == nil && found != nil {
			p.logger.LogAttrs(ctx, slog.LevelInfo, "shopify: productUpdate failed but the video was attached",
				slog.String("media", found.ID), slog.String("error", err.Error()))
			return found, nil
		}
		return nil, err
	}
	payload := resp.GetProductUpdate()
	if ues := payload.GetUserErrors(); len(ues) > 0 {
		errs := &UserErrors{Operation: "productUpdate"}
		for _, ue := range ues {
			errs.Errors = append(errs.Errors, &UserError{Field: ue.GetField(), Message: ue.GetMessage()})
		}
		return nil, &PermanentError{Op: "attach", Err: errs}
	}
	if payload.Product.GetId() == "" {
		return nil, fmt.Errorf("shopify: productUpdate answered without product %s", v.ProductID)
	}
	return nil, nil
}

// mediaItem is what the publisher reads of one media item.
type mediaItem struct {
	ID       string
	Alt      string
	Filename string
	Status   MediaStatus
	Errors   []mediaFieldsMediaErrorsMediaError
}

// mediaNode is the part of genqlient's media types the publisher reads;
// both operations' node types satisfy it through the mediaFields fragment.
type mediaNode interface {
	GetId() string
	GetAlt() string
	GetStatus() MediaStatus
	GetMediaErrors() []mediaFieldsMediaErrorsMediaError
}

func newMediaItem(n mediaNode) mediaItem {
	it := mediaItem{ID: n.GetId(), Alt: n.GetAlt(), Status: n.GetStatus(), Errors: n.GetMediaErrors()}
	if f, ok := n.(interface{ GetFilename() string }); ok {
		it.Filename = f.GetFilename()
	}
	return it
}

// findVideo pages through the product's videos, newest first, until match
// accepts one. It also returns the product's media count.
func (p *Publisher) findVideo(ctx context.Context, v Variant, match func(mediaItem) bool, pageSize int) (*mediaItem, int, error) {
	after := ""
	for {
		resp, err := productVideos(ctx, p.client, v.ProductID, pageSize, after, videoFilter)
		if err != nil {
			return nil, 0, err
		}
		prod := resp.GetProduct()
		if prod.GetId() == "" {
			// Deleted since the SKU was resolved: resolve it afresh next time.
			p.skus.forget(v.SKU)
			return nil, 0, fmt.Errorf("shopify: product %s of SKU %q no longer exists", v.ProductID, v.SKU)
		}
		conn := prod.GetMedia()
		for _, n := range conn.GetNodes() {
			if it := newMediaItem(n); match(it) {
				return &it, prod.MediaCount.GetCount(), nil
			}
		}
		pi := conn.GetPageInfo()
		if !pi.GetHasNextPage() || pi.GetEndCursor() == "" || pi.GetEndCursor() == after {
			return nil, prod.MediaCount.GetCount(), nil
		}
		after = pi.GetEndCursor()
	}
}

// processingError reports a video Shopify failed to process, with the code
// of its first media error.
func processingError(m *mediaItem) error {
	code := ""
	msgs := make([]string, 0, len(m.Errors))
	for _, e := range m.Errors {
		if code == "" {
			code = e.GetCode()
		}
		msg := e.GetMessage()
		if d := e.GetDetails(); d != "" {
			msg += " (" + d + ")"
		}
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		msgs = append(msgs, "no reason given")
	}
	return &PermanentError{Op: "processing", Code: code,
		Err: fmt.Errorf("processing video %s failed: %s", m.ID, strings.Join(msgs, "; "))}
}

// keyedMutex serializes work per name: a job's key, so two concurrent
// publishes of one job cannot both miss each other's video and attach it
// twice, and a job's SKU, so two jobs of one SKU cannot both miss each
// other's video and both stay on the product (see lockBatch). Waiting for
// a key ends with the context: a publish queued behind a long one (a video
// still processing) gives up at its own deadline instead of overrunning it.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	held chan struct{} // holds one token while the key is locked
	refs int
}

// lock takes the key's lock, or returns the context's cause if ctx ends
// first.
func (k *keyedMutex) lock(ctx context.Context, key string) (unlock func(), err error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = make(map[string]*keyedLock)
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{held: make(chan struct{}, 1)}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	release := func() {
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
	// A context that has already ended never takes the lock, even a free
	// one, so the outcome does not depend on select's random choice.
	if ctx.Err() == nil {
		select {
		case l.held <- struct{}{}:
			return func() { <-l.held; release() }, nil
		case <-ctx.Done():
		}
	}
	release()
	return nil, contextCause(ctx)
}

// contextCause is the reason ctx ended: its cause when one was set, else
// its error.
func contextCause(ctx context.Context) error {
	if c := context.Cause(ctx); c != nil {
		return c
	}
	return ctx.Err()
}
