package backoff

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"
)

func TestPolicyDelayGrowsAndCaps(t *testing.T) {
	p := Policy{Initial: time.Second, Max: 10 * time.Second, Multiplier: 2, Jitter: 0}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for attempt, w := range want {
		if got := p.Delay(attempt); got != w*time.Second {
			t.Errorf("Delay(%d) = %v, want %v", attempt, got, w*time.Second)
		}
	}
	// A huge attempt number neither overflows nor loops for long.
	if got := p.Delay(1 << 30); got != 10*time.Second {
		t.Errorf("Delay(1<<30) = %v, want the cap", got)
	}
}

func TestPolicyDelayJitterStaysBelowCap(t *testing.T) {
	p := Policy{Initial: time.Second, Max: 4 * time.Second, Multiplier: 2, Jitter: 0.5}
	seen := map[time.Duration]bool{}
	for range 200 {
		for attempt, nominal := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
			d := p.Delay(attempt)
			if d > nominal || d < nominal/2 {
				t.Fatalf("Delay(%d) = %v, want in [%v, %v]", attempt, d, nominal/2, nominal)
			}
			seen[d] = true
		}
	}
	// 800 draws from a continuous range: a constant would mean no jitter.
	if len(seen) < 100 {
		t.Errorf("only %d distinct delays in 800 draws; jitter is not applied", len(seen))
	}
}

func TestPolicyDefaults(t *testing.T) {
	var p Policy
	if got := p.Delay(0); got > 500*time.Millisecond || got < 375*time.Millisecond {
		t.Errorf("zero Policy: Delay(0) = %v, want 500ms less jitter", got)
	}
	if got := p.Delay(100); got > 30*time.Second {
		t.Errorf("zero Policy: Delay(100) = %v, want at most 30s", got)
	}
	if got := p.Cap(time.Hour); got != 30*time.Second {
		t.Errorf("zero Policy: Cap(1h) = %v, want 30s", got)
	}
	// Out-of-range settings fall back to the defaults.
	odd := Policy{Initial: -1, Max: -1, Multiplier: 0.5, Jitter: 2}
	if got := odd.Delay(1); got > time.Second || got < 750*time.Millisecond {
		t.Errorf("odd Policy: Delay(1) = %v, want 1s less up to 25%%", got)
	}
}

func TestPolicyCap(t *testing.T) {
	p := Policy{Max: 10 * time.Second}
	tests := []struct{ in, want time.Duration }{
		{-time.Second, 0},
		{0, 0},
		{3 * time.Second, 3 * time.Second},
		{time.Minute, 10 * time.Second},
	}
	for _, tt := range tests {
		if got := p.Cap(tt.in); got != tt.want {
			t.Errorf("Cap(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
		ok     bool
	}{
		{"none", http.Header{}, 0, false},
		{"seconds", http.Header{"Retry-After": {"7"}}, 7 * time.Second, true},
		{"fractional seconds", http.Header{"Retry-After": {"1.5"}}, 1500 * time.Millisecond, true},
		{"zero", http.Header{"Retry-After": {"0"}}, 0, true},
		{"padded", http.Header{"Retry-After": {" 3 "}}, 3 * time.Second, true},
		{"HTTP date", http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second, true},
		{"HTTP date in the past", http.Header{"Retry-After": {now.Add(-time.Hour).Format(http.TimeFormat)}}, 0, true},
		{"milliseconds", http.Header{"Retry-After-Ms": {"250"}}, 250 * time.Millisecond, true},
		{"milliseconds win", http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"9"}}, 250 * time.Millisecond, true},
		{"bad milliseconds fall back", http.Header{"Retry-After-Ms": {"soon"}, "Retry-After": {"9"}}, 9 * time.Second, true},
		{"negative", http.Header{"Retry-After": {"-5"}}, 0, false},
		{"garbage", http.Header{"Retry-After": {"later"}}, 0, false},
		{"NaN", http.Header{"Retry-After": {"NaN"}}, 0, false},
		{"NaN milliseconds", http.Header{"Retry-After-Ms": {"NaN"}}, 0, false},
	}
	for _, tt := range tests {
		got, ok := RetryAfter(tt.header, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: RetryAfter = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

// TestRetryAfterHugeValuesStayLong: a server asking for an absurd wait must
// get the capped maximum, not an overflowed (negative, so immediate) retry.
func TestRetryAfterHugeValuesStayLong(t *testing.T) {
	p := Policy{Max: 30 * time.Second}
	for _, h := range []http.Header{
		{"Retry-After": {"1e20"}},
		{"Retry-After": {"9223372037"}},
		{"Retry-After": {"Inf"}},
		{"Retry-After-Ms": {"1e300"}},
		{"Retry-After": {"Fri, 31 Dec 9999 23:59:59 GMT"}},
	} {
		d, ok := RetryAfter(h, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
		if !ok {
			t.Errorf("RetryAfter(%v) not ok", h)
			continue
		}
		if got := p.Cap(d); got != 30*time.Second {
			t.Errorf("RetryAfter(%v) = %v, capped to %v; want 30s", h, d, got)
		}
	}
}

func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := Sleep(t.Context(), 3*time.Second); err != nil {
			t.Fatalf("Sleep: %v", err)
		}
		if got := time.Since(start); got != 3*time.Second {
			t.Errorf("slept %v, want 3s", got)
		}
	})
}

func TestSleepEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		start := time.Now()
		err := Sleep(ctx, time.Hour)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Sleep = %v, want context.Canceled", err)
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("Sleep returned after %v, want 1s", got)
		}
	})
}

func TestSleepNonPositive(t *testing.T) {
	if err := Sleep(context.Background(), 0); err != nil {
		t.Errorf("Sleep(0) = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, -time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep(-1s) on a done context = %v, want context.Canceled", err)
	}
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep(1h) on a done context = %v, want context.Canceled", err)
	}
}
