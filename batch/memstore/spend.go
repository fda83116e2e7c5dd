package memstore

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
	"unique"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// spendIndex totals the spending of the store's jobs by day, so that a
// reservation or DaySpend answers for a day without looking at every job.
// install keeps it in step with every change, whichever method made it, and
// Restore rebuilds it from the journal, since the jobs carry their charges.
// What a job counted before a change is read from its memJob, so the index
// keeps nothing per job.
type spendIndex struct {
	days map[string]jobs.DaySpend
}

// update replaces what m counted with what j counts; it runs with the
// store's lock held, before m is set to j.
func (x *spendIndex) update(m *memJob, j *jobs.Job) {
	if m.spend == nil && j.SpendDay == "" && len(j.EarlierCharges) == 0 {
		return // never reserved: the common case without budgets
	}
	if x.days == nil {
		x.days = make(map[string]jobs.DaySpend)
	}
	for _, d := range m.spendDays() {
		t := x.days[d.Day]
		t.Sub(d)
		x.days[d.Day] = t
	}
	for _, d := range j.Spend() {
		t := x.days[d.Day]
		t.Day = d.Day
		t.Add(d)
		x.days[d.Day] = t
	}
}

// day returns the totals of day.
func (x *spendIndex) day(day string) jobs.DaySpend {
	d := x.days[day]
	d.Day = day
	return d
}

// spendDays returns what m counts on each day (jobs.Job.Spend), from the
// few fields that decide it.
func (m *memJob) spendDays() []jobs.DaySpend {
	if m.spend == nil {
		return nil
	}
	j := jobs.Job{Status: m.status.Value()}
	if m.later != nil {
		j.NotBilled, j.FailureClass = m.later.notBilled, m.later.failureClass
	}
	m.spend.fill(&j)
	return j.Spend()
}

// jobSpend holds a job's spend fields apart from jobLater, since every
// submitted job has them while most have no other later field. It is never
// changed once made, so jobs whose fields are alike share one: a run
// without caps reserves every row as it is tracked (ReservedAt is then
// CreatedAt), and its rows have few prices and one day between them, so
// they cost nothing more than the pointer. Other reserved jobs cost 64
// bytes more. Earlier charges, which only replays leave, sit behind a
// pointer of their own.
type jobSpend struct {
	price      creativeai.Cents
	stillPrice creativeai.Cents
	day        unique.Handle[string] // most jobs of a run share one day
	reservedAt time.Time             // zero when atCreation
	earlier    *[]jobs.Charge
	stillPaid  bool
	atCreation bool // reserved when tracked: ReservedAt is CreatedAt
}

// sharedSpendKey identifies a jobSpend that jobs share: reserved when
// tracked, with no earlier charges.
type sharedSpendKey struct {
	price, stillPrice creativeai.Cents
	day               unique.Handle[string]
	stillPaid         bool
}

// sharedSpends maps each sharedSpendKey met to its one *jobSpend. It grows
// by the distinct prices of each spend day, a handful a day.
var sharedSpends sync.Map

// newJobSpend returns j's spend fields, nil when it has none.
func newJobSpend(j *jobs.Job) *jobSpend {
	if j.PriceCents == 0 && j.SpendDay == "" && j.ReservedAt.IsZero() && j.EarlierCharges == nil && j.StillCents == 0 && !j.StillPaid {
		return nil
	}
	sp := &jobSpend{price: j.PriceCents, stillPrice: j.StillCents, stillPaid: j.StillPaid, reservedAt: j.ReservedAt}
	if j.SpendDay != "" {
		sp.day = unique.Make(j.SpendDay)
	}
	if j.EarlierCharges == nil && j.ReservedAt == j.CreatedAt {
		sp.reservedAt, sp.atCreation = time.Time{}, true
		shared, _ := sharedSpends.LoadOrStore(sharedSpendKey{sp.price, sp.stillPrice, sp.day, sp.stillPaid}, sp)
		return shared.(*jobSpend)
	}
	if j.EarlierCharges != nil {
		earlier := j.EarlierCharges
		sp.earlier = &earlier
	}
	return sp
}

// fill copies the spend fields into j, sharing no slice. j.CreatedAt must
// be set: a job reserved when tracked takes its ReservedAt from it.
func (sp *jobSpend) fill(j *jobs.Job) {
	if sp == nil {
		return
	}
	j.PriceCents, j.ReservedAt = sp.price, sp.reservedAt
	if sp.atCreation {
		j.ReservedAt = j.CreatedAt
	}
	j.StillCents, j.StillPaid = sp.stillPrice, sp.stillPaid
	if sp.day != (unique.Handle[string]{}) {
		j.SpendDay = sp.day.Value()
	}
	if sp.earlier != nil {
		j.EarlierCharges = slices.Clone(*sp.earlier)
	}
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

// DaySpend returns the totals of day; see jobs.Store. The index answers it
// without reading a job.
func (s *Store) DaySpend(ctx context.Context, day string) (jobs.DaySpend, error) {
	if err := jobs.CheckDay(day); err != nil {
		return jobs.DaySpend{}, err
	}
	if err := ctx.Err(); err != nil {
		return jobs.DaySpend{}, err
	}
	var out jobs.DaySpend
	pos, err := s.locked(func() error {
		out = s.spend.day(day)
		return nil
	})
	// Like every read, it answers only with what is durable.
	if err = s.commit(pos, err); err != nil {
		return jobs.DaySpend{}, err
	}
	return out, nil
}
