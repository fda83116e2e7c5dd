package shopify

import (
	"context"
	"sync"
	"time"
)

// DefaultCoalesceWindow is how long Publish waits for concurrent calls to
// join its batch; see WithCoalescing.
const DefaultCoalesceWindow = 50 * time.Millisecond

// coalescer gathers concurrent Publish calls into PublishBatch calls, in
// the manner of a dataloader: the first call of a batch opens a collection
// window; calls arriving within it, up to MaxBatchJobs, join; then the
// batch runs and each caller gets its own job's outcome.
type coalescer struct {
	p      *Publisher
	window time.Duration

	mu   sync.Mutex
	open *pendingBatch
}

// pendingBatch is a batch still collecting jobs.
type pendingBatch struct {
	jobs    []VideoJob
	results []chan PublishOutcome
	ctxs    []context.Context
	full    chan struct{} // closed when the batch holds MaxBatchJobs jobs
}

// publish adds job to the open batch (opening one if needed) and waits for
// its outcome or for ctx to end.
func (c *coalescer) publish(ctx context.Context, job VideoJob) PublishOutcome {
	res := make(chan PublishOutcome, 1)
	c.mu.Lock()
	b := c.open
	if b == nil {
		b = &pendingBatch{full: make(chan struct{})}
		c.open = b
		go c.run(b)
	}
	b.jobs = append(b.jobs, job)
	b.results = append(b.results, res)
	b.ctxs = append(b.ctxs, ctx)
	if len(b.jobs) == MaxBatchJobs {
		c.open = nil
		close(b.full)
	}
	c.mu.Unlock()
	select {
	case o := <-res:
		return o
	case <-ctx.Done():
		return PublishOutcome{Job: job, Err: contextCause(ctx)}
	}
}

// run waits out the window (or until the batch is full), closes the batch
// and publishes it. The batch's context ends only when every caller's has:
// one caller giving up does not stop the others' jobs.
func (c *coalescer) run(b *pendingBatch) {
	wait, stop := context.WithCancel(context.Background())
	go func() {
		select {
		case <-b.full:
			stop()
		case <-wait.Done():
		}
	}()
	_ = c.p.clock.Sleep(wait, c.window)
	stop()
	c.mu.Lock()
	if c.open == b {
		c.open = nil
	}
	jobs, results, ctxs := b.jobs, b.results, b.ctxs
	c.mu.Unlock()

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var mu sync.Mutex
	live := len(ctxs)
	for _, cctx := range ctxs {
		unhook := context.AfterFunc(cctx, func() {
			mu.Lock()
			defer mu.Unlock()
			if live--; live == 0 {
				cancel(contextCause(cctx))
			}
		})
		defer unhook()
	}
	for i, o := range c.p.PublishBatch(ctx, jobs) {
		results[i] <- o
	}
}
