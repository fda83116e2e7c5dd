package outbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// BatchSink is a Sink that can also deliver several jobs of its surface in
// one call, for a target whose per-call cost falls with the batch: the
// Shopify publisher looks 50 SKUs up in one query and attaches 25 videos
// or more with one bulk operation (shopify/shopifysink).
//
// When a surface's sink is a BatchSink and Config.BatchSize is above 1, a
// worker claims up to BatchSize due jobs of that surface at once. Each is
// archived first (Config.Archive) and those held for review (Config.Review)
// are set aside, as for a single delivery; DeliverBatch gets the rest in
// one call within one Config.AttemptTimeout, with a context that carries
// them all for Open and ArchiveTransport. A job of its surface that the
// claim of a Fallback (which takes every surface) comes upon starts such a
// batch too. With BatchSize 1 every job goes to Deliver, one at a time.
//
// DeliverBatch returns one Result per job, in the order of jobs; each is
// recorded as Deliver's answer would be, so a Permanent error ends that
// job's delivery and any other is retried with backoff, while the batch's
// other jobs are recorded with their own results. A slice of another
// length fails every job of the batch with a retryable error. As with
// Deliver, a job may come again after a failure or a lost lease, so a
// second delivery of it must be harmless.
type BatchSink interface {
	Sink
	DeliverBatch(ctx context.Context, jobs []jobs.Job) []Result
}

// Result is the outcome of one job of a BatchSink's batch: Deliver's ref
// and error.
type Result struct {
	// Ref is a reference to what the delivery created (such as a media
	// id), recorded on the job when Err is nil.
	Ref string
	// Err is nil when the job was delivered. An error with a method
	// Permanent() bool returning true (see Permanent) ends the job's
	// delivery; any other is retried with backoff.
	Err error
}

// attemptBatch delivers jobs claimed together for sink's surface: it
// prepares each (archive, review hold) and hands those not held or failed to
// sink in one DeliverBatch call, all within one AttemptTimeout, then
// records each job's result. It returns how many attempts it made (a hold
// is none) and the store failures, having recorded every result it could.
func (d *deliverer) attemptBatch(ctx context.Context, owner string, sink BatchSink, claimed []jobs.Job) (int, error) {
	actx, cancel := context.WithTimeoutCause(ctx, d.cfg.AttemptTimeout, errAttemptTimeout)
	defer cancel()
	var (
		n     int
		errs  []error
		ready []jobs.Job
	)
	for _, job := range claimed {
		job, held, err := d.prepare(actx, job)
		switch {
		case held:
			errs = append(errs, d.hold(ctx, owner, job))
		case err != nil:
			n++
			errs = append(errs, d.record(ctx, actx, owner, job, "", err))
		default:
			ready = append(ready, job)
		}
	}
	if len(ready) == 0 {
		return n, errors.Join(errs...)
	}
	d.log.Debug("batch: delivering a batch", "target_surface", ready[0].TargetSurface, "jobs", len(ready), "owner", owner)
	results := sink.DeliverBatch(withAttempt(actx, d.cfg.Archive, ready...), ready)
	if len(results) != len(ready) {
		// Which result belongs to which job is unknown: retry them all.
		err := fmt.Errorf("outbox: the batch sink of %q returned %d results for %d jobs", ready[0].TargetSurface, len(results), len(ready))
		results = make([]Result, len(ready))
		for i := range results {
			results[i].Err = err
		}
	}
	for i, job := range ready {
		n++
		errs = append(errs, d.record(ctx, actx, owner, job, results[i].Ref, results[i].Err))
	}
	return n, errors.Join(errs...)
}
