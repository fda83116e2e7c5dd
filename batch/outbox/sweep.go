package outbox

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/archive"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/internal/backoff"
)

// sweepOverlap is how far before its last pass the archive sweep looks
// again: other processes sharing the store stamp updated_at from their own
// clocks, and a change committed while a pass ran may carry a time just
// before that pass began.
const sweepOverlap = 10 * time.Second

// sweepEvery is how many poll intervals pass between sweeps, bounded by
// [maxSweepInterval]: a sweep lists every job updated since the last one,
// which a poll-interval rhythm would do needlessly often.
const (
	sweepEvery       = 10
	maxSweepInterval = time.Minute
)

// sweep runs passes until ctx ends.
func (s *sweeper) run(ctx context.Context) {
	interval := min(s.d.cfg.PollInterval*sweepEvery, maxSweepInterval)
	for {
		if _, err := s.pass(ctx); err != nil && ctx.Err() == nil {
			s.d.log.Error("batch: archive sweep", "error", err)
		}
		if backoff.Sleep(ctx, interval) != nil {
			return
		}
	}
}

// sweeper archives the completed jobs the delivery workers do not claim:
// those with no target_surface (nothing to deliver, but every video is
// kept), those delivered before archiving was turned on, and those waiting
// for a surface this process has no sink for (its output may expire before
// the process that has one runs). Jobs the workers claim are archived by
// the workers, before their sink.
//
// Each pass lists only the completed jobs updated since the previous one
// (jobs.Filter.UpdatedSince); the first pass lists them all, which is how a
// restart picks up what a crash left. A job whose archive failed is retried
// by key with Config.Backoff until MaxAttempts, then logged and left
// unarchived, as is one whose output is gone; the next process start tries
// it again.
type sweeper struct {
	d     *deliverer
	since time.Time // zero before the first pass

	mu     sync.Mutex
	failed map[string]sweepRetry
}

// never is the retry time of a job the sweep gave up on.
var never = time.Unix(1<<62, 0)

type sweepRetry struct {
	attempts int
	nextAt   time.Time
}

func newSweeper(d *deliverer) *sweeper {
	return &sweeper{d: d, failed: map[string]sweepRetry{}}
}

// wants reports whether the sweep, rather than a delivery worker of this
// process, archives job.
func (s *sweeper) wants(job *jobs.Job) bool {
	if job.Status != jobs.StatusCompleted || job.Archived() || job.OutputURL == "" {
		return false
	}
	switch job.Delivery {
	case "", jobs.DeliveryDelivered:
		return true
	case jobs.DeliveryPending:
		return !s.d.claims(job.TargetSurface)
	}
	return false
}

// pass archives what changed since the last pass and what is due for a
// retry, with up to Config.Workers archives at once. It returns how many
// jobs it archived, and an error only when the store cannot be listed.
func (s *sweeper) pass(ctx context.Context) (int, error) {
	start := s.d.cfg.Clock.Now()
	f := jobs.Filter{Statuses: []jobs.Status{jobs.StatusCompleted}}
	if !s.since.IsZero() {
		f.UpdatedSince = s.since.Add(-sweepOverlap)
	}
	var todo []jobs.Job
	listed := map[string]bool{}
	for job, err := range s.d.cfg.Store.List(ctx, f) {
		if err != nil {
			return 0, err
		}
		if s.wants(&job) {
			listed[job.Key] = true
			if s.due(job.Key, start) {
				todo = append(todo, job)
			}
		}
	}
	s.mu.Lock()
	for key, r := range s.failed {
		if !listed[key] && !r.nextAt.After(start) {
			todo = append(todo, jobs.Job{Key: key})
		}
	}
	s.mu.Unlock()

	var (
		wg       sync.WaitGroup
		sem      = make(chan struct{}, s.d.cfg.Workers)
		mu       sync.Mutex
		archived int
	)
	for _, job := range todo {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if s.archiveOne(ctx, job) {
				mu.Lock()
				archived++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ctx.Err() == nil {
		s.since = start
	}
	return archived, nil
}

// archiveOne archives job, reading it again when only its key is known (a
// retry), and reports whether it archived it.
func (s *sweeper) archiveOne(ctx context.Context, job jobs.Job) bool {
	if job.Status == "" {
		got, err := s.d.cfg.Store.Get(ctx, job.Key)
		if err != nil || !s.wants(&got) {
			s.forget(job.Key)
			return false
		}
		job = got
	}
	actx, cancel := context.WithTimeoutCause(ctx, s.d.cfg.AttemptTimeout, errAttemptTimeout)
	defer cancel()
	_, err := s.d.archive(actx, job)
	switch {
	case err == nil:
		s.forget(job.Key)
		return true
	case ctx.Err() != nil:
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.failed[job.Key]
	r.attempts++
	if errors.Is(err, archive.ErrOutputGone) || r.attempts >= s.d.cfg.MaxAttempts {
		// Kept, never due, so that later passes listing the job again do
		// not try it again; the next process start does.
		r.nextAt = never
		s.failed[job.Key] = r
		s.d.log.Error("batch: video not archived", "key", job.Key, "sku", job.SKU, "attempts", r.attempts, "error", err)
		return false
	}
	r.nextAt = s.d.cfg.Clock.Now().Add(s.d.cfg.Backoff(r.attempts))
	s.failed[job.Key] = r
	s.d.log.Warn("batch: archive attempt failed", "key", job.Key, "sku", job.SKU, "attempt", r.attempts, "next_at", r.nextAt, "error", err)
	return false
}

// due reports whether a job may be archived at now: it has not failed, or
// its retry has come.
func (s *sweeper) due(key string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, failed := s.failed[key]
	return !failed || !r.nextAt.After(now)
}

func (s *sweeper) forget(key string) {
	s.mu.Lock()
	delete(s.failed, key)
	s.mu.Unlock()
}
