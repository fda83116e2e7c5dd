package jobs

import (
	"errors"
	"fmt"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// DayLayout is the layout of a spend day key, such as "2026-11-30": the
// calendar day, in the budget's time zone, a reservation counts on.
const DayLayout = time.DateOnly

// Day returns the spend day key of t in loc (UTC when loc is nil).
func Day(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(DayLayout)
}

// Charge is what an earlier attempt of a job spent, on the day it counted.
type Charge struct {
	Day   string           `json:"day"`
	Cents creativeai.Cents `json:"cents"`
}

// Reservation asks a store to reserve a submission's estimated cost on a
// job before its API calls (see Store.Reserve).
type Reservation struct {
	// Day is the spend day key the cost counts on (see Day).
	Day string
	// Cents is the estimated cost: the clip, plus the still when the job
	// renders one.
	Cents creativeai.Cents
	// StillCents is the part of Cents that pays for a refreshed still
	// rendered before the clip: once the still is recorded it counts as
	// spent even if the clip is then refused (see Job.StillPaid).
	StillCents creativeai.Cents
	// DailyCap is the most that the day's reservations and spending may
	// reach, across every process sharing the store; zero means no cap.
	DailyCap creativeai.Cents
}

// DaySpend totals one day's spending in a store: the attempts reserved on
// that day (their SpendDay) and the charges earlier attempts left on it.
type DaySpend struct {
	Day string
	// Reserved is held by attempts the service has not finished.
	Reserved creativeai.Cents
	// Spent is what finished attempts cost: completed renders and failed
	// ones the service did not say were free, and stills rendered before a
	// clip that was refused.
	Spent creativeai.Cents
	// Finished counts the current attempts reserved on the day whose render
	// the service finished (completed or failed), and Refused the policy
	// refusals among them (FailurePolicy): what the breaker against
	// moderation refusals reads. An attempt replayed since counts no more.
	Finished, Refused int
}

// Total returns Reserved plus Spent, what a daily cap is checked against.
func (d DaySpend) Total() creativeai.Cents { return d.Reserved + d.Spent }

// Add adds o's amounts and counts to d's.
func (d *DaySpend) Add(o DaySpend) {
	d.Reserved += o.Reserved
	d.Spent += o.Spent
	d.Finished += o.Finished
	d.Refused += o.Refused
}

// Sub takes o's amounts and counts from d's.
func (d *DaySpend) Sub(o DaySpend) {
	d.Reserved -= o.Reserved
	d.Spent -= o.Spent
	d.Finished -= o.Finished
	d.Refused -= o.Refused
}

// Reserved is the outcome of Store.Reserve.
type Reserved struct {
	// Job is the job after the reservation.
	Job Job
	// Day totals the reservation's day after it, or, when the reservation
	// was refused, as it stood.
	Day DaySpend
	// Reused reports that the job already held a reservation for its
	// current attempt (a run stopped between reserving and the service's
	// answer); it was kept as it was and nothing new was reserved.
	Reused bool
}

// CheckDay returns an error wrapping ErrInvalid when day is not a spend day
// key (YYYY-MM-DD; see Day).
func CheckDay(day string) error {
	if _, err := time.Parse(DayLayout, day); err != nil {
		return fmt.Errorf("%w: spend day %q is not YYYY-MM-DD", ErrInvalid, day)
	}
	return nil
}

// ErrOverBudget is wrapped by the error of a reservation that would take a
// day's spending over its cap.
var ErrOverBudget = errors.New("batch: over budget")

// ErrNotReservable is wrapped by the error of a reservation for a job that
// is not pending, or whose current attempt the service already accepted.
var ErrNotReservable = errors.New("batch: job is not a pending, unsubmitted attempt")

// Validate returns an error wrapping ErrInvalid when r cannot be served: a
// day that is not YYYY-MM-DD, or a negative amount or cap.
func (r *Reservation) Validate() error {
	if err := CheckDay(r.Day); err != nil {
		return fmt.Errorf("reservation: %w", err)
	}
	if r.Cents < 0 || r.DailyCap < 0 {
		return fmt.Errorf("%w: reservation of %d cents under a daily cap of %d: want amounts of zero or more", ErrInvalid, r.Cents, r.DailyCap)
	}
	if r.StillCents < 0 || r.StillCents > r.Cents {
		return fmt.Errorf("%w: reservation of %d cents with %d for the still: want the still's part between zero and the whole", ErrInvalid, r.Cents, r.StillCents)
	}
	return nil
}

// HoldsReservation reports whether j's current attempt has reserved its
// cost and not yet been answered: reserving again must reuse it.
func (j *Job) HoldsReservation() bool {
	return j.SpendDay != "" && j.Status == StatusPending && !j.Submitted()
}

// Reserve records r on j, whose day stands at day before it. It returns an
// error wrapping ErrOverBudget when r.DailyCap is set and day plus r.Cents
// exceeds it, and one wrapping ErrNotReservable when j is not a pending
// attempt the service has not accepted. A job that already holds a
// reservation (HoldsReservation) is left as it is and reused is true.
// Stores call it with the day's total read under the same lock or
// transaction that saves j, so that concurrent reservations never exceed
// the cap together.
func (j *Job) Reserve(r Reservation, day DaySpend, now time.Time) (reused bool, err error) {
	if err := r.Validate(); err != nil {
		return false, err
	}
	if j.HoldsReservation() {
		return true, nil
	}
	if j.Status != StatusPending || j.Submitted() {
		return false, fmt.Errorf("%w: %s is %s", ErrNotReservable, j.Key, j.Status)
	}
	if r.DailyCap > 0 && day.Total()+r.Cents > r.DailyCap {
		return false, fmt.Errorf("%w: %s needs %s, and %s of the daily cap of %s is reserved or spent on %s",
			ErrOverBudget, j.Key, r.Cents, day.Total(), r.DailyCap, r.Day)
	}
	j.PriceCents = r.Cents
	j.StillCents, j.StillPaid = r.StillCents, false
	j.SpendDay = r.Day
	j.ReservedAt = now
	j.UpdatedAt = now
	return false, nil
}

// Spend returns what j counts on each day it has spent or reserved on: its
// earlier attempts' charges as spent, and its current attempt's (see
// AttemptSpend). Days appear once each, in the order first met.
func (j *Job) Spend() []DaySpend {
	var out []DaySpend
	add := func(d DaySpend) {
		for i := range out {
			if out[i].Day == d.Day {
				out[i].Add(d)
				return
			}
		}
		out = append(out, d)
	}
	for _, c := range j.EarlierCharges {
		add(DaySpend{Day: c.Day, Spent: c.Cents})
	}
	if j.SpendDay != "" {
		add(j.AttemptSpend())
	}
	return out
}

// AttemptSpend returns what j's current attempt counts on its SpendDay: a
// still it rendered (StillPaid) as spent from then on, and the rest of its
// price as reserved while the service has not finished the render, as spent
// once it has completed or failed, and as nothing when the attempt ended
// submit_failed (no render was made) or failed with the service saying it
// was not billed. A finished render counts in Finished, and a policy
// refusal in Refused too. It is zero when j holds no reservation.
func (j *Job) AttemptSpend() DaySpend {
	d := DaySpend{Day: j.SpendDay}
	if j.SpendDay == "" {
		return d
	}
	rest := j.PriceCents
	if j.StillPaid {
		still := min(j.StillCents, rest)
		d.Spent += still
		rest -= still
	}
	if j.Status.Terminal() {
		d.Finished = 1
		if j.Status == StatusFailed && j.FailureClass == FailurePolicy {
			d.Refused = 1
		}
	}
	switch {
	case j.Status == StatusSubmitFailed, j.Status == StatusFailed && j.NotBilled:
	case j.Status.Terminal():
		d.Spent += rest
	default:
		d.Reserved += rest
	}
	return d
}

// SpendOn returns what j counts on day (see Spend).
func (j *Job) SpendOn(day string) DaySpend {
	for _, d := range j.Spend() {
		if d.Day == day {
			return d
		}
	}
	return DaySpend{Day: day}
}

// closeSpend ends the current attempt's reservation before a replay: what
// the attempt spent (a billed failed render, a still rendered before a
// clip that was refused) moves to EarlierCharges, and the rest of its
// reservation is released.
func (j *Job) closeSpend() {
	if spent := j.AttemptSpend().Spent; spent > 0 {
		j.EarlierCharges = append(j.EarlierCharges[:len(j.EarlierCharges):len(j.EarlierCharges)],
			Charge{Day: j.SpendDay, Cents: spent})
	}
	j.PriceCents, j.StillCents, j.StillPaid = 0, 0, false
	j.SpendDay = ""
	j.ReservedAt = time.Time{}
}

// PriceRecorded reports whether j carries the prices of its attempts: every
// job Run has reserved for does, while jobs tracked before the SDK reserved
// spend (and imported records of them) do not.
func (j *Job) PriceRecorded() bool {
	return j.SpendDay != "" || len(j.EarlierCharges) > 0
}

// Cost returns what j has cost so far. For a job whose prices are recorded
// (PriceRecorded) it sums them, so that the total stays right after a price
// change: what its attempts spent (see Spend), plus the price of a render the
// service accepted and has not finished, which it will bill. Other jobs are
// priced at fallback, the pricing configured now: one clip per generation
// the service accepted and one still when the job has one (see Units).
func (j *Job) Cost(fallback creativeai.Pricing) creativeai.Cents {
	if !j.PriceRecorded() {
		return fallback.Total(j.Units())
	}
	var c creativeai.Cents
	for _, d := range j.Spend() {
		c += d.Spent
		if j.Submitted() {
			c += d.Reserved
		}
	}
	return c
}

// Units counts what j has been charged for so far: one clip per generation
// the service accepted (earlier attempts included) and one still when the
// clip was rendered from a refreshed still. A row that was never accepted
// counts nothing. Multiply by a creativeai.Pricing for money, or see Cost.
func (j *Job) Units() (clips, stills int) {
	clips = len(j.PreviousGenerationIDs)
	if j.Submitted() {
		clips++
	}
	if j.StillURL != "" {
		stills = 1
	}
	return clips, stills
}
