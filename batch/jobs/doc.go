// Package jobs is the leaf of the batch packages: the [Job] that carries one
// manifest row through render and delivery, its state machine (the methods
// on Job and [Status.Advances]), the [Store] contract every job store
// implements, and what flows through it: [Submission], [ApplyResult],
// [Filter], [Claim], [DeliveryResult], [Reservation], the errors stores
// return and the
// [Clock] that stamps every job's times.
//
// Stores (batch/memstore, batch/jsonlstore, batch/sqlstore) import this
// package and nothing that runs work; the engines (batch.Run, batch.Reconcile,
// batch/outbox.Deliver) import it too, so a store never depends on an engine.
// batch/storetest is the conformance suite that pins these rules for every
// store.
//
// # Record format
//
// A Job's JSON form, one object per line, is the record format of job files
// and of export (see [Record]). The original workflow's fields keep their
// names and meaning:
//
//	sku, collection, target_surface, generation_id, status, output_url,
//	failover_used, completed_at, error
//
// status only ever holds pending, processing, completed, failed or
// submit_failed, and only moves forward ([Status.Advances]); a status the
// service sends that the SDK does not know is kept beside it in
// provider_status and changes nothing else. The SDK's own fields follow:
// the row's key and render inputs, the attempt and earlier generation ids,
// the delivery outbox's state (delivery_status, delivery_attempts,
// delivery_next_at, delivery_ref, delivery_error), the review gate's
// decision (approved_at, review_note; delivery_status awaiting_review or
// rejected; see [Job.Approve] and [Job.Reject]), the failure class of a
// failed attempt (failure_class, not_billed; see [ClassifyFailure]), the
// spend of the current attempt (price_cents, still_cents, still_paid,
// spend_day, reserved_at) and of earlier ones (earlier_charges; see
// [Job.Spend], [Job.Cost] and [Store.Reserve]), the
// archived copy of the output ([Archive]: archive_url, sha256,
// archive_size, archive_content_type) and timestamps.
package jobs
