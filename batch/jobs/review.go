package jobs

import (
	"errors"
	"fmt"
	"time"
)

// The review gate (batch/outbox's Config.Review) holds the completed videos
// of chosen target surfaces until a person approves them. Its state lives in
// the job's record, like the rest of delivery, so that an approval given in
// one process (the console, "jobs approve") releases the video in every
// process sharing the store:
//
//   - A delivery worker that claims a held surface's job not yet approved
//     records it as DeliveryAwaitingReview (a DeliveryResult that is not an
//     attempt): it leaves the outbox and waits.
//   - Approve sets ApprovedAt; an awaiting (or rejected) job becomes pending
//     and due at once, and a job approved earlier, even before its render
//     completed, goes straight through when claimed.
//   - Reject marks an awaiting job DeliveryRejected with the reason in
//     ReviewNote; it is never delivered unless approved later, and Replay
//     renders it again.
//   - RetryDelivery puts a job whose delivery failed for good back in the
//     outbox with its attempts reset.

// Errors of the review gate and of RetryDelivery.
var (
	// ErrNotAwaitingReview is returned by Store.Approve and Store.Reject for
	// a job whose video is not (or can no longer be) held for review: it
	// has no target surface, its render failed, or its delivery is over.
	ErrNotAwaitingReview = errors.New("batch: job is not awaiting review")
	// ErrNotDeliveryFailed is returned by Store.RetryDelivery for a job
	// whose delivery has not failed.
	ErrNotDeliveryFailed = errors.New("batch: job's delivery has not failed")
)

// Approved reports whether j's current attempt was approved for delivery.
func (j *Job) Approved() bool { return !j.ApprovedAt.IsZero() }

// Approve approves the video of j's current attempt for delivery and
// records note (which may be empty) in ReviewNote. A job awaiting review,
// or rejected, becomes pending and due at now. A job whose render has not
// completed yet, or whose delivery is pending, is approved ahead: the review
// gate lets it through when it comes. Approving again only updates the note
// and time.
//
// It returns an error wrapping ErrNotAwaitingReview for a job with no
// target surface (nothing is delivered), a failed or submit_failed render
// (replay it first), or a delivery that is over (delivered or failed; see
// RetryDelivery).
func (j *Job) Approve(note string, now time.Time) error {
	switch {
	case j.TargetSurface == "":
		return fmt.Errorf("%w: %s has no target_surface, so nothing is delivered", ErrNotAwaitingReview, j.Key)
	case j.Status == StatusFailed || j.Status == StatusSubmitFailed:
		return fmt.Errorf("%w: %s is %s (replay it first)", ErrNotAwaitingReview, j.Key, j.Status)
	case j.Delivery == DeliveryDelivered:
		return fmt.Errorf("%w: %s was delivered already", ErrNotAwaitingReview, j.Key)
	case j.Delivery == DeliveryFailed:
		return fmt.Errorf("%w: %s's delivery failed (retry the delivery instead)", ErrNotAwaitingReview, j.Key)
	}
	j.ApprovedAt = now
	j.ReviewNote = note
	if j.Delivery == DeliveryAwaitingReview || j.Delivery == DeliveryRejected {
		j.Delivery = DeliveryPending
		j.DeliveryNextAt = now
		j.DeliveryError = ""
	}
	j.UpdatedAt = now
	return nil
}

// Reject refuses the video of j's current attempt: the job's delivery
// becomes DeliveryRejected, with reason in ReviewNote, and any approval is
// withdrawn. A rejected job is not delivered unless approved later; Replay
// renders it again (the reason stays in ReviewNote for the next reviewer).
// Rejecting a rejected job again replaces the reason.
//
// It returns an error wrapping ErrInvalid for an empty reason and one
// wrapping ErrNotAwaitingReview unless j is awaiting review or rejected.
func (j *Job) Reject(reason string, now time.Time) error {
	if reason == "" {
		return fmt.Errorf("%w: reject %s: a rejection needs a reason", ErrInvalid, j.Key)
	}
	if j.Status != StatusCompleted || (j.Delivery != DeliveryAwaitingReview && j.Delivery != DeliveryRejected) {
		return fmt.Errorf("%w: %s is %s", ErrNotAwaitingReview, j.Key, j.reviewState())
	}
	j.Delivery = DeliveryRejected
	j.ReviewNote = reason
	j.ApprovedAt = time.Time{}
	j.DeliveryNextAt = time.Time{}
	j.UpdatedAt = now
	return nil
}

// RetryDelivery puts a job whose delivery failed for good back in the
// outbox: pending, due at now, with its delivery attempts reset and its
// last error cleared. An approval it had stands. It returns an error
// wrapping ErrNotDeliveryFailed for any other job.
func (j *Job) RetryDelivery(now time.Time) error {
	if j.Status != StatusCompleted || j.Delivery != DeliveryFailed {
		return fmt.Errorf("%w: %s is %s", ErrNotDeliveryFailed, j.Key, j.reviewState())
	}
	j.Delivery = DeliveryPending
	j.DeliveryNextAt = now
	j.DeliveryAttempts = 0
	j.DeliveryError = ""
	j.UpdatedAt = now
	return nil
}

// hold records that a delivery worker found j held for review: an approved
// job (approved while the worker held its lease) stays pending and due at
// now, any other waits as DeliveryAwaitingReview outside the outbox.
// Neither counts as a delivery attempt.
func (j *Job) hold(now time.Time) {
	if j.Approved() {
		j.Delivery = DeliveryPending
		j.DeliveryNextAt = now
	} else {
		j.Delivery = DeliveryAwaitingReview
		j.DeliveryNextAt = time.Time{}
	}
	j.UpdatedAt = now
}

// replayRejected ends the delivery of a rejected job's attempt before a
// replay renders it again: the rendered clip was billed, so its charge moves
// to EarlierCharges, and the delivery fields start over. ReviewNote keeps
// the reason for the next reviewer.
func (j *Job) replayRejected() {
	if j.SpendDay != "" && j.PriceCents > 0 {
		j.EarlierCharges = append(j.EarlierCharges[:len(j.EarlierCharges):len(j.EarlierCharges)],
			Charge{Day: j.SpendDay, Cents: j.PriceCents})
	}
	j.PriceCents = 0 // closeSpend then finds nothing more to keep
	j.Delivery = ""
	j.DeliveryAttempts = 0
	j.DeliveryNextAt = time.Time{}
	j.DeliveryRef = ""
	j.DeliveryError = ""
	j.ApprovedAt = time.Time{}
}

// reviewState words where j stands for the errors above, such as
// "completed, delivery delivered".
func (j *Job) reviewState() string {
	if j.Delivery == "" {
		return string(j.Status)
	}
	return fmt.Sprintf("%s, delivery %s", j.Status, j.Delivery)
}
