package batch

import (
	"context"
	"io"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/manifest"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/batch/outbox"
)

// The job, its state machine and the Store contract moved to package
// batch/jobs, the memory store to batch/memstore and the delivery outbox to
// batch/outbox, so that stores import a leaf package and never an engine.
// The manifest reader moved to batch/manifest, which Run reads through.
// The names below keep code written against earlier releases compiling for
// one more release.

type (
	// Deprecated: use jobs.Job.
	Job = jobs.Job
	// Deprecated: use jobs.Submission.
	Submission = jobs.Submission
	// Deprecated: use jobs.ApplyResult.
	ApplyResult = jobs.ApplyResult
	// Deprecated: use jobs.Filter.
	Filter = jobs.Filter
	// Deprecated: use jobs.Claim.
	Claim = jobs.Claim
	// Deprecated: use jobs.DeliveryResult.
	DeliveryResult = jobs.DeliveryResult
	// Deprecated: use jobs.Store.
	Store = jobs.Store
	// Deprecated: use jobs.Clock.
	Clock = jobs.Clock
	// Deprecated: use memstore.Store.
	MemoryStore = memstore.Store
	// Deprecated: use memstore.Option.
	MemoryOption = memstore.Option
	// Deprecated: use outbox.Config.
	DeliverConfig = outbox.Config
	// Deprecated: use outbox.Sink.
	Sink = outbox.Sink
	// Deprecated: use outbox.SinkFunc.
	SinkFunc = outbox.SinkFunc
	// Deprecated: use manifest.Row.
	Row = manifest.Row
	// Deprecated: use manifest.Defaults.
	Defaults = manifest.Defaults
	// Deprecated: use manifest.Reader.
	ManifestReader = manifest.Reader
	// Deprecated: use manifest.RowError.
	RowError = manifest.RowError
	// Deprecated: use manifest.Error.
	ManifestError = manifest.Error
)

// Deprecated: use the constants of package manifest.
const (
	ColumnSKU           = manifest.ColumnSKU
	ColumnImageURL      = manifest.ColumnImageURL
	ColumnVideoPrompt   = manifest.ColumnVideoPrompt
	ColumnCollection    = manifest.ColumnCollection
	ColumnTargetSurface = manifest.ColumnTargetSurface
	ColumnModel         = manifest.ColumnModel
	ColumnDuration      = manifest.ColumnDuration
	ColumnAspectRatio   = manifest.ColumnAspectRatio
	ColumnStillPrompt   = manifest.ColumnStillPrompt
	DefaultModel        = manifest.DefaultModel
	DefaultDuration     = manifest.DefaultDuration
	DefaultAspectRatio  = manifest.DefaultAspectRatio
)

// NewManifestReader reads the manifest header in r and returns a reader for
// its rows.
//
// Deprecated: use manifest.NewReader.
func NewManifestReader(r io.Reader, name string) (*manifest.Reader, error) {
	return manifest.NewReader(r, name)
}

// RowKey returns the row's key once d fills its empty settings.
//
// Deprecated: use manifest.RowKey.
func RowKey(r manifest.Row, d manifest.Defaults) string { return manifest.RowKey(r, d) }

// Deprecated: use the errors of package jobs.
var (
	ErrNotFound      = jobs.ErrNotFound
	ErrNotReplayable = jobs.ErrNotReplayable
	ErrLeaseLost     = jobs.ErrLeaseLost
	ErrLocked        = jobs.ErrLocked
	ErrClosed        = jobs.ErrClosed
	ErrInvalidEvent  = jobs.ErrNoGenerationID
)

// NewMemoryStore returns an empty memory store.
//
// Deprecated: use memstore.New.
func NewMemoryStore(opts ...memstore.Option) *memstore.Store { return memstore.New(opts...) }

// Deliver runs the delivery outbox until ctx ends.
//
// Deprecated: use outbox.Deliver.
func Deliver(ctx context.Context, cfg outbox.Config) error { return outbox.Deliver(ctx, cfg) }

// DeliverOnce drains the deliveries due now.
//
// Deprecated: use outbox.DeliverOnce.
func DeliverOnce(ctx context.Context, cfg outbox.Config) (int, error) {
	return outbox.DeliverOnce(ctx, cfg)
}

// IdempotencyKey returns the Idempotency-Key of the job's current attempt.
//
// Deprecated: use jobs.Job.IdempotencyKey.
func IdempotencyKey(job jobs.Job) string { return job.IdempotencyKey() }
