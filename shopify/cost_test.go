package shopify

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func status(requested, available float64) *queryCost {
	return &queryCost{RequestedQueryCost: requested, ThrottleStatus: &throttleStatus{
		MaximumAvailable: 1000, CurrentlyAvailable: available, RestoreRate: 50}}
}

func TestPacerUnknownBucketDoesNotWait(t *testing.T) {
	p := newPacer(true)
	if d := p.reserve("q", t0); d != 0 {
		t.Errorf("waited %v before any answer", d)
	}
}

func TestPacerWaitsForDeficit(t *testing.T) {
	p := newPacer(true)
	p.observe("q", status(200, 100), t0)
	// 100 available, 200 needed at 50/s: 2 s.
	if d := p.reserve("q", t0); d != 2001*time.Millisecond {
		t.Errorf("wait = %v, want 2.001s", d)
	}
	// The first reservation took the bucket to −100; the next one queues
	// behind it: (200 + 100) / 50 = 6 s from t0, 4 s later than the first.
	if d := p.reserve("q", t0); d != 6001*time.Millisecond {
		t.Errorf("second wait = %v, want 6.001s", d)
	}
}

func TestPacerRefillsOverTime(t *testing.T) {
	p := newPacer(true)
	p.observe("q", status(200, 100), t0)
	if d := p.reserve("q", t0.Add(2*time.Second)); d != 0 {
		t.Errorf("wait = %v after the bucket refilled, want 0", d)
	}
	// Refill stops at the maximum.
	p.observe("q", status(200, 990), t0)
	if lvl := p.level(t0.Add(time.Hour)); lvl != 1000 {
		t.Errorf("level = %v, want capped at 1000", lvl)
	}
}

func TestPacerUnseenShapeAssumesDearest(t *testing.T) {
	p := newPacer(true)
	p.observe("cheap", status(10, 100), t0)
	p.observe("dear", status(300, 100), t0)
	if d := p.reserve("new", t0); d != 4001*time.Millisecond {
		t.Errorf("wait = %v, want (300 − 100) / 50 = 4s for an unseen shape", d)
	}
}

func TestPacerDisabled(t *testing.T) {
	p := newPacer(false)
	p.observe("q", status(900, 0), t0)
	if d := p.reserve("q", t0); d != 0 {
		t.Errorf("disabled pacer waited %v", d)
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
