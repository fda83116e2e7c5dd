package creativeai

// Status is the state of a generation as the service reports it.
//
// The service's set of statuses is open: a value this package does not know
// is kept as it came (see [Status.Known]), so callers can record it without
// mistaking it for a known state. The order in which a job's statuses may
// follow each other is a matter for the caller's workflow (see
// batch/jobs.Status), not for the wire.
type Status string

// The statuses the service sends for a generation (REFERENCE: GET
// /v1/video/generations/{id} and the webhook payload).
const (
	StatusPending    Status = "pending"
	StatusProcessing Status = "processing"
	StatusCompleted  Status = "completed"
	StatusFailed     Status = "failed"
)

// Known reports whether s is one of the statuses the service is documented to
// send.
func (s Status) Known() bool {
	switch s {
	case StatusPending, StatusProcessing, StatusCompleted, StatusFailed:
		return true
	}
	return false
}

// Terminal reports whether s is a final state of a render: completed or failed.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusFailed
}

// String returns the status as it appears on the wire.
func (s Status) String() string { return string(s) }
