package creativeai

// Status is the state of a video generation.
//
// The service's set of statuses is open: a value the SDK does not know is kept
// as it came (see [Status.Known]) and never replaces a known state.
type Status string

// The statuses of a generation. Pending, Processing, Completed and Failed come
// from the service; SubmitFailed is recorded by the SDK for a row whose
// submission never produced a generation.
const (
	StatusPending      Status = "pending"
	StatusProcessing   Status = "processing"
	StatusCompleted    Status = "completed"
	StatusFailed       Status = "failed"
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
// status all report false.
func (s Status) Advances(next Status) bool {
	if !next.Known() || next == StatusSubmitFailed {
		return false
	}
	if !s.Known() {
		return true
	}
	return next.rank() > s.rank()
}

// String returns the status as it appears on the wire.
func (s Status) String() string { return string(s) }
