package shopify

import (
	"math"
	"sync"
	"time"
)

// queryCost is extensions.cost, which Shopify adds to every GraphQL answer.
type queryCost struct {
	RequestedQueryCost float64 `json:"requestedQueryCost"`
	// ActualQueryCost is null when the request was throttled.
	ActualQueryCost *float64        `json:"actualQueryCost"`
	ThrottleStatus  *throttleStatus `json:"throttleStatus"`
}

// throttleStatus is the app's cost bucket for the store, as of the answer.
type throttleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

// pacer keeps a local model of Shopify's leaky bucket so that a request is
// held back until the bucket can afford it, instead of being sent, refused
// with THROTTLED, and sent again. The model is seeded from every answer's
// throttleStatus; between answers it refills at restoreRate and is debited
// by the cost last seen for each operation, so concurrent callers queue
// behind each other rather than all spending the same points.
type pacer struct {
	enabled bool

	mu    sync.Mutex
	known bool
	max   float64
	avail float64 // may go negative: points promised to requests in flight
	rate  float64
	at    time.Time
	costs map[string]float64 // cost shape → last requestedQueryCost
}

func newPacer(enabled bool) *pacer {
	return &pacer{enabled: enabled, costs: make(map[string]float64)}
}

// reserve debits the expected cost of a request of the given shape (see
// costShape) and returns how long to wait before sending it. Until the first answer arrives the bucket is unknown and
// nothing waits.
func (p *pacer) reserve(op string, now time.Time) time.Duration {
	if !p.enabled {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.known || p.rate <= 0 {
		return 0
	}
	cost, ok := p.costs[op]
	if !ok {
		// A shape not seen yet is assumed to cost as much as the dearest
		// one seen: waiting a little too long beats a THROTTLED.
		for _, c := range p.costs {
			cost = max(cost, c)
		}
	}
	avail := p.level(now)
	p.avail = avail - cost
	p.at = now
	if avail >= cost {
		return 0
	}
	return secondsToDuration((cost - avail) / p.rate)
}

// level is the bucket's expected content at now.
func (p *pacer) level(now time.Time) float64 {
	elapsed := max(now.Sub(p.at).Seconds(), 0)
	return min(p.max, p.avail+elapsed*p.rate)
}

// observe records the bucket Shopify reported with an answer to a request
// of the given shape.
func (p *pacer) observe(op string, c *queryCost, now time.Time) {
	if c == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.RequestedQueryCost > 0 {
		p.costs[op] = c.RequestedQueryCost
	}
	if ts := c.ThrottleStatus; ts != nil && ts.MaximumAvailable > 0 {
		p.known = true
		p.max = ts.MaximumAvailable
		p.avail = ts.CurrentlyAvailable
		p.rate = ts.RestoreRate
		p.at = now
	}
}

// throttleWait is how long a THROTTLED request must wait for the bucket to
// hold its cost: (requested − available) / restoreRate. It reports false
// when the answer did not say.
func throttleWait(c *queryCost) (time.Duration, bool) {
	if c == nil || c.ThrottleStatus == nil || c.ThrottleStatus.RestoreRate <= 0 {
		return 0, false
	}
	deficit := c.RequestedQueryCost - c.ThrottleStatus.CurrentlyAvailable
	return secondsToDuration(max(deficit, 0) / c.ThrottleStatus.RestoreRate), true
}

// secondsToDuration rounds up to the next millisecond and adds one more, so
// that a wait computed to refill exactly the deficit is never a hair short
// after floating-point rounding on either side.
func secondsToDuration(s float64) time.Duration {
	if s <= 0 || math.IsNaN(s) {
		return 0
	}
	if s > 3600 {
		s = 3600
	}
	return time.Duration(math.Ceil(s*1000)+1) * time.Millisecond
}
