package shopify

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func status(requested, available float64) *queryCost {
	return &queryCost{RequestedQueryCost: requested, ThrottleStatus: &throttleStatus{
		MaximumAvailable: 1000, CurrentlyAvailable: available, RestoreRate: 50}}
}

func reserve(t *testing.T, p *pacer, shape string, now time.Time) (reservation, time.Duration) {
	t.Helper()
	r, d, err := p.reserve(shape, now)
	if err != nil {
		t.Fatalf("reserve(%s): %v", shape, err)
	}
	return r, d
}

func TestPacerUnknownBucketDoesNotWait(t *testing.T) {
	p := newPacer(true, 0)
	if _, d := reserve(t, p, "q", t0); d != 0 {
		t.Errorf("waited %v before any answer", d)
	}
}

// TestPacerProbesAnUnknownBucket checks that while no answer has reported
// the bucket only one request goes out, so a burst at start-up does not
// meet a bucket too small for it.
func TestPacerProbesAnUnknownBucket(t *testing.T) {
	p := newPacer(true, 0)
	probe, _ := reserve(t, p, "q", t0)
	if _, wait, err := p.reserve("q", t0); !errors.Is(err, errProbing) || wait != probeWait {
		t.Fatalf("second request before any answer: wait %v, err %v; want to wait for the probe", wait, err)
	}
	// A probe that got no answer hands the job on.
	p.release(probe)
	probe, _ = reserve(t, p, "q", t0)
	p.observe("q", probe, status(10, 990), t0)
	if _, wait, err := p.reserve("q", t0); err != nil || wait != 0 {
		t.Errorf("after the bucket was reported: wait %v, err %v; want to go at once", wait, err)
	}
}

func TestPacerWaitsForDeficit(t *testing.T) {
	p := newPacer(true, 0)
	p.observe("q", reservation{}, status(200, 100), t0)
	// 100 available, 200 needed at 50/s: 2 s.
	if _, d := reserve(t, p, "q", t0); d != 2001*time.Millisecond {
		t.Errorf("wait = %v, want 2.001s", d)
	}
	// The first reservation took the bucket to −100; the next one queues
	// behind it: (200 + 100) / 50 = 6 s from t0, 4 s later than the first.
	if _, d := reserve(t, p, "q", t0); d != 6001*time.Millisecond {
		t.Errorf("second wait = %v, want 6.001s", d)
	}
}

// TestPacerReservationsSurviveAnAnswer checks that an answer to one request
// does not hand the points reserved for other requests in flight out again.
func TestPacerReservationsSurviveAnAnswer(t *testing.T) {
	p := newPacer(true, 0)
	p.observe("q", reservation{}, status(100, 1000), t0)
	a, _ := reserve(t, p, "q", t0)
	b, _ := reserve(t, p, "q", t0)
	// a is answered: Shopify charged it (1000 − 100), but b has not
	// reached Shopify yet, so only 800 are free for a third request.
	p.observe("q", a, status(100, 900), t0)
	if lvl := p.level(t0); lvl != 800 {
		t.Errorf("level after one of two answers = %v, want 900 − 100 reserved = 800", lvl)
	}
	p.observe("q", b, status(100, 800), t0)
	if lvl := p.level(t0); lvl != 800 {
		t.Errorf("level after both answers = %v, want 800", lvl)
	}
	// A request that got no answer gives its points back.
	c, _ := reserve(t, p, "q", t0)
	p.release(c)
	if lvl := p.level(t0); lvl != 800 {
		t.Errorf("level after a released reservation = %v, want 800", lvl)
	}
}

func TestPacerRefillsOverTime(t *testing.T) {
	p := newPacer(true, 0)
	p.observe("q", reservation{}, status(200, 100), t0)
	if _, d := reserve(t, p, "q", t0.Add(2*time.Second)); d != 0 {
		t.Errorf("wait = %v after the bucket refilled, want 0", d)
	}
	// Refill stops at the maximum.
	p = newPacer(true, 0)
	p.observe("q", reservation{}, status(200, 990), t0)
	if lvl := p.level(t0.Add(time.Hour)); lvl != 1000 {
		t.Errorf("level = %v, want capped at 1000", lvl)
	}
}

func TestPacerUnseenShapes(t *testing.T) {
	p := newPacer(true, 0)
	p.observe("cheap", reservation{}, status(10, 100), t0)
	p.observe("nodes(ids#10)", reservation{}, status(30, 100), t0)
	// An operation never seen waits for a full bucket: (1000 − 100) / 50.
	if _, d := reserve(t, p, "new", t0); d != 18001*time.Millisecond {
		t.Errorf("wait = %v, want 18s for an operation never seen", d)
	}
	// The same operation with another number of IDs is scaled: 25 IDs at
	// 3 points each.
	p = newPacer(true, 0)
	p.observe("nodes(ids#10)", reservation{}, status(30, 0), t0)
	if _, d := reserve(t, p, "nodes(ids#25)", t0); d != 1501*time.Millisecond {
		t.Errorf("wait = %v, want 75 / 50 = 1.5s for 25 IDs after 10 cost 30", d)
	}
}

func TestPacerDisabled(t *testing.T) {
	p := newPacer(false, 0)
	p.observe("q", reservation{}, status(900, 0), t0)
	if _, d := reserve(t, p, "q", t0); d != 0 {
		t.Errorf("disabled pacer waited %v", d)
	}
}

// TestPacerLearnsOtherProcesses feeds the pacer answers whose levels show
// another client taking 20 of the 50 points refilled each second, and
// checks that it paces at the remaining 30.
func TestPacerLearnsOtherProcesses(t *testing.T) {
	p := newPacer(true, 0)
	level := 500.0
	now := t0
	p.observe("q", reservation{}, status(30, level), now)
	for range 100 {
		r, _ := reserve(t, p, "q", now)
		now = now.Add(time.Second)
		// Per second: +50 refill, −30 for our request, −20 for the other.
		level = min(1000, level+50) - 30 - 20
		c := status(30, level)
		actual := 30.0
		c.ActualQueryCost = &actual
		p.observe("q", r, c, now)
	}
	if p.foreign < 15 || p.foreign > 25 {
		t.Errorf("foreign rate = %.1f points/s, want about 20", p.foreign)
	}
	// From an empty bucket, 300 points now take 300 / 30 = 10 s, not 6.
	p.observe("dear", reservation{}, status(300, 0), now)
	_, d := reserve(t, p, "dear", now)
	if d < 8*time.Second || d > 13*time.Second {
		t.Errorf("wait for 300 points from empty = %v, want about 10s at the 30 points/s left", d)
	}
}

// TestPacerLeavesOthersTheirDearestRequest checks the margin: alone, a
// request goes as soon as the bucket holds its cost; once another client
// is seen, it waits until the bucket would still hold the dearest request
// answered so far, since the other sends whole requests like it.
func TestPacerLeavesOthersTheirDearestRequest(t *testing.T) {
	p := newPacer(true, 0)
	dear := status(100, 900)
	actual := 80.0
	dear.ActualQueryCost = &actual
	p.observe("dear", reservation{}, dear, t0)
	p.sampled = true // past the start (see TestPacerLeavesHalfAFullBucketAtStart)
	p.observe("q", reservation{}, status(100, 150), t0)
	r, d := reserve(t, p, "q", t0)
	if d != 0 {
		t.Errorf("alone: 100 points from 150 waited %v, want 0", d)
	}
	p.release(r)

	// A foreign rate under a tenth of the restore rate is noise from this
	// client's own answers arriving out of order, not another client.
	p.foreign = 4
	r, d = reserve(t, p, "q", t0)
	if d != 0 {
		t.Errorf("4 of 50 points a second seen taken: 100 points from 150 waited %v, want 0", d)
	}
	p.release(r)

	p.foreign = 10 // another client takes 10 of the 50 points a second
	if _, d := reserve(t, p, "q", t0); d < 1249*time.Millisecond || d > 1252*time.Millisecond {
		// (100 + 100 − 150) / (50 − 10) = 1.25 s: the other's request
		// needs its requested cost in the bucket, not what it is charged.
		t.Errorf("shared: 100 points from 150 waited %v, want 1.25s (until 100 are left over)", d)
	}
}

// TestPacerLeavesHalfAFullBucketAtStart checks the start: a process that
// finds the bucket over half full spends only the half above the middle
// until its answers have measured whether another client draws on the
// bucket, so that processes started together do not each spend it all;
// then, alone, it spends the rest.
func TestPacerLeavesHalfAFullBucketAtStart(t *testing.T) {
	p := newPacer(true, 0)
	charged := func(available float64) *queryCost {
		c := status(100, available)
		actual := 100.0
		c.ActualQueryCost = &actual
		return c
	}
	p.observe("q", reservation{}, charged(900), t0)
	var burst []reservation
	for i := range 4 {
		r, d := reserve(t, p, "q", t0)
		if d != 0 {
			t.Fatalf("request %d from 900 waited %v, want 0 down to half the bucket", i+1, d)
		}
		burst = append(burst, r)
	}
	r, d := reserve(t, p, "q", t0)
	if d != 2001*time.Millisecond {
		t.Errorf("fifth request at 500 waited %v, want 2.001s (until 100 above half)", d)
	}
	p.release(r)
	for i, r := range burst {
		p.observe("q", r, charged(800-100*float64(i)), t0)
	}
	// Answers over a whole sample window, each charged what refilled:
	// nobody else draws, and the other half is this process's.
	now := t0
	for range 12 {
		r, _ := reserve(t, p, "q", now)
		now = now.Add(2 * time.Second)
		p.observe("q", r, charged(500), now)
	}
	if p.foreign != 0 || !p.sampled {
		t.Fatalf("after a window alone: foreign %v, sampled %v; want 0, true", p.foreign, p.sampled)
	}
	if _, d := reserve(t, p, "q", now); d != 0 {
		t.Errorf("after a window alone, 100 from 500 waited %v, want 0", d)
	}

	low := newPacer(true, 0)
	low.observe("q", reservation{}, charged(300), t0)
	if _, d := reserve(t, low, "q", t0); d != 0 {
		t.Errorf("start at 300 of 1000: 100 points waited %v, want 0 (no burst to share)", d)
	}
}

// TestPacerAdjustMovesTheWait checks that a paced request waits longer
// for what answers since showed others took beyond the model, and less
// for what they showed was left over, and that such answers signal it.
func TestPacerAdjustMovesTheWait(t *testing.T) {
	p := newPacer(true, 0)
	p.observe("q", reservation{}, status(100, 50), t0)
	p.foreign = 10 // the model refills at 50 − 10 = 40 points a second
	r, d := reserve(t, p, "q", t0)
	if d < 1249*time.Millisecond || d > 1252*time.Millisecond {
		t.Fatalf("100 points from 50 waited %v, want 1.25s", d)
	}
	// An answer one second later: the model expects 50 − 100 + 40 = −10
	// net of r; the bucket reports 60, which is −40 net of r: 30 poorer.
	now := t0.Add(time.Second)
	moved := p.changed()
	p.observe("q", reservation{}, status(100, 60), now)
	select {
	case <-moved:
	default:
		t.Error("an answer that moved the model did not close changed()")
	}
	if w := p.adjust(&r, now); w < 749*time.Millisecond || w > 752*time.Millisecond {
		t.Errorf("recheck after the bucket came out 30 points poorer = %v, want 0.75s (30 / 40 a second)", w)
	}
	if w := p.adjust(&r, now); w != 0 {
		t.Errorf("second recheck with no new answer = %v, want 0", w)
	}
	// 340 richer than the model (it expected −40 net of r, the bucket
	// holds 400 − 100): the wait ends 340 / 40 = 8.5 s sooner.
	p.observe("q", reservation{}, status(100, 400), now)
	if w := p.adjust(&r, now); w != -8500*time.Millisecond {
		t.Errorf("adjust after the bucket came out 340 points richer = %v, want -8.5s", w)
	}

	// Alone, the wait moves both ways by the model's error: a poorer
	// reading is most often this client's own request counted twice (charged
	// in the level, still reserved) and is undone by its answer, so a wait
	// that only ever moved sooner would drift ahead of the bucket.
	alone := newPacer(true, 0)
	alone.observe("q", reservation{}, status(100, 100), t0)
	r, _ = reserve(t, alone, "q", t0)
	alone.observe("q", reservation{}, status(100, 0), t0)
	if w := alone.adjust(&r, t0); w != 2001*time.Millisecond {
		t.Errorf("alone, 100 points poorer: recheck = %v, want 2.001s (100 / 50 a second)", w)
	}
	alone.observe("q", reservation{}, status(100, 100), t0)
	if w := alone.adjust(&r, t0); w != -2*time.Second {
		t.Errorf("alone, 100 points richer again: recheck = %v, want -2s", w)
	}
}

// TestPacerOvertakenAnswer checks that an answer arriving after the answer
// of a request that left later does not make the model richer than the
// bucket: the level it reports predates that later request's charge.
func TestPacerOvertakenAnswer(t *testing.T) {
	p := newPacer(true, 0)
	p.observe("q", reservation{}, status(100, 1000), t0)
	a, _ := reserve(t, p, "q", t0)
	p.sent(&a)
	b, _ := reserve(t, p, "q", t0)
	p.sent(&b)
	charged := func(available float64) *queryCost {
		c := status(100, available)
		actual := 100.0
		c.ActualQueryCost = &actual
		return c
	}
	// Shopify ran a (1000 → 900) and then b (900 → 800), but b's answer
	// comes first.
	p.observe("q", b, charged(800), t0)
	p.observe("q", a, charged(900), t0)
	if lvl := p.level(t0); lvl != 800 {
		t.Errorf("level after the overtaken answer = %v, want 800 (900 less b's charge)", lvl)
	}
}

// TestPacerProbesAnOperationOnce checks that while the first request of
// an operation never answered is out, priced at the whole bucket, the
// others of that operation wait for its answer instead of each holding a
// whole bucket, and that other operations are not held up.
func TestPacerProbesAnOperationOnce(t *testing.T) {
	p := newPacer(true, 0)
	p.observe("q", reservation{}, status(10, 1000), t0)
	first, d := reserve(t, p, "new(ids#3)", t0)
	if d != 0 || first.cost != 1000 {
		t.Fatalf("first request of a new operation: cost %v, wait %v; want the whole bucket, at once", first.cost, d)
	}
	if _, wait, err := p.reserve("new(ids#5)", t0); !errors.Is(err, errProbing) || wait != probeWait {
		t.Errorf("second request of the operation while the first is out: wait %v, err %v; want to wait for its answer", wait, err)
	}
	if r, _ := reserve(t, p, "q", t0); r.cost != 10 {
		t.Errorf("another operation's request cost %v, want 10", r.cost)
	}
	p.observe("new(ids#3)", first, status(30, 960), t0)
	if r, _ := reserve(t, p, "new(ids#5)", t0); r.cost != 50 {
		t.Errorf("after the answer: cost %v, want 30 scaled to 5 IDs = 50", r.cost)
	}
}

// TestPacerPacesToAtLeastHalfTheRefill checks the fairness floor: a
// client that sees another take 45 of the 50 points a second still paces
// at 25 (its half), not the 5 the other leaves it.
func TestPacerPacesToAtLeastHalfTheRefill(t *testing.T) {
	p := newPacer(true, 0)
	p.observe("q", reservation{}, status(100, 0), t0)
	p.foreign = 45
	if _, d := reserve(t, p, "q", t0); d < 3999*time.Millisecond || d > 4002*time.Millisecond {
		t.Errorf("100 points from empty waited %v, want 4s at 25 points a second", d)
	}
}

func TestPacerJitterLengthensWaits(t *testing.T) {
	p := newPacer(true, 0.5)
	p.observe("q", reservation{}, status(200, 100), t0)
	_, d := reserve(t, p, "q", t0)
	if d < 2001*time.Millisecond || d >= 3002*time.Millisecond {
		t.Errorf("jittered wait = %v, want in [2.001s, 3.0015s)", d)
	}
	if w := p.throttled(time.Second, t0); w < time.Second || w >= 1500*time.Millisecond {
		t.Errorf("jittered throttle wait = %v, want in [1s, 1.5s)", w)
	}
}

// TestPacerSecondRefusalAssumesAnotherClient checks that one refusal
// changes nothing but a second within the window assumes another client
// draws half the refill.
func TestPacerSecondRefusalAssumesAnotherClient(t *testing.T) {
	p := newPacer(true, 0)
	p.observe("q", reservation{}, status(100, 1000), t0)
	p.throttled(time.Second, t0)
	if p.foreign != 0 {
		t.Errorf("after one refusal: foreign = %v, want 0", p.foreign)
	}
	p.throttled(time.Second, t0.Add(time.Second))
	if p.foreign != 25 {
		t.Errorf("after a second refusal within the window: foreign = %v, want 25 (half of 50)", p.foreign)
	}
	q := newPacer(true, 0)
	q.observe("q", reservation{}, status(100, 1000), t0)
	q.throttled(time.Second, t0)
	q.throttled(time.Second, t0.Add(11*time.Second)) // the window is 500 points: 10 s
	if q.foreign != 0 {
		t.Errorf("refusals a window apart: foreign = %v, want 0", q.foreign)
	}
}

func TestPacerRefusesKnownOverMaxCost(t *testing.T) {
	p := newPacer(true, 0)
	p.observe("huge", reservation{}, status(1500, 1000), t0)
	_, _, err := p.reserve("huge", t0)
	var mc *MaxCostExceededError
	if !errors.As(err, &mc) || mc.RequestedCost != 1500 || mc.MaximumAvailable != 1000 || !IsPermanent(err) {
		t.Fatalf("reserve = %v, want a permanent *MaxCostExceededError for 1500 > 1000", err)
	}
	if p.pending != 0 {
		t.Errorf("a refused request reserved %v points", p.pending)
	}
}

func TestThrottleWait(t *testing.T) {
	cases := []struct {
		c    *queryCost
		want time.Duration
		ok   bool
	}{
		{status(752, 666), 1721 * time.Millisecond, true},
		{status(100, 100), 0, true},
		{status(100, 400), 0, true},
		{&queryCost{RequestedQueryCost: 10}, 0, false},
		{nil, 0, false},
	}
	for _, tc := range cases {
		got, ok := throttleWait(tc.c)
		if got != tc.want || ok != tc.ok {
			t.Errorf("throttleWait(%+v) = %v, %v; want %v, %v", tc.c, got, ok, tc.want, tc.ok)
		}
	}
}
