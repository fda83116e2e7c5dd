package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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
	budget  Budget
	pricing creativeai.Pricing
	clock   jobs.Clock
	store   jobs.Store
	dry     bool

	mu       sync.Mutex
	reserved creativeai.Cents
	day      jobs.DaySpend
}

// dayKey returns the spend day of now.
func (s *spender) dayKey() string { return jobs.Day(s.clock.Now(), s.budget.Location) }

// seedDryRun reads the store's total of today for a dry run, which must
// not write a reservation to learn it.
func (s *spender) seedDryRun(ctx context.Context) error {
	day := jobs.DaySpend{Day: s.dayKey()}
	if s.store != nil && s.budget.PerDay > 0 {
		var err error
		if day, err = s.store.DaySpend(ctx, day.Day); err != nil {
			return fmt.Errorf("batch: totalling today's spending: %w", err)
		}
	}
	s.day = day
	return nil
}

// reserve reserves cost for job's current attempt: against the per-run cap
// here, then against the daily cap in the store. It returns an error
// wrapping ErrBudget when a cap holds the row back, and the job as the
// store has it after the reservation.
func (s *spender) reserve(ctx context.Context, job Job, p price) (Job, error) {
	cost := p.cents
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
		s.mu.Lock()
		defer s.mu.Unlock()
		s.settleReused(&job, cost)
		return job, nil
	}

	r, err := s.store.Reserve(ctx, job.Key, jobs.Reservation{Day: s.dayKey(), Cents: cost, StillCents: p.still, DailyCap: s.budget.PerDay})
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
	if r.Reused {
		s.settleReused(&r.Job, cost)
	}
	return r.Job, nil
}

// settleReused counts against the run what job's reservation, kept from an
// interrupted run perhaps at other prices, has this run pay (see
// recordedPrice) in place of cost. It runs with s.mu held.
func (s *spender) settleReused(job *Job, cost creativeai.Cents) {
	s.reserved += recordedPrice(job).cents - cost
}

// recordedPrice returns what submitting job's current attempt pays at the
// prices recorded on it when it was reserved: its price, less a still
// already rendered for it, which the attempt reuses.
func recordedPrice(job *Job) price {
	p := price{cents: job.PriceCents, still: job.StillCents}
	if job.StillPaid {
		p.cents -= p.still
		p.still = 0
	}
	return p
}

// prefill records the reservation of a new row on the job Run tracks, when
// no cap needs checking: the price is then written with the job, at no
// store call of its own. Under a cap the store's Reserve checks it instead.
func (s *spender) prefill(job *Job, cost creativeai.Cents) {
	if s.budget.PerRun > 0 || s.budget.PerDay > 0 || s.dry {
		return
	}
	job.PriceCents = cost
	if job.StillPrompt != "" { // a new job has no still to reuse
		job.StillCents = s.pricing.Still
	}
	job.SpendDay = jobs.Day(job.CreatedAt, s.budget.Location)
	job.ReservedAt = job.CreatedAt
}

// release gives back to the per-run cap what a submission reserved as p
// but did not spend: all but spent, a still rendered for a clip that was
// then refused. When released is true the store has settled the
// reservation too (the job became submit_failed), and the day's total as
// last seen moves with it; otherwise the job keeps its reservation for a
// rerun to reuse.
func (s *spender) release(p price, spent creativeai.Cents, released bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reserved -= p.cents - spent
	if released && s.day.Day != "" {
		s.day.Reserved -= p.cents
		s.day.Spent += spent
	}
}

func (s *spender) summary() SpendSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SpendSummary{Budget: s.budget, RunReserved: s.reserved, Day: s.day}
}

// price is what a submission costs: cents in all, still of them for the
// refreshed still rendered before the clip.
type price struct{ cents, still creativeai.Cents }

// priceOf returns the price of a clip at p, with a still when withStill.
func priceOf(p creativeai.Pricing, withStill bool) price {
	if withStill {
		return price{cents: costPerSKU(p, true), still: p.Still}
	}
	return price{cents: costPerSKU(p, false)}
}

// rowCost returns what submitting job's current attempt costs: the clip,
// plus a still unless one rendered for this attempt is reused.
func rowCost(p creativeai.Pricing, job *Job, reuseStill bool) price {
	return priceOf(p, job.StillPrompt != "" && !(reuseStill && job.StillURL != ""))
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
// failed) were policy refusals, Run submits nothing more, and returns an
// error wrapping ErrPolicySpike.
//
// Run keeps the window in memory, at most Window outcomes. It fills it from
// the store's running counts of finished renders and refusals
// (jobs.DaySpend.Finished and Refused) for the budget's current and
// previous day, read when it starts and again every Interval while it
// submits: each judgement is two reads of the store's day totals, never a
// listing of its jobs. Renders that finished between two readings enter the
// window in the proportion of refusals among them (rounded up, so that a
// spike is not rounded away), since the counts do not tell their order; so
// do the day's renders when Run starts. Renders of jobs tracked before the
// SDK recorded spend days are not counted.
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

// refusalWindow is a run's PolicyBreaker state: the outcomes of the latest
// finished renders, and the store's counts as last read.
type refusalWindow struct {
	breaker  PolicyBreaker
	store    jobs.Store
	location *time.Location

	mu       sync.Mutex
	outcomes []bool // true for a refusal, oldest first, at most the window
	read     map[string]jobs.DaySpend
}

func newRefusalWindow(b PolicyBreaker, store jobs.Store, loc *time.Location) *refusalWindow {
	b.Window = cmp.Or(b.Window, DefaultBreakerWindow)
	b.Share = cmp.Or(b.Share, DefaultBreakerShare)
	return &refusalWindow{breaker: b, store: store, location: loc}
}

// judge reads the store's counts of yesterday and today (as of now), adds
// the renders finished since the last reading to the window, and returns an
// error wrapping ErrPolicySpike when the window trips the breaker.
func (w *refusalWindow) judge(ctx context.Context, now time.Time) error {
	if w.breaker.Window < 0 || w.store == nil {
		return nil
	}
	local := now.In(cmp.Or(w.location, time.UTC))
	days := []string{jobs.Day(local.AddDate(0, 0, -1), local.Location()), jobs.Day(local, local.Location())}
	read := make(map[string]jobs.DaySpend, len(days))
	for _, day := range days {
		d, err := w.store.DaySpend(ctx, day)
		if err != nil {
			return fmt.Errorf("batch: judging recent refusals: %w", err)
		}
		read[day] = d
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, day := range days {
		last := w.read[day]
		// A replay takes its render out of the counts: never less than none.
		w.add(max(read[day].Finished-last.Finished, 0), max(read[day].Refused-last.Refused, 0))
	}
	w.read = read
	if len(w.outcomes) < w.breaker.Window {
		return nil
	}
	refused := 0
	for _, r := range w.outcomes {
		if r {
			refused++
		}
	}
	if float64(refused) > w.breaker.Share*float64(w.breaker.Window) {
		return fmt.Errorf("%w: %d of the last %d finished renders were moderation or safety refusals (more than %.0f%%); review the rows' images and prompts before submitting more",
			ErrPolicySpike, refused, w.breaker.Window, w.breaker.Share*100)
	}
	return nil
}

// add puts finished outcomes, refused of them refusals, at the end of the
// window, spread evenly among them since their order is unknown. Of more
// than the window holds, only the window's worth enters, with the refusals
// in proportion, rounded up.
func (w *refusalWindow) add(finished, refused int) {
	refused = min(refused, finished)
	if finished > w.breaker.Window {
		refused = (refused*w.breaker.Window + finished - 1) / finished
		finished = w.breaker.Window
	}
	for i := range finished {
		w.outcomes = append(w.outcomes, (i+1)*refused/finished > i*refused/finished)
	}
	if extra := len(w.outcomes) - w.breaker.Window; extra > 0 {
		w.outcomes = append(w.outcomes[:0], w.outcomes[extra:]...)
	}
}
