package memstore

import (
	"context"
	"errors"
	"slices"
	"time"
	"unique"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// spendIndex totals the spending of the store's jobs by day, so that a
// reservation checks its day's cap without looking at every job. install
// keeps it in step with every change, whichever method made it, and
// Restore rebuilds it from the journal, since the jobs carry their charges.
type spendIndex struct {
	days  map[string]jobs.DaySpend
	byJob map[*memJob][]jobs.DaySpend // what each job with charges counts
}

// update replaces what m counted with what j counts; it runs with the
// store's lock held.
func (x *spendIndex) update(m *memJob, j *jobs.Job) {
	old, had := x.byJob[m]
	if !had && j.SpendDay == "" && len(j.EarlierCharges) == 0 {
		return // never reserved: the common case without budgets
	}
	if x.days == nil {
		x.days = make(map[string]jobs.DaySpend)
		x.byJob = make(map[*memJob][]jobs.DaySpend)
	}
	for _, d := range old {
		t := x.days[d.Day]
		t.Sub(d)
		x.days[d.Day] = t
	}
	now := j.Spend()
	for _, d := range now {
		t := x.days[d.Day]
		t.Day = d.Day
		t.Add(d)
		x.days[d.Day] = t
	}
	if len(now) == 0 {
		delete(x.byJob, m)
	} else {
		x.byJob[m] = now
	}
}

// day returns the totals of day.
func (x *spendIndex) day(day string) jobs.DaySpend {
	d := x.days[day]
	d.Day = day
	return d
}

// jobSpend holds a job's spend fields apart from jobLater, since every
// submitted job has them while most have no other later field: a reserved
// job costs 64 bytes more rather than a whole jobLater.
type jobSpend struct {
	price      creativeai.Cents
	day        unique.Handle[string] // most jobs of a run share one day
	reservedAt time.Time
	earlier    []jobs.Charge
}

// newJobSpend returns j's spend fields, nil when it has none.
func newJobSpend(j *jobs.Job) *jobSpend {
	if j.PriceCents == 0 && j.SpendDay == "" && j.ReservedAt.IsZero() && j.EarlierCharges == nil {
		return nil
	}
	sp := &jobSpend{price: j.PriceCents, reservedAt: j.ReservedAt, earlier: j.EarlierCharges}
	if j.SpendDay != "" {
		sp.day = unique.Make(j.SpendDay)
	}
	return sp
}

// fill copies the spend fields into j, sharing no slice.
func (sp *jobSpend) fill(j *jobs.Job) {
	if sp == nil {
		return
	}
	j.PriceCents, j.ReservedAt = sp.price, sp.reservedAt
	if sp.day != (unique.Handle[string]{}) {
		j.SpendDay = sp.day.Value()
	}
	j.EarlierCharges = slices.Clone(sp.earlier)
}

// errUnchanged ends an update that found nothing to change.
var errUnchanged = errors.New("memstore: unchanged")

// Reserve reserves the estimated cost of the job's current attempt; see
// jobs.Store. The store's lock makes the check of the day's total and the
// reservation one step, so concurrent reservations never pass the cap
// together.
func (s *Store) Reserve(ctx context.Context, key string, r jobs.Reservation) (jobs.Reserved, error) {
	var out jobs.Reserved
	job, err := s.update(ctx, key, func(j *jobs.Job, now time.Time) error {
		out.Day = s.spend.day(r.Day)
		reused, err := j.Reserve(r, out.Day, now)
		if err != nil {
			return err
		}
		if reused {
			out.Reused = true
			return errUnchanged
		}
		out.Day.Reserved += r.Cents
		return nil
	})
	switch {
	case errors.Is(err, errUnchanged):
		job, err = s.Get(ctx, key)
	}
	out.Job = job
	return out, err
}
