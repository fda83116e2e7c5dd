package jobs

import "fmt"

// DeliveryState is where a completed video stands on its way to its target
// surface (a Shopify product page, a CMS, an ad pipeline).
type DeliveryState string

// The delivery states. The empty state means no delivery applies yet.
// Pending jobs wait in the outbox; awaiting_review and rejected belong to
// the review gate (see Job.Approve and Job.Reject) and wait outside it.
const (
	DeliveryPending   DeliveryState = "pending"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryFailed    DeliveryState = "failed"
	// DeliveryAwaitingReview is a video of a surface the review gate holds,
	// waiting for a person to approve it (Store.Approve) or reject it.
	DeliveryAwaitingReview DeliveryState = "awaiting_review"
	// DeliveryRejected is a video a person rejected (Store.Reject), with
	// the reason in Job.ReviewNote; it is not delivered.
	DeliveryRejected DeliveryState = "rejected"
)

// Known reports whether d is empty or one of the delivery states this
// package defines.
func (d DeliveryState) Known() bool {
	switch d {
	case "", DeliveryPending, DeliveryDelivered, DeliveryFailed, DeliveryAwaitingReview, DeliveryRejected:
		return true
	}
	return false
}

// BuyerCopy translates job states into plain language for the people waiting
// on a video, instead of a vague "Starting…".
//
// The zero value is not useful; start from [DefaultBuyerCopy] and override
// entries to match your product's voice.
type BuyerCopy struct {
	// Statuses holds the line shown for each render status.
	Statuses map[Status]string
	// Deliveries holds the line shown for a completed render, by delivery
	// state; it takes precedence over the completed status line.
	Deliveries map[DeliveryState]string
	// Unknown formats the line for a status the service sent that this
	// package does not know; %s is replaced by the raw status.
	Unknown string
	// NotSubmitted is the line for a pending job not sent to the service
	// yet (waiting its turn, or held back by a budget), which the pending
	// line would wrongly say is queued with the provider; when empty, the
	// pending line is shown.
	NotSubmitted string
}

// DefaultBuyerCopy returns the workflow's buyer-facing table, extended with
// submission failures and delivery states. Each call returns a fresh copy that
// the caller may modify.
func DefaultBuyerCopy() *BuyerCopy {
	return &BuyerCopy{
		Statuses: map[Status]string{
			StatusPending:      "Queued with provider - render slot reserved",
			StatusProcessing:   "Rendering video - we'll deliver it by webhook automatically",
			StatusCompleted:    "Video ready - safe to publish to PDP, ads, or email",
			StatusFailed:       "Render failed - retry or fall back to polling/debug flow",
			StatusSubmitFailed: "Not submitted - fix the row or retry the batch; nothing was charged",
		},
		Deliveries: map[DeliveryState]string{
			DeliveryPending:        "Video ready - publishing to its destination",
			DeliveryDelivered:      "Video live - published to its destination",
			DeliveryFailed:         "Video ready but publishing failed - our team has the error and can retry",
			DeliveryAwaitingReview: "Video ready - waiting for approval before it is published",
			DeliveryRejected:       "Video held back in review - it will be rendered again",
		},
		Unknown:      "Update from provider (%s) - we'll keep watching",
		NotSubmitted: "Waiting to be sent to the provider - nothing rendered yet",
	}
}

// For returns the line for a job in status s whose delivery is in state d
// (empty when none applies).
func (c *BuyerCopy) For(s Status, d DeliveryState) string {
	if s == StatusCompleted && d != "" {
		if line, ok := c.Deliveries[d]; ok {
			return line
		}
	}
	if line, ok := c.Statuses[s]; ok {
		return line
	}
	if c.Unknown != "" {
		return fmt.Sprintf(c.Unknown, s)
	}
	return string(s)
}
