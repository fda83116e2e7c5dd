package batch

import (
	"context"
	"fmt"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
)

// PreflightBatch is how many rows Run hands Config.Preflight at once: the
// SKUs one Shopify search looks up (shopify.SKUsPerLookup).
const PreflightBatch = 50

// PreflightRow is a row Run is about to submit, as Config.Preflight sees
// it.
type PreflightRow struct {
	// Key is the row's key (see RowKey), which its job will carry.
	Key string
	// Row is the manifest row with the run's defaults applied.
	Row manifest.Row
}

// Preflighter checks rows before they are submitted, and so before their
// renders are paid for: that the place each video goes can take it (for a
// Shopify product page, that the SKU names one product with room for
// another medium). Programs wire it to their delivery sinks; this package
// knows none of them.
type Preflighter interface {
	// Preflight checks a batch of rows and returns one error per row, in
	// the order given: nil to submit the row (including rows it has nothing
	// to check, such as rows for another surface), or why the row's video
	// could not be delivered. A non-nil error means the rows could not be
	// checked at all.
	Preflight(ctx context.Context, rows []PreflightRow) ([]error, error)
}

// PreflightFunc adapts a function to a Preflighter.
type PreflightFunc func(ctx context.Context, rows []PreflightRow) ([]error, error)

// Preflight calls f.
func (f PreflightFunc) Preflight(ctx context.Context, rows []PreflightRow) ([]error, error) {
	return f(ctx, rows)
}

// preflight runs Config.Preflight over the tasks that may be submitted
// (rows already tracked and done are left out, so a rerun of a finished
// manifest checks nothing) and notes each refusal on its task. It returns
// an error when the rows could not be checked.
func (r *runner) preflight(ctx context.Context, tasks []task) error {
	var at []int
	var rows []PreflightRow
	for i, t := range tasks {
		// A store failure here is left to the row's own lookup to report.
		if _, act, err := r.lookup(ctx, t); err == nil && act == actSkip {
			continue
		}
		at = append(at, i)
		rows = append(rows, PreflightRow{Key: t.key, Row: t.row})
	}
	if len(rows) == 0 {
		return nil
	}
	errs, err := r.cfg.Preflight.Preflight(ctx, rows)
	switch {
	case err != nil:
		return fmt.Errorf("batch: preflight of %d rows failed, so none was submitted: %w", len(rows), err)
	case len(errs) != len(rows):
		return fmt.Errorf("batch: preflight answered %d results for %d rows", len(errs), len(rows))
	}
	for j, e := range errs {
		if e != nil {
			tasks[at[j]].preflight = "preflight: " + e.Error()
		}
	}
	return nil
}

// dispatchChecked preflights tasks and hands them to the workers. When the
// check fails, the run starts no new row (halt) and the tasks end
// interrupted, untracked, for a rerun. It returns false when admit has
// ended; the tasks not handed over are then interrupted too.
func (r *runner) dispatchChecked(ctx, admit context.Context, halt context.CancelCauseFunc, work chan<- task, tasks []task) bool {
	if err := r.preflight(ctx, tasks); err != nil {
		halt(err)
	}
	for k, t := range tasks {
		if admit.Err() == nil {
			select {
			case work <- t:
				continue
			case <-admit.Done():
			}
		}
		for _, u := range tasks[k:] {
			r.finish(u.i, RowResult{Line: u.row.Line, SKU: u.row.SKU, Key: u.key, Outcome: OutcomeInterrupted,
				Error: "not started: " + context.Cause(admit).Error()})
		}
		return false
	}
	return true
}
