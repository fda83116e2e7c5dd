// Package outbox delivers finished videos to their target surfaces: a
// completed job with a target_surface waits in the outbox kept in the job
// store, and [Deliver] runs workers that claim due jobs with a lease,
// archive them when [Config.Archive] is set, hand each to the [Sink] of its
// surface and record the result, retrying with backoff until
// [Config.MaxAttempts] or a permanent error. Leases live in the store, so
// any number of processes sharing it deliver each video once.
//
// # Batches
//
// A sink whose target takes several videos more cheaply in one call than
// one by one implements [BatchSink] (shopify/shopifysink does: one SKU
// lookup per batch, and a bulk operation from 25 videos). A worker claims
// up to [Config.BatchSize] due jobs of such a surface at once, archives
// each and holds those awaiting review as it would a single job, hands the
// rest to DeliverBatch in one call within one [Config.AttemptTimeout], and
// records each job's [Result] on its own: delivered, failed for good, or
// retried with backoff. Other sinks get one job at a time.
//
// # Review gate
//
// [Config.Review] names surfaces whose videos a person approves first. A
// claimed job of such a surface that is not approved reaches no sink: it is
// recorded as awaiting review (jobs.DeliveryAwaitingReview, no attempt
// counted) and leaves the outbox until jobs.Store.Approve makes it due
// again, from this process or any other sharing the store (the console,
// "jobs approve"), or jobs.Store.Reject marks it rejected. An approval
// given earlier, even while the video rendered, lets the job straight
// through.
package outbox
