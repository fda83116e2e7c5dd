package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// The spend cases pin down Store.Reserve: a day's total counts every
// reservation and every billed render on that day, whatever process made
// it, and a cap is never passed, however many reserve at once.
func init() {
	cases = append(cases,
		testCase{"Reserve/RecordsPrice", testReserveRecordsPrice},
		testCase{"Reserve/OverCap", testReserveOverCap},
		testCase{"Reserve/Settles", testReserveSettles},
		testCase{"Reserve/ReplayKeepsSpent", testReserveReplayKeepsSpent},
		testCase{"Reserve/DayBoundary", testReserveDayBoundary},
		testCase{"Reserve/NotReservable", testReserveNotReservable},
		testCase{"Reserve/Concurrent", testReserveConcurrent},
		testCase{"Reserve/StillSpentWhenClipRefused", testReserveStillSpent},
		testCase{"DaySpend/Totals", testDaySpendTotals},
	)
	durableCases = append(durableCases,
		testCase{"Durable/Reservation", testDurableReservation},
	)
}

// spendDay is the day key of Epoch in UTC.
const spendDay = "2026-03-11"

func (h *harness) daySpend(day string) jobs.DaySpend {
	h.Helper()
	d, err := h.s.DaySpend(h.ctx, day)
	if err != nil {
		h.Fatalf("DaySpend(%s): %v", day, err)
	}
	return d
}

func (h *harness) reserve(key string, r jobs.Reservation) jobs.Reserved {
	h.Helper()
	got, err := h.s.Reserve(h.ctx, key, r)
	if err != nil {
		h.Fatalf("Reserve(%s, %+v): %v", key, r, err)
	}
	return got
}

func testReserveRecordsPrice(h *harness) {
	h.track(newJob("a"))
	now := h.clock.Advance(time.Second)
	got := h.reserve("a", jobs.Reservation{Day: spendDay, Cents: 80, DailyCap: 500})
	want := newJob("a")
	want.PriceCents, want.SpendDay, want.ReservedAt = 80, spendDay, now
	want.CreatedAt, want.UpdatedAt = Epoch, now
	h.diff("Reserve", jobs.Reserved{Job: want, Day: jobs.DaySpend{Day: spendDay, Reserved: 80}}, got)
	h.diff("Get", want, h.get("a"))

	// A rerun after a crash between reserving and the answer finds the
	// reservation and reuses it: nothing is counted twice.
	h.clock.Advance(time.Second)
	again := h.reserve("a", jobs.Reservation{Day: spendDay, Cents: 80, DailyCap: 500})
	h.diff("Reserve again", jobs.Reserved{Job: want, Day: jobs.DaySpend{Day: spendDay, Reserved: 80}, Reused: true}, again)

	h.track(newJob("b"))
	b := h.reserve("b", jobs.Reservation{Day: spendDay, Cents: 50})
	h.diff("day after a second reservation", jobs.DaySpend{Day: spendDay, Reserved: 130}, b.Day)
}

func testReserveOverCap(h *harness) {
	for _, k := range []string{"a", "b", "c"} {
		h.track(newJob(k))
	}
	h.reserve("a", jobs.Reservation{Day: spendDay, Cents: 80, DailyCap: 200})
	h.reserve("b", jobs.Reservation{Day: spendDay, Cents: 80, DailyCap: 200})
	before := h.get("c")
	got, err := h.s.Reserve(h.ctx, "c", jobs.Reservation{Day: spendDay, Cents: 80, DailyCap: 200})
	h.wantErr("Reserve over the cap", err, jobs.ErrOverBudget)
	h.diff("day when refused", jobs.DaySpend{Day: spendDay, Reserved: 160}, got.Day)
	h.diff("job refused a reservation", before, h.get("c"))
	// Exactly to the cap is allowed.
	h.reserve("c", jobs.Reservation{Day: spendDay, Cents: 40, DailyCap: 200})
	// No cap: anything goes, and the total is still kept.
	h.track(newJob("d"))
	d := h.reserve("d", jobs.Reservation{Day: spendDay, Cents: 1000})
	h.diff("day without a cap", jobs.DaySpend{Day: spendDay, Reserved: 1200}, d.Day)
}

// testReserveSettles follows reservations to their ends: completed and
// failed renders are spent, a failed render the service did not bill and a
// submit_failed row count nothing, and the freed room can be reserved again.
func testReserveSettles(h *harness) {
	day := func() jobs.DaySpend { return h.daySpend(spendDay) }
	for _, k := range []string{"done", "failed", "free", "refused"} {
		h.track(newJob(k))
		h.reserve(k, jobs.Reservation{Day: spendDay, Cents: 100, DailyCap: 400})
	}
	h.submit("done", "vgen_done")
	h.submit("failed", "vgen_failed")
	h.submit("free", "vgen_free")
	h.diff("day in flight", jobs.DaySpend{Day: spendDay, Reserved: 400}, day())

	h.complete("vgen_done")
	h.apply(creativeai.Generation{ID: "vgen_failed", Status: creativeai.StatusFailed, Error: "provider timeout"})
	h.apply(creativeai.Generation{ID: "vgen_free", Status: creativeai.StatusFailed, Error: "content_policy_violation: refused by the safety system; not billed"})
	refused := h.recordSubmission("refused", jobs.Submission{Error: "HTTP 400: invalid_image_url", Class: jobs.FailureInput})
	if refused.PriceCents != 100 || refused.FailureClass != jobs.FailureInput {
		h.Errorf("submit_failed job: price %d, class %q; want the price kept for the record and class input", refused.PriceCents, refused.FailureClass)
	}
	free := h.get("free")
	if !free.NotBilled || free.FailureClass != jobs.FailurePolicy {
		h.Errorf("render failed as not billed: NotBilled = %v, FailureClass = %q; want true, policy", free.NotBilled, free.FailureClass)
	}
	// Three renders finished, one of them a policy refusal.
	h.diff("day settled", jobs.DaySpend{Day: spendDay, Spent: 200, Finished: 3, Refused: 1}, day())

	// The released room takes new reservations up to the cap again.
	h.track(newJob("next"))
	h.reserve("next", jobs.Reservation{Day: spendDay, Cents: 200, DailyCap: 400})
	h.track(newJob("over"))
	_, err := h.s.Reserve(h.ctx, "over", jobs.Reservation{Day: spendDay, Cents: 1, DailyCap: 400})
	h.wantErr("Reserve after the released room is taken", err, jobs.ErrOverBudget)
}

// testReserveReplayKeepsSpent replays a billed failed render: its price
// stays counted on its day, and the new attempt reserves anew.
func testReserveReplayKeepsSpent(h *harness) {
	h.track(newJob("a"))
	h.reserve("a", jobs.Reservation{Day: spendDay, Cents: 80, DailyCap: 200})
	h.submit("a", "vgen_a1")
	h.apply(creativeai.Generation{ID: "vgen_a1", Status: creativeai.StatusFailed, Error: "provider timeout"})
	j := h.replay("a")
	if j.PriceCents != 0 || j.SpendDay != "" || len(j.EarlierCharges) != 1 || j.EarlierCharges[0] != (jobs.Charge{Day: spendDay, Cents: 80}) {
		h.Errorf("replayed job: price %d on %q, earlier %+v; want none, and the failed attempt's 80 cents kept on %s", j.PriceCents, j.SpendDay, j.EarlierCharges, spendDay)
	}
	r := h.reserve("a", jobs.Reservation{Day: spendDay, Cents: 80, DailyCap: 200})
	h.diff("day after the replay reserved", jobs.DaySpend{Day: spendDay, Reserved: 80, Spent: 80}, r.Day)
	_, err := h.s.Reserve(h.ctx, "a", jobs.Reservation{Day: spendDay, Cents: 80, DailyCap: 200})
	if err != nil {
		h.Errorf("Reserve of a job holding a reservation: %v", err)
	}
	h.track(newJob("b"))
	_, err = h.s.Reserve(h.ctx, "b", jobs.Reservation{Day: spendDay, Cents: 80, DailyCap: 200})
	h.wantErr("Reserve when the replay's two attempts fill the day", err, jobs.ErrOverBudget)

	// A submit_failed attempt's reservation is released by its replay.
	h.recordSubmission("a", jobs.Submission{Error: "HTTP 503"})
	j = h.replay("a")
	if j.PriceCents != 0 || len(j.EarlierCharges) != 1 {
		h.Errorf("replayed submit_failed job: price %d, earlier %+v; want none and the one earlier charge", j.PriceCents, j.EarlierCharges)
	}
	h.reserve("b", jobs.Reservation{Day: spendDay, Cents: 80, DailyCap: 200})
}

// testReserveDayBoundary reserves on both sides of midnight, with the day
// keys a caller derives from an injected clock: each day has a cap of its
// own, and yesterday's spending stays on yesterday.
func testReserveDayBoundary(h *harness) {
	loc := time.FixedZone("UTC-5", -5*3600)
	// Epoch is 08:00 UTC, 03:00 in UTC-5: the same day there.
	today := jobs.Day(h.clock.Now(), loc)
	h.track(newJob("a"))
	h.reserve("a", jobs.Reservation{Day: today, Cents: 100, DailyCap: 100})
	h.track(newJob("b"))
	_, err := h.s.Reserve(h.ctx, "b", jobs.Reservation{Day: today, Cents: 100, DailyCap: 100})
	h.wantErr("Reserve on a full day", err, jobs.ErrOverBudget)

	// 21 hours later it is 00:00 the next day in UTC-5.
	h.clock.Advance(21 * time.Hour)
	tomorrow := jobs.Day(h.clock.Now(), loc)
	if tomorrow == today {
		h.Fatalf("day key did not change across midnight: %s", today)
	}
	r := h.reserve("b", jobs.Reservation{Day: tomorrow, Cents: 100, DailyCap: 100})
	h.diff("the new day", jobs.DaySpend{Day: tomorrow, Reserved: 100}, r.Day)
	if got := h.get("a"); got.SpendDay != today {
		h.Errorf("yesterday's reservation moved to %q, want %q", got.SpendDay, today)
	}
}

func testReserveNotReservable(h *harness) {
	h.trackSubmitted("a", "vgen_a")
	_, err := h.s.Reserve(h.ctx, "a", jobs.Reservation{Day: spendDay, Cents: 80})
	h.wantErr("Reserve of a submitted job", err, jobs.ErrNotReservable)
	_, err = h.s.Reserve(h.ctx, "missing", jobs.Reservation{Day: spendDay, Cents: 80})
	h.wantErr("Reserve of an unknown key", err, jobs.ErrNotFound)
	h.track(newJob("b"))
	for _, r := range []jobs.Reservation{{Day: "11/03/2026", Cents: 80}, {Day: spendDay, Cents: -1}, {Day: spendDay, Cents: 1, DailyCap: -5}} {
		_, err = h.s.Reserve(h.ctx, "b", r)
		h.wantErr(fmt.Sprintf("Reserve(%+v)", r), err, jobs.ErrInvalid)
	}
	if got := h.get("b"); got.SpendDay != "" {
		h.Errorf("a refused reservation was recorded: %+v", got)
	}
}

// testReserveConcurrent has many workers reserve at once under one cap.
func testReserveConcurrent(h *harness) {
	CheckBudgetConcurrency(h.T, h.s, h.s)
}

// CheckBudgetConcurrency has workers split between a and b (two stores on
// one database, as two processes would open it, or one store twice) reserve
// 50 cents each for 60 jobs under a daily cap of 1,000 cents: exactly 20
// reservations may succeed, and the day's total must end at the cap, never a
// cent over. Stores that share data between processes call it from their own
// tests; Run calls it with one store.
func CheckBudgetConcurrency(t *testing.T, a, b jobs.Store) {
	t.Helper()
	const (
		jobCount = 60
		price    = 50
		limit    = 1000
		workers  = 12
	)
	ctx := t.Context()
	day := "2026-04-01"
	for i := range jobCount {
		if _, _, err := a.Track(ctx, newJob(fmt.Sprintf("budget-%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted int
		maxSeen  creativeai.Cents
		next     = make(chan string)
	)
	go func() {
		defer close(next)
		for i := range jobCount {
			next <- fmt.Sprintf("budget-%03d", i)
		}
	}()
	for w := range workers {
		s := []jobs.Store{a, b}[w%2]
		wg.Go(func() {
			for key := range next {
				r, err := s.Reserve(ctx, key, jobs.Reservation{Day: day, Cents: price, DailyCap: limit})
				switch {
				case errors.Is(err, jobs.ErrOverBudget):
					continue
				case err != nil:
					t.Errorf("Reserve(%s): %v", key, err)
					continue
				}
				mu.Lock()
				accepted++
				maxSeen = max(maxSeen, r.Day.Total())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if accepted != limit/price {
		t.Errorf("%d reservations of %d cents accepted under a cap of %d, want %d", accepted, price, limit, limit/price)
	}
	if maxSeen > limit {
		t.Errorf("a reservation saw the day at %s, over the cap of %s", maxSeen, creativeai.Cents(limit))
	}
	var total creativeai.Cents
	for _, s := range []jobs.Store{a, b} {
		total = 0
		for j, err := range s.List(ctx, jobs.Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			total += j.SpendOn(day).Total()
		}
		if total != limit {
			t.Errorf("the jobs hold %s reserved on %s, want exactly the cap %s", total, day, creativeai.Cents(limit))
		}
		if d, err := s.DaySpend(ctx, day); err != nil || d.Total() != limit {
			t.Errorf("DaySpend(%s) = %+v, %v; want exactly the cap %s", day, d, err, creativeai.Cents(limit))
		}
	}
}

// testReserveStillSpent renders a still and then has the clip refused:
// the still was billed on its own, so it stays spent on its day (and in
// the day's cap) while the clip's part of the reservation is released, and
// a replay that reuses the still reserves the clip alone.
func testReserveStillSpent(h *harness) {
	h.track(newJob("a"))
	r := h.reserve("a", jobs.Reservation{Day: spendDay, Cents: 80, StillCents: 30, DailyCap: 200})
	if r.Job.StillCents != 30 || r.Job.StillPaid {
		h.Errorf("reserved job: still %d, paid %v; want 30 cents for a still not yet rendered", r.Job.StillCents, r.Job.StillPaid)
	}
	j := h.recordSubmission("a", jobs.Submission{StillURL: "https://cdn.example.com/still-a.png"})
	if !j.StillPaid {
		h.Errorf("job after its still was recorded: StillPaid false, want true")
	}
	h.diff("day with the still rendered", jobs.DaySpend{Day: spendDay, Reserved: 50, Spent: 30}, h.daySpend(spendDay))
	h.recordSubmission("a", jobs.Submission{Error: "HTTP 400: unsupported aspect ratio", Class: jobs.FailureInput, StillURL: "https://cdn.example.com/still-a.png"})
	h.diff("day after the clip was refused", jobs.DaySpend{Day: spendDay, Spent: 30}, h.daySpend(spendDay))

	// The day's cap counts the still: 170 cents more fit, 171 do not.
	h.track(newJob("b"))
	_, err := h.s.Reserve(h.ctx, "b", jobs.Reservation{Day: spendDay, Cents: 171, DailyCap: 200})
	h.wantErr("Reserve past a cap the paid still takes room of", err, jobs.ErrOverBudget)

	// The replay keeps the still's charge; the new reservation is the clip.
	j = h.replay("a")
	if len(j.EarlierCharges) != 1 || j.EarlierCharges[0] != (jobs.Charge{Day: spendDay, Cents: 30}) || j.StillPaid || j.StillCents != 0 {
		h.Errorf("replayed job: earlier %+v, still %d paid %v; want the still's 30 cents charged on %s and no still reserved", j.EarlierCharges, j.StillCents, j.StillPaid, spendDay)
	}
	h.reserve("a", jobs.Reservation{Day: spendDay, Cents: 50, DailyCap: 200})
	h.diff("day after the replay reserved its clip", jobs.DaySpend{Day: spendDay, Reserved: 50, Spent: 30}, h.daySpend(spendDay))

	// A render the service did not bill leaves its still spent too.
	h.track(newJob("c"))
	h.reserve("c", jobs.Reservation{Day: spendDay, Cents: 80, StillCents: 30})
	h.recordSubmission("c", jobs.Submission{StillURL: "https://cdn.example.com/still-c.png"})
	h.recordSubmission("c", jobs.Submission{Generation: &creativeai.Generation{ID: "vgen_c", Status: creativeai.StatusPending}, StillURL: "https://cdn.example.com/still-c.png"})
	h.apply(creativeai.Generation{ID: "vgen_c", Status: creativeai.StatusFailed, Error: "content_policy_violation: refused by the safety system; not billed"})
	h.diff("day after an unbilled render from a paid still", jobs.DaySpend{Day: spendDay, Reserved: 50, Spent: 60, Finished: 1, Refused: 1}, h.daySpend(spendDay))

	_, err = h.s.Reserve(h.ctx, "b", jobs.Reservation{Day: spendDay, Cents: 50, StillCents: 60})
	h.wantErr("Reserve with a still's part larger than the whole", err, jobs.ErrInvalid)
}

// testDaySpendTotals checks DaySpend against the jobs' own accounts
// (jobs.Job.Spend) on two days, for reservations in every state.
func testDaySpendTotals(h *harness) {
	const otherDay = "2026-03-12"
	if got := h.daySpend(spendDay); got != (jobs.DaySpend{Day: spendDay}) {
		h.Errorf("DaySpend of an empty store = %+v, want zero", got)
	}
	for i, k := range []string{"pending", "rendering", "done", "failed", "refused", "other-day"} {
		h.track(newJob(k))
		day := spendDay
		if k == "other-day" {
			day = otherDay
		}
		h.reserve(k, jobs.Reservation{Day: day, Cents: creativeai.Cents(10 * (i + 1))})
	}
	for _, k := range []string{"rendering", "done", "failed", "other-day"} {
		h.submit(k, "vgen_"+k)
	}
	h.complete("vgen_done")
	h.complete("vgen_other-day")
	h.apply(creativeai.Generation{ID: "vgen_failed", Status: creativeai.StatusFailed, Error: "provider timeout"})
	h.recordSubmission("refused", jobs.Submission{Error: "HTTP 400: invalid_image_url", Class: jobs.FailureInput})
	// pending 10 and rendering 20 reserved; done 30 and failed 40 spent;
	// refused (submit_failed) counts nothing.
	h.diff("DaySpend", jobs.DaySpend{Day: spendDay, Reserved: 30, Spent: 70, Finished: 2}, h.daySpend(spendDay))
	h.diff("DaySpend of the other day", jobs.DaySpend{Day: otherDay, Spent: 60, Finished: 1}, h.daySpend(otherDay))
	for _, day := range []string{spendDay, otherDay} {
		var fromJobs jobs.DaySpend
		for j, err := range h.s.List(h.ctx, jobs.Filter{}) {
			if err != nil {
				h.Fatal(err)
			}
			fromJobs.Add(j.SpendOn(day))
		}
		fromJobs.Day = day
		h.diff("the jobs' own accounts of "+day, fromJobs, h.daySpend(day))
	}
	_, err := h.s.DaySpend(h.ctx, "March 11")
	h.wantErr("DaySpend of a day that is not YYYY-MM-DD", err, jobs.ErrInvalid)

	// A refusal the service did not bill, replayed on the next day: its
	// day counts it no more, and the new attempt counts on the new day.
	h.track(newJob("unbilled"))
	h.reserve("unbilled", jobs.Reservation{Day: spendDay, Cents: 5})
	h.submit("unbilled", "vgen_unbilled")
	h.apply(creativeai.Generation{ID: "vgen_unbilled", Status: creativeai.StatusFailed, Error: "content_policy_violation: refused; not billed"})
	h.diff("DaySpend with the refusal", jobs.DaySpend{Day: spendDay, Reserved: 30, Spent: 70, Finished: 3, Refused: 1}, h.daySpend(spendDay))
	h.replay("unbilled")
	h.reserve("unbilled", jobs.Reservation{Day: otherDay, Cents: 5})
	h.diff("DaySpend after the refusal was replayed", jobs.DaySpend{Day: spendDay, Reserved: 30, Spent: 70, Finished: 2}, h.daySpend(spendDay))
	h.diff("DaySpend of the replay's day", jobs.DaySpend{Day: otherDay, Reserved: 5, Spent: 60, Finished: 1}, h.daySpend(otherDay))
}

// testDurableReservation reopens the store between a reservation and the
// submission's answer, as a crash would: the reservation is still counted,
// and a rerun reuses it.
func testDurableReservation(h *harness) {
	h.track(newJob("a"))
	h.reserve("a", jobs.Reservation{Day: spendDay, Cents: 80, DailyCap: 100})
	h.reopen()
	h.track(newJob("b"))
	_, err := h.s.Reserve(h.ctx, "b", jobs.Reservation{Day: spendDay, Cents: 80, DailyCap: 100})
	h.wantErr("Reserve after reopening", err, jobs.ErrOverBudget)
	r := h.reserve("a", jobs.Reservation{Day: spendDay, Cents: 80, DailyCap: 100})
	if !r.Reused || r.Day.Total() != 80 {
		h.Errorf("rerun after reopening: Reused = %v, day %+v; want the reservation reused and 80 cents counted", r.Reused, r.Day)
	}
}
