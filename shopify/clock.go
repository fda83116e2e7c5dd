package shopify

import (
	"context"
	"time"

	"github.com/creativeai-run/catalogvideo/internal/backoff"
)

// Clock is the time source the client and the publisher read and wait on:
// pacing, retry delays, media polling and its deadline. The default is the
// system clock; tests substitute a virtual one (shopifytest.VirtualClock) so
// that minutes of throttling and processing run in microseconds.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits for d, or until ctx ends, in which case it returns the
	// context's error.
	Sleep(ctx context.Context, d time.Duration) error
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	return backoff.Sleep(ctx, d)
}
