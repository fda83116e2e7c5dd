package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// Budget caps what Run spends. The service returns no cost, so Run
// reserves each submission's estimated cost (Config.Pricing: the clip, plus
// the still when the row renders one) before its API calls, and a row that
// would pass a cap is held back: it stays tracked, pending and unsubmitted,
// with the reason in its RowResult, and a later run (a new day, a higher
// cap) submits it. The zero Budget caps nothing; Run still records the price
// of every submission on its job.
type Budget struct {
	// PerRun caps what one call of Run reserves; zero means no cap.
	PerRun creativeai.Cents
	// PerDay caps one calendar day's reservations and spending in the job
	// store, across every run and process sharing it; zero means no cap.
	PerDay creativeai.Cents
	// Location is the time zone whose calendar days PerDay counts (default
	// UTC). Processes sharing a store must use the same one.
	Location *time.Location
}

func (b Budget) validate() error {
	if b.PerRun < 0 || b.PerDay < 0 {
		return fmt.Errorf("batch: Config.Budget caps are %s per run and %s per day; want zero (no cap) or more", b.PerRun, b.PerDay)
	}
	return nil
}

// ErrBudget is wrapped by the RowResult.Error of a row a budget held back.
var ErrBudget = errors.New("held back by the budget")

// SpendSummary is what a Run reserved against its budget.
type SpendSummary struct {
	Budget Budget
	// RunReserved is what this run reserved for rows the service accepted
	// (and stills it rendered); it becomes spent as their renders finish.
	RunReserved creativeai.Cents
	// Day is the store's total for the budget's current day as this run
	// last saw it, its own reservations included.
	Day jobs.DaySpend
}

// RunRemaining returns what is left of the per-run cap; -1 when there is none.
func (s *SpendSummary) RunRemaining() creativeai.Cents {
	if s.Budget.PerRun == 0 {
		return -1
	}
	return max(s.Budget.PerRun-s.RunReserved, 0)
}

// DayRemaining returns what is left of the daily cap; -1 when there is none.
func (s *SpendSummary) DayRemaining() creativeai.Cents {
	if s.Budget.PerDay == 0 {
		return -1
	}
	return max(s.Budget.PerDay-s.Day.Total(), 0)
}

// String describes the spending in one line, such as "spend: run $1.50
// reserved of $2.00 ($0.50 left); day 2026-11-30 UTC $0.50 reserved, $1.00
// spent of $5.00 ($3.50 left)".
func (s *SpendSummary) String() string {
	run := fmt.Sprintf("run %s reserved", s.RunReserved)
	if s.Budget.PerRun > 0 {
		run += fmt.Sprintf(" of %s (%s left)", s.Budget.PerRun, s.RunRemaining())
	}
	loc := cmp.Or(s.Budget.Location, time.UTC)
	day := fmt.Sprintf("day %s %s %s reserved, %s spent", cmp.Or(s.Day.Day, "-"), loc, s.Day.Reserved, s.Day.Spent)
	if s.Budget.PerDay > 0 {
		day += fmt.Sprintf(" of %s (%s left)", s.Budget.PerDay, s.DayRemaining())
	}
	return "spend: " + run + "; " + day
}

// spender keeps a run's side of the budget: the per-run total in memory,
// and the store's reservations for the daily one.
type spender struct {
	budget Budget
	clock  jobs.Clock
	store  jobs.Store
	dry    bool

	mu       sync.Mutex
	reserved creativeai.Cents
	day      jobs.DaySpend
}

// dayKey returns the spend day of now.
func (s *spender) dayKey() string { return jobs.Day(s.clock.Now(), s.budget.Location) }

// seedDryRun totals the store's spending on today for a dry run, which
// must not write a reservation to learn it.
func (s *spender) seedDryRun(ctx context.Context) error {
	day := jobs.DaySpend{Day: s.dayKey()}
	if s.store != nil && s.budget.PerDay > 0 {
		for j, err := range s.store.List(ctx, jobs.Filter{}) {
			if err != nil {
				return fmt.Errorf("batch: totalling today's spending: %w", err)
			}
			day.Add(j.SpendOn(day.Day))
		}
	}
	s.day = day
	return nil
}

// reserve reserves cost for job's current attempt: against the per-run cap
// here, then against the daily cap in the store. It returns an error
// wrapping ErrBudget when a cap holds the row back, and the job as the
// store has it after the reservation.
func (s *spender) reserve(ctx context.Context, job Job, cost creativeai.Cents) (Job, error) {
	s.mu.Lock()
	if s.budget.PerRun > 0 && s.reserved+cost > s.budget.PerRun {
		defer s.mu.Unlock()
		return job, fmt.Errorf("%w: needs %s, and %s of the per-run cap of %s is reserved", ErrBudget, cost, s.reserved, s.budget.PerRun)
	}
	s.reserved += cost
	if s.dry {
		defer s.mu.Unlock()
		if s.budget.PerDay > 0 && s.day.Total()+cost > s.budget.PerDay {
			s.reserved -= cost
			return job, fmt.Errorf("%w: needs %s, and %s of the daily cap of %s is reserved or spent on %s",
				ErrBudget, cost, s.day.Total(), s.budget.PerDay, s.day.Day)
		}
		s.day.Reserved += cost
		return job, nil
	}
	s.mu.Unlock()
	if s.budget.PerDay == 0 && job.HoldsReservation() {
		// Without a daily cap there is nothing to check: the reservation
		// prefill recorded, or an interrupted run's, stands.
		return job, nil
	}

	r, err := s.store.Reserve(ctx, job.Key, jobs.Reservation{Day: s.dayKey(), Cents: cost, DailyCap: s.budget.PerDay})
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Day.Day != "" && (s.day.Day != r.Day.Day || err == nil) {
		s.day = r.Day
	}
	switch {
	case errors.Is(err, jobs.ErrOverBudget):
		s.reserved -= cost
		return job, fmt.Errorf("%w: %w", ErrBudget, err)
	case err != nil:
		s.reserved -= cost
		return job, storeError("reserve", job.Key, err)
	}
	return r.Job, nil
}

// prefill records the reservation of a new row on the job Run tracks, when
// no cap needs checking: the price is then written with the job, at no
// store call of its own. Under a cap the store's Reserve checks it instead.
func (s *spender) prefill(job *Job, cost creativeai.Cents) {
	if s.budget.PerRun > 0 || s.budget.PerDay > 0 || s.dry {
		return
	}
	job.PriceCents = cost
	job.SpendDay = jobs.Day(job.CreatedAt, s.budget.Location)
	job.ReservedAt = job.CreatedAt
}

// release gives back cost to the per-run cap. When released is true the
// store has released the reservation too (the job became submit_failed),
// and the day's total as last seen drops with it; otherwise the job keeps
// its reservation for a rerun to reuse.
func (s *spender) release(cost creativeai.Cents, released bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reserved -= cost
	if released && s.day.Day != "" {
		s.day.Reserved -= cost
	}
}

func (s *spender) summary() SpendSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SpendSummary{Budget: s.budget, RunReserved: s.reserved, Day: s.day}
}

// rowCost returns what submitting job's current attempt costs: the clip,
// plus a still unless one rendered for this attempt is reused.
func rowCost(p creativeai.Pricing, job *Job, reuseStill bool) creativeai.Cents {
	return costPerSKU(p, job.StillPrompt != "" && !(reuseStill && job.StillURL != ""))
}

// TransientRetry is Run's policy for renders that failed for a transient
// reason (jobs.FailureTransient): when Run meets such a job, it replays it
// on its own, without Config.RetryFailed, once the backoff since the
// failure has passed and while the job has had fewer than MaxAttempts
// attempts. Input and policy failures are never retried automatically.
// The zero TransientRetry retries nothing.
type TransientRetry struct {
	// MaxAttempts is how many attempts a row gets in all, the first
	// included; 0 or 1 means no automatic retry.
	MaxAttempts int
	// Backoff is the wait after the first failure (default 1 minute); it
	// doubles with every further attempt, up to MaxBackoff (default 1 hour).
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// Defaults of TransientRetry.
const (
	DefaultRetryBackoff    = time.Minute
	DefaultRetryMaxBackoff = time.Hour
)

func (p TransientRetry) validate() error {
	if p.MaxAttempts < 0 || p.Backoff < 0 || p.MaxBackoff < 0 {
		return fmt.Errorf("batch: Config.TransientRetry %+v: want no negative values", p)
	}
	return nil
}

// due returns when job's failed render may be retried automatically, and
// whether it may be at all.
func (p TransientRetry) due(job *Job) (time.Time, bool) {
	if job.Status != jobs.StatusFailed || job.Attempt+1 >= p.MaxAttempts || failureClass(job) != jobs.FailureTransient {
		return time.Time{}, false
	}
	wait := cmp.Or(p.Backoff, DefaultRetryBackoff)
	limit := cmp.Or(p.MaxBackoff, DefaultRetryMaxBackoff)
	for range job.Attempt {
		if wait >= limit {
			break
		}
		wait *= 2
	}
	return job.CompletedAt.Add(min(wait, limit)), true
}

// failureClass returns job's failure class, classifying the error of a job
// recorded before the SDK classified failures.
func failureClass(job *Job) jobs.FailureClass {
	if job.FailureClass.Known() {
		return job.FailureClass
	}
	return jobs.ClassifyFailure(job.Error, job.FailoverUsed)
}

// PolicyBreaker stops Run from submitting when moderation refusals spike:
// services suspend accounts that keep sending requests they refuse. When
// more than Share of the last Window renders that finished (completed or
// failed, by completion time) were policy refusals, Run submits nothing
// more, and returns an error wrapping ErrPolicySpike. Run judges the store's
// finished renders when it starts and again every Interval while it
// submits; each judgement lists the store's finished jobs once.
type PolicyBreaker struct {
	// Window is how many of the latest finished renders are judged
	// (default 50); a negative Window turns the breaker off. Fewer finished
	// renders than Window are not judged.
	Window int
	// Share is the share of policy refusals in the window that trips the
	// breaker (default 0.2).
	Share float64
	// Interval is how often a running Run judges again (default 1 minute):
	// renders take 30 s to 4 min, so refusals arrive at that pace.
	Interval time.Duration
}

// Defaults of PolicyBreaker.
const (
	DefaultBreakerWindow   = 50
	DefaultBreakerShare    = 0.2
	DefaultBreakerInterval = time.Minute
)

// ErrPolicySpike is wrapped by Run's error when the PolicyBreaker stopped
// it.
var ErrPolicySpike = errors.New("batch: too many moderation refusals; submitting stopped")

func (b PolicyBreaker) validate() error {
	if b.Interval < 0 {
		return fmt.Errorf("batch: Config.PolicyBreaker.Interval is %v; want 0 (default %v) or more", b.Interval, DefaultBreakerInterval)
	}
	if !(b.Share >= 0 && b.Share < 1) {
		return fmt.Errorf("batch: Config.PolicyBreaker.Share is %v; want 0 (default %v) up to but not including 1", b.Share, DefaultBreakerShare)
	}
	return nil
}

// check judges the latest finished renders in store and returns an error
// wrapping ErrPolicySpike when they trip the breaker.
func (b PolicyBreaker) check(ctx context.Context, store jobs.Store) error {
	if b.Window < 0 || store == nil {
		return nil
	}
	window := cmp.Or(b.Window, DefaultBreakerWindow)
	share := cmp.Or(b.Share, DefaultBreakerShare)
	type done struct {
		at     time.Time
		policy bool
	}
	var latest []done
	for j, err := range store.List(ctx, jobs.Filter{Statuses: []jobs.Status{jobs.StatusCompleted, jobs.StatusFailed}}) {
		if err != nil {
			return fmt.Errorf("batch: judging recent refusals: %w", err)
		}
		latest = append(latest, done{j.CompletedAt, j.Status == jobs.StatusFailed && failureClass(&j) == jobs.FailurePolicy})
	}
	if len(latest) < window {
		return nil
	}
	slices.SortStableFunc(latest, func(a, b done) int { return a.at.Compare(b.at) })
	refused := 0
	for _, d := range latest[len(latest)-window:] {
		if d.policy {
			refused++
		}
	}
	if float64(refused) > share*float64(window) {
		return fmt.Errorf("%w: %d of the last %d finished renders were moderation or safety refusals (more than %.0f%%); review the rows' images and prompts before submitting more",
			ErrPolicySpike, refused, window, share*100)
	}
	return nil
}
