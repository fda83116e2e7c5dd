package jobs

import "time"

// Clock tells the time. Stores stamp a job's CreatedAt and UpdatedAt with it,
// default a finished render's CompletedAt to it, and make a newly completed
// job's delivery due at it; the engines (batch.Run, outbox.Deliver, …) take
// the same shape, so one clock times every job's history. Every constructor
// and config that needs the time accepts one, so tests can pass a manual
// clock (see storetest.Clock) and expect exact times.
//
// Where a Clock is optional, nil means [WallClock].
type Clock interface {
	Now() time.Time
}

// WallClock is the [Clock] that reads [time.Now].
type WallClock struct{}

// Now returns time.Now().
func (WallClock) Now() time.Time { return time.Now() }

// ClockFunc adapts a function to a [Clock].
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// OrWall returns c, or [WallClock] when c is nil, for constructors that
// accept an optional clock.
func OrWall(c Clock) Clock {
	if c == nil {
		return WallClock{}
	}
	return c
}
