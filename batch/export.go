package batch

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// Export writes every job in store to w as JSON Lines, in the order the jobs
// were first tracked: the record format of job files (see Job), with a
// buyer_status field holding the buyer-facing line for the job's state. A
// nil buyerCopy uses jobs.DefaultBuyerCopy.
func Export(ctx context.Context, store Store, w io.Writer, buyerCopy *jobs.BuyerCopy) error {
	if buyerCopy == nil {
		buyerCopy = jobs.DefaultBuyerCopy()
	}
	bw := bufio.NewWriter(w)
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
