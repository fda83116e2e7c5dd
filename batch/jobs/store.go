package jobs

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// Submission is the outcome of submitting a job's current attempt.
type Submission struct {
	// Generation is what the service answered; nil when the submission failed.
	Generation *creativeai.Generation
	// StillURL is the refreshed still the clip was rendered from, if any.
	// Given alone (no Generation, no Error), it records a still rendered
	// before the clip is sent: the job stays pending and not submitted, and
	// keeps the still so that a rerun reuses what was paid for.
	StillURL string
	// Error describes why the submission failed; the job becomes
	// submit_failed. It is ignored when Generation is set.
	Error string
	// Class classifies Error (see ClassifySubmitError); when it is not a
	// known class, the job's failure class is taken from Error's text.
	Class FailureClass
	// KeyConflict reports that the service holds a different request under
	// this attempt's Idempotency-Key (an earlier run sent the row with other
	// settings, such as another webhook URL, and was interrupted before
	// recording the answer). Resending with that key can never succeed, so
	// the failed attempt is closed and a replay starts a new one.
	KeyConflict bool
}

// ApplyResult tells what applying an event did.
type ApplyResult struct {
	// Job is the job after the event; zero when the event was kept for later.
	Job Job
	// Changed reports whether the event moved the job forward (or recorded an
	// unknown provider status). Duplicates and stale events change nothing.
	Changed bool
	// Deferred reports that no job has the event's generation id yet; the
	// event is kept and applied when a submission records that id.
	Deferred bool
}

// Filter selects jobs for List. The zero Filter selects every job.
type Filter struct {
	// Statuses keeps jobs in any of these statuses; empty means all.
	Statuses []Status
	// UpdatedBefore keeps jobs last updated strictly before this time; zero
	// means no bound.
	UpdatedBefore time.Time
	// UpdatedSince keeps jobs last updated at or after this time; zero means
	// no bound. A worker that lists what changed since its last pass uses
	// it, so each pass reads only the recent jobs, not the whole store.
	UpdatedSince time.Time
	// Submitted, when true, keeps only jobs with a generation id.
	Submitted bool
}

// Claim asks for completed jobs whose delivery is due.
type Claim struct {
	// Owner names the worker; a lease is released only by its owner.
	Owner string
	// Limit is the most jobs to claim at once.
	Limit int
	// Lease is how long the claim lasts; a job whose lease expires may be
	// claimed again, so a crashed worker's jobs are not stranded.
	Lease time.Duration
	// Now is the time of the claim; due and lease times compare against it.
	Now time.Time
	// TargetSurfaces, when not empty, restricts the claim to jobs whose
	// TargetSurface is one of these: a worker claims only what it has a sink
	// for, and other jobs wait in the outbox for a worker that has one.
	// Empty means every surface.
	TargetSurfaces []string
}

// DeliveryResult records one delivery attempt of a claimed job.
type DeliveryResult struct {
	// Owner must be the claim's owner.
	Owner string
	// State is DeliveryDelivered, DeliveryFailed (final), or DeliveryPending
	// to retry at NextAt; or DeliveryAwaitingReview, which is no attempt: the
	// worker holds the job for review (see Job.RecordDelivery).
	State DeliveryState
	// Ref is what the sink returned on success, such as a media id.
	Ref string
	// Error describes the failure; empty on success.
	Error string
	// NextAt is when a pending delivery is due again.
	NextAt time.Time
}

// Store keeps jobs durable. Every method returns only once its change is
// durable, so an acknowledged update is never lost. Implementations are safe
// for concurrent use; batch/storetest holds the conformance suite every
// implementation passes.
type Store interface {
	// Track records a job before it is submitted. When a job with the same key
	// exists, Track returns it unchanged with created false.
	Track(ctx context.Context, job Job) (stored Job, created bool, err error)

	// RecordSubmission stores the outcome of submitting the job's current
	// attempt. Recording a generation id applies any event kept for it.
	RecordSubmission(ctx context.Context, key string, sub Submission) (Job, error)

	// Replay prepares a submit_failed or failed job, or one rejected in
	// review, for another submission (see Job.Replay): the job is pending
	// and not submitted, and a rendered attempt's generation id moves to
	// PreviousGenerationIDs. Other jobs return ErrNotReplayable.
	Replay(ctx context.Context, key string) (Job, error)

	// Apply applies a status update from a webhook or a poll. Status only
	// moves forward and a duplicate changes nothing; an event for a
	// generation id no job has yet is kept (Deferred) and applied when a
	// submission records that id. A completed job with a target surface
	// enters the delivery outbox.
	Apply(ctx context.Context, gen creativeai.Generation) (ApplyResult, error)

	// Reserve reserves the estimated cost of the job's current attempt
	// before its API calls (see Job.Reserve): atomically, across every
	// process sharing the store, it totals r.Day's reservations and
	// spending, refuses with an error wrapping ErrOverBudget when r.Cents
	// would take them over r.DailyCap, and otherwise records the price and
	// day on the job. A job that already holds a reservation (a run stopped
	// before the answer) keeps it. The reservation is settled as the job
	// moves on (see Job.Spend), so a crash never loses one.
	Reserve(ctx context.Context, key string, r Reservation) (Reserved, error)

	// DaySpend returns the totals of day (a spend day key, see Day) as
	// Reserve counts them, across every process sharing the store. Stores
	// keep the totals as jobs change, so it reads no job. A day that is not
	// YYYY-MM-DD returns an error wrapping ErrInvalid.
	DaySpend(ctx context.Context, day string) (DaySpend, error)

	// Get returns the job with the given key, or ErrNotFound.
	Get(ctx context.Context, key string) (Job, error)

	// GetByGenerationID returns the job whose current or earlier attempt has
	// the given generation id, or ErrNotFound.
	GetByGenerationID(ctx context.Context, id string) (Job, error)

	// List yields the jobs that match f in the order they were first tracked.
	List(ctx context.Context, f Filter) iter.Seq2[Job, error]

	// ClaimDeliveries leases up to c.Limit completed jobs whose delivery is
	// pending and due, and whose lease (if any) has expired. Concurrent
	// claimers, in this process or others sharing the store, never receive the
	// same job while its lease lasts.
	ClaimDeliveries(ctx context.Context, c Claim) ([]Job, error)

	// RecordDelivery records a delivery attempt, counts it, and releases the
	// lease. It returns ErrLeaseLost when r.Owner no longer holds the lease.
	// A result in state DeliveryAwaitingReview holds the job for review
	// instead, without counting an attempt (see Job.RecordDelivery).
	RecordDelivery(ctx context.Context, key string, r DeliveryResult) (Job, error)

	// RecordArchive records a as the archived copy of the completed job's
	// output (see Job.RecordArchive), replacing any earlier one, and leaves
	// its delivery state as it was. It returns ErrNotFound, an error
	// wrapping ErrInvalid for an incomplete a, or one wrapping
	// ErrNotCompleted for a job that is not completed.
	RecordArchive(ctx context.Context, key string, a Archive) (Job, error)

	// AmendDelivery replaces the delivery ref of a delivered job (see
	// Job.AmendDelivery), such as when a published video is rolled back,
	// without counting an attempt or touching the lease. It returns
	// ErrNotFound, an error wrapping ErrInvalid for a blank ref, or one
	// wrapping ErrNotDelivered for a job that is not delivered.
	AmendDelivery(ctx context.Context, key string, ref string) (Job, error)

	// Approve approves the job's video for delivery through the review gate
	// (see Job.Approve): a job awaiting review or rejected becomes pending
	// and due now; one still rendering or not yet held is approved ahead.
	// It returns ErrNotFound, or an error wrapping ErrNotAwaitingReview for
	// a job with nothing to approve. The approval is part of the job's
	// record, so every process sharing the store honours it.
	Approve(ctx context.Context, key, note string) (Job, error)

	// Reject rejects the video of a job awaiting review, recording reason
	// (see Job.Reject); it returns ErrNotFound, or an error wrapping
	// ErrInvalid for an empty reason or ErrNotAwaitingReview for a job that
	// is not awaiting review.
	Reject(ctx context.Context, key, reason string) (Job, error)

	// RetryDelivery puts a job whose delivery failed for good back in the
	// outbox, due now with its attempts reset (see Job.RetryDelivery); it
	// returns ErrNotFound, or an error wrapping ErrNotDeliveryFailed.
	RetryDelivery(ctx context.Context, key string) (Job, error)

	// Close releases the store's resources. It does not close a *sql.DB the
	// caller owns.
	Close() error
}

// Errors returned by stores.
var (
	ErrNotFound      = errors.New("batch: job not found")
	ErrNotReplayable = errors.New("batch: job is not submit_failed, failed or rejected")
	ErrLeaseLost     = errors.New("batch: delivery lease not held by this owner")
	ErrLocked        = errors.New("batch: job store is locked by another process")
	ErrClosed        = errors.New("batch: job store is closed")
	// ErrNoGenerationID is returned by Apply for a status report without a
	// generation id.
	ErrNoGenerationID = errors.New("batch: event has no generation id")
)
