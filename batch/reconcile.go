package batch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/internal/logx"
)

// ReconcileConfig configures Reconcile and ReconcileLoop.
type ReconcileConfig struct {
	// Client polls the render service.
	Client *creativeai.Client
	// Store holds the jobs; answers are applied with Store.Apply, the path
	// webhook events take.
	Store Store
	// OlderThan skips jobs updated more recently than this, whose webhook is
	// probably still on its way. Zero polls every unfinished job.
	OlderThan time.Duration
	// Rate bounds the polls per second (default 2); math.Inf(1) turns the
	// limit off. Burst is how many may go out at once (default 1).
	Rate  float64
	Burst int
	// Clock decides which jobs are old enough (default jobs.WallClock).
	Clock jobs.Clock
	// Interval is the time between the passes of ReconcileLoop; Reconcile
	// ignores it.
	Interval time.Duration
	// Logger receives failed polls at warn level (default: discard).
	Logger *slog.Logger
}

// ReconcileResult counts what a Reconcile pass did.
type ReconcileResult struct {
	// Polled is the number of jobs whose generation the service reported.
	Polled int
	// Changed is the number of those reports that moved a job forward.
	Changed int
	// NotFound is the number of generations the service no longer knows;
	// their jobs are left as they are.
	NotFound int
	// Failed is the number of polls that got no usable answer.
	Failed int
}

// Reconcile polls the service for every submitted job that has not finished
// rendering (pending or processing) and was last updated at least
// cfg.OlderThan ago, and applies each answer to the store exactly as a
// webhook event would be applied: statuses only move forward, a duplicate
// changes nothing, and a newly completed job enters the delivery outbox.
//
// A poll that fails is counted and logged and the pass goes on; Reconcile
// then returns an error saying how many failed, with the first failure. A
// store failure, ctx ending, or the rate limit leaving no poll before ctx's
// deadline stops the pass early, and Reconcile returns the reason (wrapping
// ctx's cause, or context.DeadlineExceeded for the rate limit). The result
// counts what was done either way; an answer received is applied even if
// ctx ends meanwhile.
func Reconcile(ctx context.Context, cfg ReconcileConfig) (ReconcileResult, error) {
	if err := cfg.validate(); err != nil {
		return ReconcileResult{}, err
	}
	lim, err := newLimiter("ReconcileConfig", cfg.Rate, cfg.Burst)
	if err != nil {
		return ReconcileResult{}, err
	}
	log := logx.OrDiscard(cfg.Logger)

	f := Filter{
		Statuses:  []jobs.Status{jobs.StatusPending, jobs.StatusProcessing},
		Submitted: true,
	}
	if cfg.OlderThan > 0 {
		f.UpdatedBefore = cfg.Clock.Now().Add(-cfg.OlderThan)
	}
	// Collect first: applying while a List iteration is open could deadlock
	// a store that holds a lock across the iteration.
	var ids []string
	for job, err := range cfg.Store.List(ctx, f) {
		if err != nil {
			if cause := context.Cause(ctx); cause != nil {
				err = cause // the store's error says only that ctx ended
			}
			return ReconcileResult{}, fmt.Errorf("batch: reconcile: listing jobs: %w", err)
		}
		ids = append(ids, job.GenerationID)
	}

	var res ReconcileResult
	var firstErr error
	stopped := func(i int, why error) (ReconcileResult, error) {
		err := fmt.Errorf("batch: reconcile: stopped with %d of %d jobs left to poll: %w", len(ids)-i, len(ids), why)
		if firstErr != nil {
			err = fmt.Errorf("%w; before that %d polls failed, the first with: %w", err, res.Failed, firstErr)
		}
		return res, err
	}
	for i, id := range ids {
		if err := waitToken(ctx, lim); err != nil {
			return stopped(i, err)
		}
		gen, _, err := cfg.Client.Videos.Get(ctx, id)
		switch {
		case err != nil && ctx.Err() != nil:
			return stopped(i, context.Cause(ctx))
		case creativeai.IsNotFound(err):
			res.NotFound++
			log.Warn("batch: reconcile: the service does not know the generation", "generation_id", id)
			continue
		case err != nil:
			res.Failed++
			if firstErr == nil {
				firstErr = err
			}
			log.Warn("batch: reconcile: poll failed", "generation_id", id, "error", err)
			continue
		case gen.ID == "":
			// Apply would reject it; the answer is about the id asked for.
			gen.ID = id
		}
		res.Polled++
		ar, err := cfg.Store.Apply(context.WithoutCancel(ctx), *gen)
		if err != nil {
			return res, fmt.Errorf("batch: reconcile: applying %s: %w", id, err)
		}
		if ar.Changed {
			res.Changed++
		}
	}
	if firstErr != nil {
		return res, fmt.Errorf("batch: reconcile: %d of %d polls failed, the first with: %w", res.Failed, len(ids), firstErr)
	}
	return res, nil
}

func (cfg *ReconcileConfig) validate() error {
	switch {
	case cfg.Client == nil:
		return errors.New("batch: ReconcileConfig.Client is nil")
	case cfg.Store == nil:
		return errors.New("batch: ReconcileConfig.Store is nil")
	case cfg.OlderThan < 0:
		return fmt.Errorf("batch: ReconcileConfig.OlderThan is %s; want 0 or more", cfg.OlderThan)
	}
	cfg.Clock = jobs.OrWall(cfg.Clock)
	return nil
}

// ReconcileLoop runs Reconcile at once and then every interval until ctx
// ends, logging each pass, for servers that keep polling as a fallback to
// webhooks. It returns nil when ctx ends, and an error only for an invalid
// configuration.
func ReconcileLoop(ctx context.Context, cfg ReconcileConfig) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if _, err := newLimiter("ReconcileConfig", cfg.Rate, cfg.Burst); err != nil {
		return err
	}
	if cfg.Interval <= 0 {
		return fmt.Errorf("batch: ReconcileConfig.Interval is %s; want a positive interval for ReconcileLoop", cfg.Interval)
	}
	log := logx.OrDiscard(cfg.Logger)
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	for {
		res, err := Reconcile(ctx, cfg)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			log.Error("batch: reconcile pass", "error", err, "polled", res.Polled, "changed", res.Changed)
		} else if res.Polled > 0 || res.NotFound > 0 {
			log.Info("batch: reconcile pass", "polled", res.Polled, "changed", res.Changed, "not_found", res.NotFound)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
