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
	// DailyCap is the most that the day's reservations and spending may
	// reach, across every process sharing the store; zero means no cap.
	DailyCap creativeai.Cents
}

// DaySpend totals one day's spending in a store.
type DaySpend struct {
	Day string
	// Reserved is held by attempts the service has not finished.
	Reserved creativeai.Cents
	// Spent is what finished attempts cost: completed renders and failed
	// ones the service did not say were free.
	Spent creativeai.Cents
}

// Total returns Reserved plus Spent, what a daily cap is checked against.
func (d DaySpend) Total() creativeai.Cents { return d.Reserved + d.Spent }

// Add adds o's amounts to d's.
func (d *DaySpend) Add(o DaySpend) {
	d.Reserved += o.Reserved
	d.Spent += o.Spent
}

// Sub takes o's amounts from d's.
func (d *DaySpend) Sub(o DaySpend) {
	d.Reserved -= o.Reserved
	d.Spent -= o.Spent
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

// ErrOverBudget is wrapped by the error of a reservation that would take a
// day's spending over its cap.
var ErrOverBudget = errors.New("batch: over budget")

// ErrNotReservable is wrapped by the error of a reservation for a job that
// is not pending, or whose current attempt the service already accepted.
var ErrNotReservable = errors.New("batch: job is not a pending, unsubmitted attempt")

// Validate returns an error wrapping ErrInvalid when r cannot be served: a
// day that is not YYYY-MM-DD, or a negative amount or cap.
func (r *Reservation) Validate() error {
	if _, err := time.Parse(DayLayout, r.Day); err != nil {
		return fmt.Errorf("%w: reservation day %q is not YYYY-MM-DD", ErrInvalid, r.Day)
	}
	if r.Cents < 0 || r.DailyCap < 0 {
		return fmt.Errorf("%w: reservation of %d cents under a daily cap of %d: want amounts of zero or more", ErrInvalid, r.Cents, r.DailyCap)
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
	j.SpendDay = r.Day
	j.ReservedAt = now
	j.UpdatedAt = now
	return false, nil
}

// Spend returns what j counts on each day it has spent or reserved on: its
// earlier attempts' charges as spent, and its current attempt's price as
// reserved while the service has not finished it, as spent once it has
// completed or failed, and as nothing when it ended submit_failed (no render
// was made) or failed with the service saying it was not billed. Days
// appear once each, in the order first met.
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
		switch {
		case j.Status == StatusSubmitFailed, j.Status == StatusFailed && j.NotBilled:
			add(DaySpend{Day: j.SpendDay})
		case j.Status.Terminal():
			add(DaySpend{Day: j.SpendDay, Spent: j.PriceCents})
		default:
			add(DaySpend{Day: j.SpendDay, Reserved: j.PriceCents})
		}
	}
	return out
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

// closeSpend ends the current attempt's reservation before a replay: a
// billed failed render's price moves to EarlierCharges, and a submit_failed
// attempt's reservation is released.
func (j *Job) closeSpend() {
	if j.SpendDay != "" && j.Status == StatusFailed && !j.NotBilled && j.PriceCents > 0 {
		j.EarlierCharges = append(j.EarlierCharges[:len(j.EarlierCharges):len(j.EarlierCharges)],
			Charge{Day: j.SpendDay, Cents: j.PriceCents})
	}
	j.PriceCents = 0
	j.SpendDay = ""
	j.ReservedAt = time.Time{}
}
