package jobs

import "github.com/creativeai-run/catalogvideo/creativeai"

// Status is the state of a job: the render statuses the service sends (see
// [creativeai.Status]) plus [StatusSubmitFailed], which the SDK records for a
// row whose submission never produced a generation. It is the record
// format's "status" field and only ever moves forward (see [Status.Advances]).
type Status string

// The statuses of a job. Pending, Processing, Completed and Failed mirror the
// service's; SubmitFailed is the SDK's own.
const (
	StatusPending      Status = Status(creativeai.StatusPending)
	StatusProcessing   Status = Status(creativeai.StatusProcessing)
	StatusCompleted    Status = Status(creativeai.StatusCompleted)
	StatusFailed       Status = Status(creativeai.StatusFailed)
	StatusSubmitFailed Status = "submit_failed"
)

// Known reports whether s is one of the statuses this package defines.
func (s Status) Known() bool {
	return s.rank() >= 0
}

// Terminal reports whether s is a final state of a render: completed or failed.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusFailed
}

// rank orders the statuses so that updates only move forward. Completed and
// failed share the last rank: once a render has ended, neither replaces the
// other.
func (s Status) rank() int {
	switch s {
	case StatusSubmitFailed:
		return 0
	case StatusPending:
		return 1
	case StatusProcessing:
		return 2
	case StatusCompleted, StatusFailed:
		return 3
	default:
		return -1
	}
}

// Advances reports whether moving from s to next is progress: next is a known
// status ranked strictly after s. A duplicate, a stale state (a late
// "processing" after "completed"), a second terminal state, and an unknown
// status all report false, and so does submit_failed, which only a failed
// submission sets.
func (s Status) Advances(next Status) bool {
	if !next.Known() || next == StatusSubmitFailed {
		return false
	}
	if !s.Known() {
		return true
	}
	return next.rank() > s.rank()
}

// String returns the status as it appears in the record format.
func (s Status) String() string { return string(s) }
