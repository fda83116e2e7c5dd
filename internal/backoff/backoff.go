// Package backoff holds the retry timing shared by the CreativeAI and Shopify
// clients: capped exponential backoff with jitter, Retry-After parsing, and a
// wait that ends with its context.
package backoff

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Policy describes how long to wait between attempts.
//
// The zero value is usable: it falls back to the defaults documented on each
// field. Callers that retry against shared services should set Jitter.
type Policy struct {
	// Initial is the delay before the first retry (default 500ms).
	Initial time.Duration
	// Max caps any single delay, including server-requested ones (default 30s).
	Max time.Duration
	// Multiplier grows the delay after each attempt (default 2).
	Multiplier float64
	// Jitter is the fraction of each delay that is randomised, in [0, 1];
	// zero means none, so tests can ask for exact delays. A value outside
	// the range falls back to 0.25. Randomising spreads out clients that
	// failed together.
	Jitter float64
}

func (p Policy) withDefaults() Policy {
	if p.Initial <= 0 {
		p.Initial = 500 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 30 * time.Second
	}
	if p.Multiplier < 1 {
		p.Multiplier = 2
	}
	if p.Jitter < 0 || p.Jitter > 1 {
		p.Jitter = 0.25
	}
	return p
}

// Delay returns the wait before retry number attempt (0 for the first retry).
func (p Policy) Delay(attempt int) time.Duration {
	p = p.withDefaults()
	d := float64(p.Initial)
	for i := 0; i < attempt && d < float64(p.Max); i++ {
		d *= p.Multiplier
	}
	d = min(d, float64(p.Max))
	if p.Jitter > 0 {
		// Subtract up to Jitter·d so the cap stays a cap.
		d -= rand.Float64() * p.Jitter * d
	}
	return time.Duration(d)
}

// Cap limits a server-requested delay to the policy's maximum.
func (p Policy) Cap(d time.Duration) time.Duration {
	return min(max(d, 0), p.withDefaults().Max)
}

// RetryAfter reads the delay a server asked for, from Retry-After-Ms
// (milliseconds) or Retry-After (seconds or an HTTP date), relative to now.
// It reports false when neither header holds a usable value.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return saturating(ms, time.Millisecond), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return saturating(s, time.Second), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// saturating converts n units to a Duration, clamping at the largest one: a
// float beyond int64's range converts to an arbitrary (on amd64, negative)
// value, which would turn an absurd Retry-After into an immediate retry.
func saturating(n float64, unit time.Duration) time.Duration {
	d := n * float64(unit)
	if d >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(d)
}

// Sleep waits for d or until ctx ends, whichever comes first, and returns the
// context's error in the latter case.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
