package console

import (
	"strings"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// State is where a job stands as an operator sees it: the render status and
// the delivery state folded into one word. It is the "state" filter of the
// page and of the JSON API, and the label of the jobs-by-state metric.
type State string

// The states, in the order the page shows them.
const (
	// StateQueued is a pending job: tracked, and waiting for the service or
	// for a submission (a replayed job waits here for the next submit).
	StateQueued State = "queued"
	// StateRendering is a job the service is rendering (processing).
	StateRendering State = "rendering"
	// StateReady is a completed render that is not published: it has no
	// target surface, or its delivery is pending (possibly retrying).
	StateReady State = "ready"
	// StateAwaitingReview is a completed render the review gate holds for
	// approval before delivery (jobs.DeliveryAwaitingReview; see
	// outbox.Config.Review).
	StateAwaitingReview State = "awaiting_review"
	// StateRejected is a completed render a person rejected in review
	// (jobs.DeliveryRejected); replay renders it again.
	StateRejected State = "rejected"
	// StatePublished is a completed render delivered to its target surface.
	StatePublished State = "published"
	// StateDeliveryFailed is a completed render whose delivery failed for
	// good.
	StateDeliveryFailed State = "delivery_failed"
	// StateFailed is a render the service reported as failed.
	StateFailed State = "failed"
	// StateSubmitFailed is a row whose submission never produced a
	// generation.
	StateSubmitFailed State = "submit_failed"
)

// States returns every state in the order the page shows them.
func States() []State {
	return []State{StateQueued, StateRendering, StateReady, StateAwaitingReview,
		StateRejected, StatePublished, StateDeliveryFailed, StateFailed, StateSubmitFailed}
}

// ParseState returns the state named s ("queued", "awaiting_review", …); ok
// is false for any other string.
func ParseState(s string) (st State, ok bool) {
	for _, st := range States() {
		if string(st) == s {
			return st, true
		}
	}
	return "", false
}

// Label is the state as the page writes it, such as "awaiting review".
func (s State) Label() string { return strings.ReplaceAll(string(s), "_", " ") }

// StateOf returns the state of j.
func StateOf(j *jobs.Job) State {
	switch j.Status {
	case jobs.StatusProcessing:
		return StateRendering
	case jobs.StatusCompleted:
		switch j.Delivery {
		case jobs.DeliveryDelivered:
			return StatePublished
		case jobs.DeliveryFailed:
			return StateDeliveryFailed
		case jobs.DeliveryAwaitingReview:
			return StateAwaitingReview
		case jobs.DeliveryRejected:
			return StateRejected
		}
		return StateReady
	case jobs.StatusFailed:
		return StateFailed
	case jobs.StatusSubmitFailed:
		return StateSubmitFailed
	}
	return StateQueued
}

// statuses are the job statuses a state can hold, which List filters on in
// the store (an index scan in SQL stores).
func (s State) statuses() []jobs.Status {
	switch s {
	case StateQueued:
		return []jobs.Status{jobs.StatusPending}
	case StateRendering:
		return []jobs.Status{jobs.StatusProcessing}
	case StateReady, StateAwaitingReview, StateRejected, StatePublished, StateDeliveryFailed:
		return []jobs.Status{jobs.StatusCompleted}
	case StateFailed:
		return []jobs.Status{jobs.StatusFailed}
	case StateSubmitFailed:
		return []jobs.Status{jobs.StatusSubmitFailed}
	}
	return nil
}

// buyerLine is the buyer-facing line of a state in c.
func (s State) buyerLine(c *jobs.BuyerCopy) string {
	switch s {
	case StateQueued:
		return c.For(jobs.StatusPending, "")
	case StateRendering:
		return c.For(jobs.StatusProcessing, "")
	case StateReady:
		return c.For(jobs.StatusCompleted, "")
	case StateAwaitingReview:
		return c.For(jobs.StatusCompleted, jobs.DeliveryAwaitingReview)
	case StateRejected:
		return c.For(jobs.StatusCompleted, jobs.DeliveryRejected)
	case StatePublished:
		return c.For(jobs.StatusCompleted, jobs.DeliveryDelivered)
	case StateDeliveryFailed:
		return c.For(jobs.StatusCompleted, jobs.DeliveryFailed)
	case StateFailed:
		return c.For(jobs.StatusFailed, "")
	case StateSubmitFailed:
		return c.For(jobs.StatusSubmitFailed, "")
	}
	return string(s)
}

// Replayable reports whether store.Replay accepts j: its render or its
// submission failed, or its video was rejected in review.
func Replayable(j *jobs.Job) bool { return j.Replayable() }

// Reviewable reports whether j awaits review: store.Approve and
// store.Reject accept it.
func Reviewable(j *jobs.Job) bool {
	return j.Status == jobs.StatusCompleted && j.Delivery == jobs.DeliveryAwaitingReview
}

// DeliveryRetryable reports whether store.RetryDelivery accepts j: its
// delivery failed for good.
func DeliveryRetryable(j *jobs.Job) bool {
	return j.Status == jobs.StatusCompleted && j.Delivery == jobs.DeliveryFailed
}

// Units counts what a job has been charged for so far (see jobs.Job.Units).
func Units(j *jobs.Job) (clips, stills int) { return j.Units() }

// Cost is what j has cost: the prices recorded on it, or for a job tracked
// before prices were recorded, its units at prices p (see jobs.Job.Cost).
func Cost(j *jobs.Job, p creativeai.Pricing) creativeai.Cents {
	return j.Cost(p)
}
