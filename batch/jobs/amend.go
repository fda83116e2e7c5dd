package jobs

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotDelivered is returned by [Store.AmendDelivery] for a job whose
// delivery has not succeeded: there is no delivery to amend.
var ErrNotDelivered = errors.New("batch: job is not delivered")

// AmendDelivery replaces the delivery ref of a delivered job with ref: the
// sink's later account of the delivery, such as the roll back of a
// published video (see shopify.DeliveryRef). It counts no delivery attempt
// and leaves the delivery state as it is; a ref equal to the recorded one
// changes nothing, not even UpdatedAt. It returns an error wrapping
// [ErrInvalid] for a blank ref and one wrapping [ErrNotDelivered] unless j
// is delivered.
func (j *Job) AmendDelivery(ref string, now time.Time) error {
	if strings.TrimSpace(ref) == "" {
		return fmt.Errorf("amend delivery of %s: %w: the ref is empty", j.Key, ErrInvalid)
	}
	if j.Delivery != DeliveryDelivered {
		return fmt.Errorf("%w: %s has delivery status %q", ErrNotDelivered, j.Key, j.Delivery)
	}
	if ref != j.DeliveryRef {
		j.DeliveryRef = ref
		j.UpdatedAt = now
	}
	return nil
}
