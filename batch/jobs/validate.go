package jobs

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalid marks a request a store refuses before touching anything: a
// job without a key, an unknown status, a malformed claim or delivery
// result. Every store returns an error wrapping it, so callers can tell a
// programming error from a store that failed.
var ErrInvalid = errors.New("jobs: invalid request")

// PrepareTrack checks a job given to [Store.Track] and fills what the
// caller may leave out: an empty status becomes pending, and zero CreatedAt
// and UpdatedAt become now. It returns an error wrapping [ErrInvalid] for a
// job without a key or with a status this package does not define.
func (j *Job) PrepareTrack(now time.Time) error {
	if err := j.ValidateTrack(); err != nil {
		return err
	}
	if j.Status == "" {
		j.Status = StatusPending
	}
	if j.CreatedAt.IsZero() {
		j.CreatedAt = now
	}
	if j.UpdatedAt.IsZero() {
		j.UpdatedAt = j.CreatedAt
	}
	return nil
}

// ValidateTrack returns an error wrapping [ErrInvalid] for a job
// [Store.Track] must refuse: one without a key, or with a status this
// package does not define. An empty status is allowed (it means pending).
func (j *Job) ValidateTrack() error {
	if j.Key == "" {
		return fmt.Errorf("%w: track: job for SKU %q has no key", ErrInvalid, j.SKU)
	}
	if j.Status != "" && !j.Status.Known() {
		return fmt.Errorf("%w: track %s: unknown status %q (want pending, processing, completed, failed or submit_failed)", ErrInvalid, j.Key, j.Status)
	}
	return nil
}

// Validate returns an error wrapping [ErrInvalid] when c cannot be served:
// no owner, a limit below 1, or a lease that is not positive.
func (c *Claim) Validate() error {
	switch {
	case c.Owner == "":
		return fmt.Errorf("%w: claim has no Owner", ErrInvalid)
	case c.Limit < 1:
		return fmt.Errorf("%w: claim Limit is %d, want at least 1", ErrInvalid, c.Limit)
	case c.Lease <= 0:
		return fmt.Errorf("%w: claim Lease is %v, want a positive duration", ErrInvalid, c.Lease)
	}
	return nil
}

// Validate returns an error wrapping [ErrInvalid] when r's State is not
// pending, delivered, failed or awaiting_review. (An Owner that holds no
// lease is the store's [ErrLeaseLost], not a malformed request.)
func (r *DeliveryResult) Validate() error {
	switch r.State {
	case DeliveryPending, DeliveryDelivered, DeliveryFailed, DeliveryAwaitingReview:
		return nil
	}
	return fmt.Errorf("%w: delivery result State %q is not pending, delivered, failed or awaiting_review", ErrInvalid, r.State)
}
