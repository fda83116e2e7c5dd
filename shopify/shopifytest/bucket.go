package shopifytest

import "time"

// bucket is Shopify's leaky bucket of query cost points for one app and
// store: it holds at most capacity points and refills continuously at rate
// points per second; a request that costs more than is available is
// refused with THROTTLED.
type bucket struct {
	capacity float64
	rate     float64
	level    float64
	at       time.Time
}

func newBucket(capacity, rate float64, now time.Time) *bucket {
	return &bucket{capacity: capacity, rate: rate, level: capacity, at: now}
}

func (b *bucket) refill(now time.Time) {
	if elapsed := now.Sub(b.at).Seconds(); elapsed > 0 {
		b.level = min(b.capacity, b.level+elapsed*b.rate)
	}
	b.at = now
}

// take debits cost if the bucket holds it and reports whether it did.
func (b *bucket) take(cost float64, now time.Time) bool {
	b.refill(now)
	if b.level < cost {
		return false
	}
	b.level -= cost
	return true
}

// refund returns points a request was charged but did not use.
func (b *bucket) refund(points float64) {
	if points > 0 {
		b.level = min(b.capacity, b.level+points)
	}
}
