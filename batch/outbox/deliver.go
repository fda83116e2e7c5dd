package outbox

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/archive"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/internal/backoff"
	"github.com/creativeai-run/catalogvideo/internal/logx"
	"github.com/creativeai-run/catalogvideo/internal/permanent"
)

// Sink delivers a completed video to a target surface: a Shopify product
// page, a CMS, an ad pipeline. Deliver returns a reference to what it created
// (such as a media id), which is recorded on the job.
//
// A delivery may be attempted more than once: after a failure, and when a
// worker's lease ran out mid-attempt. Sinks should make a second delivery of
// the same job harmless, for example by looking for what the first one
// created (the job's Key identifies it).
//
// An error with a method Permanent() bool that returns true (see Permanent)
// ends the job's delivery at once; any other error is retried with backoff.
type Sink interface {
	Deliver(ctx context.Context, job jobs.Job) (ref string, err error)
}

// SinkFunc adapts a function to the Sink interface.
type SinkFunc func(ctx context.Context, job jobs.Job) (ref string, err error)

// Deliver calls f(ctx, job).
func (f SinkFunc) Deliver(ctx context.Context, job jobs.Job) (string, error) { return f(ctx, job) }

// Permanent marks err as final: a delivery that fails with it is not retried.
// Use it for errors that no retry can fix, such as a product that does not
// exist. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() error   { return e.err }
func (e *permanentError) Permanent() bool { return true }

// IsPermanent reports whether err, or an error it wraps, has a method
// Permanent() bool that returns true.
func IsPermanent(err error) bool {
	return permanent.Is(err)
}

// Defaults of Config.
const (
	DefaultWorkers = 4
	// DefaultAttemptTimeout bounds one call of a sink. It exceeds the
	// Shopify publisher's wait for a video to be processed
	// (shopify.DefaultProcessingTimeout, 10 minutes) plus the download and
	// staged upload before it, so that an attempt is not cut short, and
	// spent, while Shopify is still working.
	DefaultAttemptTimeout = 15 * time.Minute
	// DefaultLease is the lease with the default AttemptTimeout: a lease
	// left unset is the attempt timeout plus leaseMargin.
	DefaultLease        = DefaultAttemptTimeout + leaseMargin
	DefaultMaxAttempts  = 8
	DefaultPollInterval = 5 * time.Second
	// DefaultBatchSize is the most jobs of one surface a worker hands a
	// BatchSink at once. 50 fills one Shopify SKU lookup
	// (shopify.SKUsPerLookup) and is twice the publisher's bulk threshold
	// (shopify.DefaultBulkThreshold, 25), so a backlog of a surface is
	// attached by bulk operations; larger batches would save little more
	// while all their jobs wait for the slowest under one AttemptTimeout.
	DefaultBatchSize = 50
)

// leaseMargin is how much longer than an attempt a default lease lasts: the
// time to record the attempt's result after the sink returns.
const leaseMargin = 5 * time.Minute

// Config configures Deliver and DeliverOnce.
type Config struct {
	// Store holds the outbox.
	Store jobs.Store
	// Sinks routes jobs by target_surface.
	Sinks map[string]Sink
	// Fallback receives jobs whose target_surface has no sink in Sinks. When
	// nil, workers claim only jobs for the surfaces in Sinks
	// (jobs.Claim.TargetSurfaces): a job for another surface stays pending
	// in the outbox for a process that has a sink for it.
	Fallback Sink

	// Archive, when set, keeps every video: a claimed job with no archived
	// copy yet is archived (archive.Archiver.Archive) and the copy recorded
	// on the job (jobs.Store.RecordArchive) before its sink is called, so
	// a job is delivered only after it is archived. Sinks read the copy
	// with Open. A failed archive counts as a failed delivery attempt and
	// is retried with Backoff; an output_url that is gone
	// (archive.ErrOutputGone) fails the delivery for good. A crash between
	// archiving and recording archives again into the same object. Jobs
	// no worker of this process claims, such as those without a
	// target_surface, are archived by a sweep (see Deliver).
	Archive *archive.Archiver

	// Review names the target surfaces whose videos a person approves
	// before they are delivered (the review gate). A claimed job for one
	// of them that is not approved (jobs.Job.Approved) is archived first
	// when Archive is set, since output URLs expire while a video waits,
	// and then recorded as awaiting review (jobs.DeliveryAwaitingReview,
	// which is not an attempt) instead of reaching its sink; it waits
	// outside the outbox until jobs.Store.Approve makes it due again, in
	// this process or any other sharing the store, or jobs.Store.Reject
	// marks it rejected. A job approved ahead (while rendering) goes
	// straight through. Every surface named must have a sink in Sinks
	// unless Fallback is set.
	Review []string

	// Workers is the number of deliveries in flight at once (default 4):
	// each worker delivers one job, or one batch of a BatchSink, at a time.
	Workers int
	// BatchSize is the most due jobs of one surface a worker claims at once
	// for a surface whose sink is a BatchSink, and hands it in one
	// DeliverBatch call (default DefaultBatchSize, 50; 1 delivers one job
	// at a time through Deliver). A batch takes what is due, however few.
	// Its jobs keep their leases while it runs, and the archives and the
	// sink call of the whole batch share one AttemptTimeout. Sinks that are
	// not BatchSinks, and Fallback, get one job at a time.
	BatchSize int
	// Owner names this process in claims (default host-pid-random).
	Owner string
	// Lease is how long a claimed job stays with its worker (default
	// AttemptTimeout plus 5m: 20m with the default AttemptTimeout). It must
	// exceed AttemptTimeout, or a slow attempt's job could be claimed again
	// while it is still being delivered.
	Lease time.Duration
	// AttemptTimeout bounds one call of a sink (default 15m). Keep it longer
	// than the sink's own longest wait: the Shopify publisher waits up to
	// shopify.DefaultProcessingTimeout (10m) for Shopify to process a video,
	// after downloading and uploading it, and an attempt cut short is
	// counted against MaxAttempts and retried from the start.
	AttemptTimeout time.Duration
	// MaxAttempts is the number of attempts before a delivery fails for good
	// (default 8).
	MaxAttempts int
	// Backoff returns the wait before the next attempt after n failed ones
	// (n ≥ 1). The default grows from 30s to an hour, with jitter.
	Backoff func(n int) time.Duration
	// PollInterval is how often Deliver looks for due jobs when the outbox
	// is empty (default 5s).
	PollInterval time.Duration

	// Clock is the time claims and retries are computed from (default
	// time.Now).
	Clock jobs.Clock
	// Logger receives failed attempts at warn level (default: discard).
	Logger *slog.Logger
	// OnResult, if set, is called after each attempt is recorded with the
	// job as recorded and the sink's error (nil on success). It is called
	// from the workers, concurrently. A job held for review is no attempt
	// and is not reported.
	OnResult func(job jobs.Job, err error)
}

// defaultBackoff spaces retries for sinks whose trouble is usually a remote
// outage or a rate limit: minutes, not milliseconds.
var defaultBackoff = backoff.Policy{Initial: 30 * time.Second, Max: time.Hour}

type deliverer struct {
	cfg    Config
	log    *slog.Logger
	review map[string]struct{} // Config.Review
	// rounds are the claims a worker makes in each round, in order.
	rounds []claimSpec
	// batchSinks are the BatchSinks of Sinks by surface, when BatchSize is
	// above 1.
	batchSinks map[string]BatchSink
}

// claimSpec is one claim a worker makes in each round: up to BatchSize
// jobs of one BatchSink's surface, or one job of the other surfaces.
type claimSpec struct {
	limit    int
	surfaces []string  // jobs.Claim.TargetSurfaces; nil for every surface
	batch    BatchSink // nil: one job at a time, through its Sink
}

func newDeliverer(cfg Config) (*deliverer, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("outbox: Config.Store is nil")
	case cfg.Workers < 0:
		return nil, fmt.Errorf("outbox: Config.Workers is %d; want 0 (default %d) or more", cfg.Workers, DefaultWorkers)
	case cfg.BatchSize < 0:
		return nil, fmt.Errorf("outbox: Config.BatchSize is %d; want 0 (default %d) or more", cfg.BatchSize, DefaultBatchSize)
	case cfg.MaxAttempts < 0:
		return nil, fmt.Errorf("outbox: Config.MaxAttempts is %d; want 0 (default %d) or more", cfg.MaxAttempts, DefaultMaxAttempts)
	case cfg.Lease < 0 || cfg.AttemptTimeout < 0 || cfg.PollInterval < 0:
		return nil, errors.New("outbox: Config durations must not be negative")
	}
	for surface, s := range cfg.Sinks {
		if s == nil {
			return nil, fmt.Errorf("outbox: Config.Sinks[%q] is nil", surface)
		}
	}
	cfg.Workers = cmp.Or(cfg.Workers, DefaultWorkers)
	cfg.BatchSize = cmp.Or(cfg.BatchSize, DefaultBatchSize)
	cfg.Clock = jobs.OrWall(cfg.Clock)
	cfg.AttemptTimeout = cmp.Or(cfg.AttemptTimeout, DefaultAttemptTimeout)
	cfg.Lease = cmp.Or(cfg.Lease, cfg.AttemptTimeout+leaseMargin)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, DefaultMaxAttempts)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, DefaultPollInterval)
	if cfg.Lease <= cfg.AttemptTimeout {
		return nil, fmt.Errorf("outbox: Config.Lease (%s) must exceed AttemptTimeout (%s)", cfg.Lease, cfg.AttemptTimeout)
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(n int) time.Duration { return defaultBackoff.Delay(n - 1) }
	}
	if cfg.Owner == "" {
		cfg.Owner = defaultOwner()
	}
	d := &deliverer{cfg: cfg, log: logx.OrDiscard(cfg.Logger)}
	if cfg.Fallback == nil && len(cfg.Sinks) == 0 {
		return nil, errors.New("outbox: Config has no Sinks and no Fallback, so nothing can be delivered")
	}
	surfaces := slices.Sorted(maps.Keys(cfg.Sinks))
	var single []string
	for _, surface := range surfaces {
		if bs, ok := cfg.Sinks[surface].(BatchSink); ok && cfg.BatchSize > 1 {
			d.rounds = append(d.rounds, claimSpec{limit: cfg.BatchSize, surfaces: []string{surface}, batch: bs})
			if d.batchSinks == nil {
				d.batchSinks = map[string]BatchSink{}
			}
			d.batchSinks[surface] = bs
		} else {
			single = append(single, surface)
		}
	}
	switch {
	case cfg.Fallback != nil:
		// Every surface, batch sinks' too: a job of theirs claimed here
		// starts a batch (see claimAndDeliver).
		d.rounds = append(d.rounds, claimSpec{limit: 1})
	case len(single) > 0:
		d.rounds = append(d.rounds, claimSpec{limit: 1, surfaces: single})
	}
	if len(cfg.Review) > 0 {
		d.review = make(map[string]struct{}, len(cfg.Review))
	}
	for _, surface := range cfg.Review {
		if _, ok := cfg.Sinks[surface]; surface == "" || (!ok && cfg.Fallback == nil) {
			return nil, fmt.Errorf("outbox: Config.Review names target surface %q, which has no sink in Config.Sinks (have %q) and there is no Fallback", surface, surfaces)
		}
		d.review[surface] = struct{}{}
	}
	return d, nil
}

// defaultOwner names this process uniquely, so that a restarted process
// never mistakes its predecessor's leases for its own.
func defaultOwner() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// Deliver runs the delivery workers until ctx ends. Each worker claims a
// due job from the outbox with a lease, archives it first when
// Config.Archive is set and the job has no archive yet, hands it to the sink registered for
// its target_surface with a per-attempt timeout, and records the result: the
// sink's reference on success; on failure the error and the time of the next
// attempt, with backoff, until MaxAttempts or a permanent error ends it.
// For a surface whose sink is a BatchSink a worker claims up to
// Config.BatchSize due jobs of that surface at once and hands them to
// DeliverBatch in one call, then records each job's result as above.
// A job of a Config.Review surface that is not approved reaches no sink: it
// is recorded as awaiting review, and comes back once approved.
// Several processes may run Deliver on one shared store; the store's leases
// keep them from delivering a job at the same time.
//
// With Config.Archive set, Deliver also archives the completed jobs no worker
// of this process claims: those without a target_surface, those delivered
// before archiving was on, and those waiting for a surface it has no sink
// for. A sweep lists the completed jobs updated since its last pass every
// ten poll intervals (at most a minute apart); the first pass, at start,
// lists them all.
//
// Deliver returns nil once ctx has ended and the attempts in flight are
// recorded, or an error for an invalid configuration.
func Deliver(ctx context.Context, cfg Config) error {
	d, err := newDeliverer(cfg)
	if err != nil {
		return err
	}
	if d.cfg.Archive != nil {
		var wg sync.WaitGroup
		wg.Go(func() { newSweeper(d).run(ctx) })
		defer wg.Wait()
	}
	d.runWorkers(ctx, false)
	return nil
}

// DeliverOnce delivers every job that is due now and returns how many
// attempts it made, counting the archives of jobs it had nothing to deliver
// for (see Deliver). Jobs whose retry falls due later are left for a later
// call. It suits tests and command-line tools; servers use Deliver. A store
// failure stops it and is returned.
func DeliverOnce(ctx context.Context, cfg Config) (int, error) {
	d, err := newDeliverer(cfg)
	if err != nil {
		return 0, err
	}
	n, err := d.runWorkers(ctx, true)
	if err == nil && d.cfg.Archive != nil {
		var archived int
		archived, err = newSweeper(d).pass(ctx)
		n += archived
	}
	if err == nil {
		err = ctx.Err()
	}
	return n, err
}

// claims reports whether this process's workers claim jobs for surface.
func (d *deliverer) claims(surface string) bool {
	_, ok := d.cfg.Sinks[surface]
	return ok || d.cfg.Fallback != nil
}

// runWorkers runs cfg.Workers claim loops. With once, a worker stops when no
// job is due or the store fails; otherwise it waits PollInterval and tries
// again.
func (d *deliverer) runWorkers(ctx context.Context, once bool) (int, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		total    int
		firstErr error
	)
	for i := range d.cfg.Workers {
		wg.Go(func() {
			n, err := d.work(ctx, d.cfg.Owner+"/"+strconv.Itoa(i), once)
			mu.Lock()
			defer mu.Unlock()
			total += n
			if firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	return total, firstErr
}

// work is one worker's claim loop. Each round makes every claim of
// d.rounds and delivers what it got; a round that claims nothing ends the
// loop with once, and otherwise waits PollInterval.
func (d *deliverer) work(ctx context.Context, owner string, once bool) (int, error) {
	n := 0
	for ctx.Err() == nil {
		claimed := false
		for _, c := range d.rounds {
			got, attempts, err := d.claimAndDeliver(ctx, owner, c)
			claimed = claimed || got
			n += attempts
			if err != nil {
				if once {
					return n, err
				}
				d.log.Error("batch: deliver", "error", err)
			}
		}
		if claimed {
			continue
		}
		if once || backoff.Sleep(ctx, d.cfg.PollInterval) != nil {
			break
		}
	}
	return n, nil
}

// claimAndDeliver makes claim c and delivers what it got: one job at a
// time, or in one batch for a BatchSink. It reports whether it claimed
// anything, and returns how many attempts it made and the store's failures
// to claim or record.
func (d *deliverer) claimAndDeliver(ctx context.Context, owner string, c claimSpec) (bool, int, error) {
	got, err := d.claim(ctx, owner, c.limit, c.surfaces)
	if err != nil || len(got) == 0 {
		return false, 0, err
	}
	sink := c.batch
	if surface := got[0].TargetSurface; sink == nil && len(got) == 1 && d.batchSinks[surface] != nil {
		// The Fallback's claim, which takes every surface, took a job of a
		// batch sink's surface: claim the rest of a batch with it rather
		// than deliver it alone.
		sink = d.batchSinks[surface]
		var more []jobs.Job
		more, err = d.claim(ctx, owner, d.cfg.BatchSize-1, []string{surface})
		got = append(got, more...)
	}
	var n int
	var derr error
	if sink != nil {
		n, derr = d.attemptBatch(ctx, owner, sink, got)
	} else {
		n, derr = d.attemptEach(ctx, owner, got)
	}
	return true, n, errors.Join(err, derr)
}

// claim claims up to limit due jobs of surfaces (every surface when nil).
// A claim cut short by the end of ctx is no error: the worker is stopping.
func (d *deliverer) claim(ctx context.Context, owner string, limit int, surfaces []string) ([]jobs.Job, error) {
	got, err := d.cfg.Store.ClaimDeliveries(ctx, jobs.Claim{Owner: owner, Limit: limit, Lease: d.cfg.Lease, Now: d.cfg.Clock.Now(), TargetSurfaces: surfaces})
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, fmt.Errorf("batch: claiming deliveries: %w", err)
	}
	return got, nil
}

// attemptEach attempts the claimed jobs one after the other. It returns how
// many attempts it made, and stops at the first store failure.
func (d *deliverer) attemptEach(ctx context.Context, owner string, claimed []jobs.Job) (int, error) {
	n := 0
	for _, job := range claimed {
		attempted, err := d.attempt(ctx, owner, job)
		if attempted {
			n++
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// errAttemptTimeout is the cause of an attempt's context when
// DeliverConfig.AttemptTimeout ends it.
var errAttemptTimeout = errors.New("batch: delivery attempt timed out")

// attempt delivers one claimed job and records the result, or holds it for
// review. It reports whether it made an attempt, and returns an error only
// when the store failed to record it.
func (d *deliverer) attempt(ctx context.Context, owner string, job jobs.Job) (bool, error) {
	actx, cancel := context.WithTimeoutCause(ctx, d.cfg.AttemptTimeout, errAttemptTimeout)
	defer cancel()
	job, held, err := d.prepare(actx, job)
	if held {
		return false, d.hold(ctx, owner, job)
	}
	var ref string
	if err == nil {
		ref, err = d.deliverOne(withAttempt(actx, d.cfg.Archive, job), job)
	}
	return true, d.record(ctx, actx, owner, job, ref, err)
}

// deliverOne hands job to the sink of its surface, or Fallback.
func (d *deliverer) deliverOne(ctx context.Context, job jobs.Job) (string, error) {
	sink, ok := d.cfg.Sinks[job.TargetSurface]
	if !ok {
		sink = d.cfg.Fallback
	}
	if sink == nil {
		// Only a store that ignores Claim.TargetSurfaces hands out such a job.
		return "", Permanent(fmt.Errorf("no delivery sink for target_surface %q", job.TargetSurface))
	}
	return sink.Deliver(ctx, job)
}

// prepare readies a claimed job for its sink within the attempt's context
// actx: it archives the job first when Config.Archive is set and the job
// has no archived copy, then reports whether the job is held for review
// instead of delivered. It returns the job as recorded; an error (the
// archive's) fails the attempt, and the job is not held.
func (d *deliverer) prepare(actx context.Context, job jobs.Job) (_ jobs.Job, held bool, err error) {
	if d.cfg.Archive != nil && !job.Archived() {
		// Archived even when no sink takes the job, or before it waits for
		// review: every video is kept.
		if job, err = d.archive(actx, job); err != nil {
			return job, false, err
		}
	}
	_, review := d.review[job.TargetSurface]
	return job, review && !job.Approved(), nil
}

// record records the attempt at job made within actx: delivered with ref
// when err is nil; otherwise failed for good (a permanent error, or the
// last of MaxAttempts), due again at once (ctx ended: shutting down), or
// due after Backoff. It logs a failure and reports the job as recorded to
// OnResult. It returns an error only when the store failed to record it;
// a lease lost meanwhile is logged, since the job's new owner records it.
func (d *deliverer) record(ctx, actx context.Context, owner string, job jobs.Job, ref string, err error) error {
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(actx), errAttemptTimeout) {
		// The error says only that its context ended; say which.
		err = fmt.Errorf("%w (the attempt ran out of DeliverConfig.AttemptTimeout, %s)", err, d.cfg.AttemptTimeout)
	}

	now := d.cfg.Clock.Now()
	r := jobs.DeliveryResult{Owner: owner}
	attempts := job.DeliveryAttempts + 1
	switch {
	case err == nil:
		r.State, r.Ref = jobs.DeliveryDelivered, ref
	case IsPermanent(err):
		r.State, r.Error = jobs.DeliveryFailed, err.Error()
	case ctx.Err() != nil:
		// Shutting down: the job is due again at once, for whoever runs next.
		r.State, r.Error, r.NextAt = jobs.DeliveryPending, "interrupted: "+err.Error(), now
	case attempts >= d.cfg.MaxAttempts:
		r.State, r.Error = jobs.DeliveryFailed, fmt.Sprintf("gave up after %d attempts: %v", attempts, err)
	default:
		r.State, r.Error, r.NextAt = jobs.DeliveryPending, err.Error(), now.Add(d.cfg.Backoff(attempts))
	}
	if err != nil {
		d.log.Warn("batch: delivery attempt failed", "key", job.Key, "sku", job.SKU, "target_surface", job.TargetSurface,
			"attempt", attempts, "state", r.State, "next_at", r.NextAt, "error", err)
	}
	// The attempt happened; record it even when ctx has just ended.
	stored, rerr := d.cfg.Store.RecordDelivery(context.WithoutCancel(ctx), job.Key, r)
	if errors.Is(rerr, jobs.ErrLeaseLost) {
		// The lease ran out and another worker owns the job now; its result
		// is the one that counts.
		d.log.Warn("batch: delivery lease lost before recording", "key", job.Key, "owner", owner)
		return nil
	}
	if rerr != nil {
		return fmt.Errorf("batch: recording delivery of %s: %w", job.Key, rerr)
	}
	if d.cfg.OnResult != nil {
		d.cfg.OnResult(stored, err)
	}
	return nil
}

// hold records a claimed job that is not approved as awaiting review. The
// store keeps an approval given since the claim (the job stays due), so
// none is lost between the claim and the hold.
func (d *deliverer) hold(ctx context.Context, owner string, job jobs.Job) error {
	stored, err := d.cfg.Store.RecordDelivery(context.WithoutCancel(ctx), job.Key,
		jobs.DeliveryResult{Owner: owner, State: jobs.DeliveryAwaitingReview})
	switch {
	case errors.Is(err, jobs.ErrLeaseLost):
		d.log.Warn("batch: delivery lease lost before holding for review", "key", job.Key, "owner", owner)
		return nil
	case err != nil:
		return fmt.Errorf("batch: holding %s for review: %w", job.Key, err)
	}
	d.log.Info("batch: video held for review", "key", job.Key, "sku", job.SKU, "target_surface", job.TargetSurface, "delivery_status", stored.Delivery)
	return nil
}
