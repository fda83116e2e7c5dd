package batch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// ExportConfig configures Export.
type ExportConfig struct {
	// Store holds the jobs to export.
	Store jobs.Store
	// Writer receives the JSON Lines.
	Writer io.Writer
	// BuyerCopy words the buyer_status lines (default
	// jobs.DefaultBuyerCopy).
	BuyerCopy *jobs.BuyerCopy
}

// Export writes every job in cfg.Store to cfg.Writer as JSON Lines, in the
// order the jobs were first tracked: one jobs.Record a line, the record
// format of job files with a buyer_status field holding the buyer-facing
// line for the job's state. Like Run, Reconcile and outbox.Deliver, it takes
// its settings in a config.
func Export(ctx context.Context, cfg ExportConfig) error {
	switch {
	case cfg.Store == nil:
		return errors.New("batch: ExportConfig.Store is nil")
	case cfg.Writer == nil:
		return errors.New("batch: ExportConfig.Writer is nil")
	}
	store, buyerCopy := cfg.Store, cfg.BuyerCopy
	if buyerCopy == nil {
		buyerCopy = jobs.DefaultBuyerCopy()
	}
	bw := bufio.NewWriter(cfg.Writer)
	enc := jobs.NewRecordEncoder(bw)
	for job, err := range store.List(ctx, Filter{}) {
		if err != nil {
			return fmt.Errorf("batch: export: %w", err)
		}
		if err := enc.Encode(&jobs.Record{Job: job, BuyerStatus: job.BuyerStatus(buyerCopy)}); err != nil {
			return fmt.Errorf("batch: export %s: %w", job.Key, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("batch: export: %w", err)
	}
	return nil
}
