package shopifytest

import (
	"context"
	"sync"
	"time"
)

// VirtualClock is a shopify.Clock whose time moves only when someone sleeps
// on it (or calls Advance): Sleep returns at once, moving the clock forward
// by the duration asked for. Give the same clock to the Server and the
// client and a publish that waits minutes for throttling and processing
// runs in microseconds, with every wait accounted for.
//
// Time is exact when one goroutine drives the clock. When several sleep at
// once their sleeps add up instead of overlapping, so time runs faster than
// it would on a wall clock.
type VirtualClock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
}

// NewVirtualClock returns a clock that reads start until it is advanced.
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{now: start}
}

// Now returns the clock's current time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep advances the clock by d and returns, or returns the context's error
// without advancing if ctx has ended.
func (c *VirtualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d > 0 {
		c.mu.Lock()
		c.now = c.now.Add(d)
		c.slept += d
		c.mu.Unlock()
	}
	return nil
}

// Advance moves the clock forward by d.
func (c *VirtualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
}

// Slept returns the total of all Sleep calls so far.
func (c *VirtualClock) Slept() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept
}
