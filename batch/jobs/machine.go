package jobs

import (
	"fmt"
	"slices"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// The methods below are the job's state machine. Stores load a job, call one
// of them, and persist the result; keeping the rules here means every store
// moves jobs the same way and the conformance suite tests one set of rules.

// ApplyGeneration updates j from a status report for its current generation
// and reports whether anything changed. Status only moves forward: a
// duplicate, a stale state, or a second terminal state changes nothing. An
// unknown status is kept in ProviderStatus and changes nothing else; a report
// without a status changes nothing. A job that completes with a target
// surface enters the delivery outbox, due at now.
func (j *Job) ApplyGeneration(gen creativeai.Generation, now time.Time) bool {
	if gen.ID == "" || gen.ID != j.GenerationID || gen.Status == "" {
		return false
	}
	next := Status(gen.Status)
	if !gen.Status.Known() {
		if j.ProviderStatus == string(gen.Status) || j.Status.Terminal() {
			return false
		}
		j.ProviderStatus = string(gen.Status)
		j.UpdatedAt = now
		return true
	}
	if !j.Status.Advances(next) {
		return false
	}
	j.Status = next
	j.ProviderStatus = ""
	j.FailoverUsed = j.FailoverUsed || gen.FailoverUsed
	if gen.OutputURL != "" {
		j.OutputURL = gen.OutputURL
	}
	if gen.Error != "" {
		j.Error = gen.Error
	}
	if next == StatusFailed {
		j.FailureClass = ClassifyFailure(j.Error, j.FailoverUsed)
		j.NotBilled = NotBilled(j.Error)
	}
	if gen.Status.Terminal() {
		j.CompletedAt = gen.CompletedAt
		if j.CompletedAt.IsZero() {
			j.CompletedAt = now
		}
	}
	if next == StatusCompleted && j.TargetSurface != "" && j.Delivery == "" {
		j.Delivery = DeliveryPending
		j.DeliveryNextAt = now
	}
	j.UpdatedAt = now
	return true
}

// RecordSubmission stores the outcome of submitting j's current attempt.
// A generation sets the id and the status the service answered (pending when
// it sent none or one the SDK does not know); an error makes the job
// submit_failed, and a KeyConflict also closes the attempt. A Submission
// with neither only records its StillURL on a pending job not yet submitted
// (a still rendered before the clip is sent) and changes nothing else. It
// returns an error when j already has a generation for this attempt that
// differs from the one given, which would mean two renders.
func (j *Job) RecordSubmission(sub Submission, now time.Time) error {
	if sub.Generation == nil && sub.Error == "" && !sub.KeyConflict {
		if sub.StillURL != "" && !j.Submitted() && j.Status == StatusPending {
			j.StillURL = sub.StillURL
			j.StillPaid = j.StillPaid || j.StillCents > 0
			j.UpdatedAt = now
		}
		return nil
	}
	if sub.Generation == nil {
		if j.Submitted() {
			return fmt.Errorf("batch: job %s: attempt %d was already accepted as %s", j.Key, j.Attempt, j.GenerationID)
		}
		j.Status = StatusSubmitFailed
		j.Error = sub.Error
		j.FailureClass = sub.Class
		if !j.FailureClass.Known() {
			j.FailureClass = ClassifyFailure(sub.Error, false)
		}
		if sub.KeyConflict {
			// The key is spent on a request the service will not repeat
			// for us: the next replay needs a key of its own.
			j.Attempt++
		}
		j.UpdatedAt = now
		return nil
	}
	gen := sub.Generation
	if gen.ID == "" {
		return fmt.Errorf("batch: job %s: submission answer has no generation id", j.Key)
	}
	if j.Submitted() && j.GenerationID != gen.ID {
		return fmt.Errorf("batch: job %s: attempt %d was accepted as %s, not %s", j.Key, j.Attempt, j.GenerationID, gen.ID)
	}
	j.GenerationID = gen.ID
	if sub.StillURL != "" {
		j.StillURL = sub.StillURL
		j.StillPaid = j.StillPaid || j.StillCents > 0
	}
	if j.Status == StatusSubmitFailed || !j.Status.Known() {
		j.Status = StatusPending
		j.Error = ""
		j.FailureClass = ""
	}
	j.ApplyGeneration(*gen, now)
	j.UpdatedAt = now
	return nil
}

// Replay prepares a submit_failed or failed job, or a completed one whose
// video was rejected in review (DeliveryRejected), for another submission.
// It returns ErrNotReplayable for any other job.
//
// A failed render starts a new attempt: Attempt grows, so the next
// Idempotency-Key is new and the service renders again. A submit_failed job
// keeps its attempt, and so its key: the failed submission may have created a
// render the SDK never heard of (a 502 after create), and the same key makes
// the service return that render instead of starting a second one. (A
// submission that failed with Submission.KeyConflict has already moved to a
// new attempt.)
//
// A rejected job starts a new attempt like a failed render: its clip was
// billed (the charge moves to EarlierCharges), its delivery starts over and
// its review note is kept.
func (j *Job) Replay(now time.Time) error {
	if !j.Replayable() {
		return fmt.Errorf("%w: %s is %s", ErrNotReplayable, j.Key, j.reviewState())
	}
	if j.Status == StatusCompleted {
		j.replayRejected()
	}
	if j.GenerationID != "" {
		j.PreviousGenerationIDs = append(slices.Clip(j.PreviousGenerationIDs), j.GenerationID)
		j.Attempt++
	}
	j.closeSpend()
	j.FailureClass = ""
	j.NotBilled = false
	j.GenerationID = ""
	j.Status = StatusPending
	j.ProviderStatus = ""
	j.OutputURL = ""
	j.Archive = Archive{} // the new attempt's output is archived anew
	j.Error = ""
	j.FailoverUsed = false
	j.CompletedAt = time.Time{}
	j.UpdatedAt = now
	return nil
}

// Replayable reports whether Replay accepts j: its submission or its render
// failed, or its video was rejected in review.
func (j *Job) Replayable() bool {
	return j.Status == StatusSubmitFailed || j.Status == StatusFailed ||
		(j.Status == StatusCompleted && j.Delivery == DeliveryRejected)
}

// DeliveryDue reports whether j waits in the outbox and is due at now.
func (j *Job) DeliveryDue(now time.Time) bool {
	return j.Status == StatusCompleted &&
		j.Delivery == DeliveryPending &&
		!j.DeliveryNextAt.After(now)
}

// RecordDelivery records one delivery attempt's result on j. A result in
// state DeliveryAwaitingReview is no attempt: the worker found j held by the
// review gate, and j waits for approval (or, approved meanwhile, stays
// pending and due at now); see Job.Approve.
func (j *Job) RecordDelivery(r DeliveryResult, now time.Time) {
	if r.State == DeliveryAwaitingReview {
		j.hold(now)
		return
	}
	j.DeliveryAttempts++
	switch r.State {
	case DeliveryDelivered:
		j.Delivery = DeliveryDelivered
		j.DeliveryRef = r.Ref
		j.DeliveryError = ""
		j.DeliveryNextAt = time.Time{}
	case DeliveryFailed:
		j.Delivery = DeliveryFailed
		j.DeliveryError = r.Error
		j.DeliveryNextAt = time.Time{}
	default:
		j.Delivery = DeliveryPending
		j.DeliveryError = r.Error
		j.DeliveryNextAt = r.NextAt
	}
	j.UpdatedAt = now
}

// HasGeneration reports whether id is the generation of j's current or an
// earlier attempt.
func (j *Job) HasGeneration(id string) bool {
	return id != "" && (j.GenerationID == id || slices.Contains(j.PreviousGenerationIDs, id))
}

// BuyerStatus returns the buyer-facing line for j's state in the given copy.
func (j *Job) BuyerStatus(c *BuyerCopy) string {
	if j.ProviderStatus != "" && !j.Status.Terminal() {
		return c.For(Status(j.ProviderStatus), "")
	}
	if j.Status == StatusPending && j.GenerationID == "" && c.NotSubmitted != "" {
		return c.NotSubmitted
	}
	return c.For(j.Status, j.Delivery)
}

// SupersedesDeferred reports whether next should replace kept as the one
// event a store keeps for a generation id that no job has yet (a webhook can
// arrive before the submission's answer is recorded). The most advanced
// event is kept: a known status beats an unknown one and a later known
// status an earlier one, so a late "processing" does not replace
// "completed" and, of two terminal events, the first stands, as it would
// had the job existed. Among unknown statuses the latest word of the service
// is kept. Every store keeps deferred events by this rule, so a job ends the
// same whichever store it lives in.
func SupersedesDeferred(kept, next creativeai.Generation) bool {
	k, n := Status(kept.Status), Status(next.Status)
	if !k.Known() && !n.Known() {
		return kept != next
	}
	if !k.Known() {
		return true
	}
	return k.Advances(n)
}
