package batch

import "time"

// Clock tells a store the time. Stores stamp CreatedAt and UpdatedAt with it,
// default a finished render's CompletedAt to it, and make a newly completed
// job's delivery due at it. Every store constructor accepts one, so tests can
// pass a manual clock (see storetest.Clock) and expect exact times.
//
// A nil Clock reads time.Now.
type Clock func() time.Time

// Now returns the clock's current time.
func (c Clock) Now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}
