package shopify

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
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
// sent only when the bucket can pay its requested cost, instead of being
// sent, refused with THROTTLED, and sent again.
//
// The model is reset from every answer's throttleStatus, minus the points
// reserved for this client's requests that are queued or in flight: an
// answer to one request does not free the points promised to the others.
// Between answers the model refills at restoreRate less what other
// processes are seen to take: when the level an answer reports is lower
// than this client's own spending explains, the difference is another
// client of the same app and store (a second server, say), and its rate is
// tracked so that two processes pace to a shared bucket instead of each
// assuming the whole refill. Waits get a random extra share (jitter) so
// processes that share a bucket do not send in lockstep.
type pacer struct {
	enabled bool
	jitter  float64 // extra share of a wait, drawn uniformly from [0, jitter)

	mu      sync.Mutex
	rng     *rand.Rand
	known   bool
	max     float64
	avail   float64 // model level at at, net of reservations; may go negative
	rate    float64
	at      time.Time
	pending float64 // points reserved by requests not yet answered
	probing bool    // a request is out to find the bucket
	// charged sums what every answer so far was charged (actualQueryCost);
	// see observe.
	charged float64
	// probingOps holds the operations never answered that have a request
	// out to find their cost; see reserve.
	probingOps map[string]bool
	// refusedUntil is the end of the window a refusal opened; see
	// throttled.
	refusedUntil time.Time
	costs        map[string]float64 // cost shape → last requestedQueryCost
	dearest      float64            // the largest requestedQueryCost answered
	// shift sums how much poorer than the model each answer found the
	// bucket (richer counts negative); moved is closed, and replaced, when
	// an answer changes it. See adjust.
	shift float64
	moved chan struct{}

	// foreign is the estimated points per second other clients take;
	// drift and driftSince accumulate evidence for it over a window.
	foreign    float64
	sampled    bool // foreign has had a sample; see margin
	fullStart  bool // the first answer found the bucket over half full
	seenLevel  float64
	seenAt     time.Time
	drift      float64
	driftSince time.Time
}

// foreignWindowPoints sets the shortest span a foreign-rate sample covers:
// the time the bucket takes to refill this many points (10 s at 50 points
// per second, 0.5 s at 1,000). Over shorter spans this client's own
// requests that Shopify has charged but not yet answered look like another
// client's draw; measuring the span in points keeps the estimate as good
// on a fast-refilling bucket as on a slow one.
const foreignWindowPoints = 500

// defaultPacingJitter is the default jitter of pacing and throttle waits.
const defaultPacingJitter = 0.2

func newPacer(enabled bool, jitter float64) *pacer {
	return &pacer{enabled: enabled, jitter: jitter, costs: make(map[string]float64), probingOps: make(map[string]bool), moved: make(chan struct{}),
		rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// reservation is what reserve set aside for one request; release or
// observe gives it back.
type reservation struct {
	cost    float64
	probe   bool    // the request that finds out the bucket
	probeOp string  // the operation whose cost this request finds out
	sent    bool    // it left: see pacer.sent
	charged float64 // pacer.charged when it left
	shift   float64 // pacer.shift when its wait was last set
	slack   float64 // what of a poorer bucket its margin still absorbs
}

// probeWait is how long a request waits, while the bucket is unknown, for
// the answer to the request finding it out.
const probeWait = 50 * time.Millisecond

// errProbing tells reserve's caller to wait probeWait and ask again: the
// bucket, or the cost of the request's operation, is unknown and another
// request is finding it out.
var errProbing = errors.New("shopify: waiting for the first answer to report the cost bucket")

// reserve debits the expected cost of a request of the given shape (see
// costShape) and returns how long to wait before sending it. Until the
// first answer arrives the bucket is unknown and nothing waits. It returns
// a *MaxCostExceededError without reserving anything when the shape is
// known to cost more than the whole bucket, which no wait can pay.
func (p *pacer) reserve(shape string, now time.Time) (reservation, time.Duration, error) {
	if !p.enabled {
		return reservation{}, 0, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	cost, seen := p.costs[shape]
	opSeen := seen
	if !seen {
		cost, opSeen = p.estimate(shape)
	}
	if seen && p.known && cost > p.max {
		return reservation{}, 0, &MaxCostExceededError{RequestedCost: cost, MaximumAvailable: p.max}
	}
	r := reservation{cost: cost, shift: p.shift}
	if op, _, _ := shapeItems(shape); !opSeen && p.known {
		// An operation never answered is priced at the whole bucket (see
		// estimate). One request finds out its cost while the others of
		// the operation wait for it: each priced at the whole bucket, they
		// would hold many buckets' worth of points at once, and every
		// request paced behind them would wait that out with the bucket
		// full.
		if p.probingOps[op] {
			return reservation{}, probeWait, errProbing
		}
		p.probingOps[op] = true
		r.probeOp = op
	}
	if !p.known || p.rate <= 0 {
		// The bucket is unknown until an answer reports it: one request
		// finds out while the others wait, rather than all arriving at
		// once at a bucket that may not hold them.
		if p.probing {
			return reservation{}, probeWait, errProbing
		}
		p.probing = true
		r.probe = true
		p.pending += cost
		return r, 0, nil
	}
	avail := p.level(now)
	r.slack = p.margin()
	p.pending += cost
	p.avail = avail - cost
	p.at = now
	need := min(cost+p.margin(), p.max)
	if avail >= need {
		return r, 0, nil
	}
	return r, p.jittered(secondsToDuration((need - avail) / p.refill())), nil
}

// margin is what a request leaves in the bucket for other clients. The
// model refills at restoreRate less their average draw, but they send
// whole requests, so the level jumps by a request's cost at a time: with
// others drawing on the bucket, a request waits until it would leave what
// the dearest request seen must find in the bucket to run (this client's
// dearest requestedQueryCost stands for theirs: they run the same
// operations), at most a quarter of the bucket. Callers hold p.mu.
func (p *pacer) margin() float64 {
	switch {
	case p.fullStart && !p.sampled:
		// Processes that start together each find a full bucket and
		// would each spend it before any answer shows the other. Until
		// the foreign rate has its first sample, half is left for
		// another; a process alone loses nothing by it, as the half stays
		// in the bucket for it to spend once the sample shows none. A
		// process that starts to a bucket less than half full paces
		// normally: others are drawing on it already, or the bucket has
		// no burst to share.
		return p.max / 2
	case p.shared():
		return min(p.dearest, p.max/4)
	}
	return 0
}

// sharedShare is the share of the restore rate others must be seen to
// take before the bucket counts as shared. Below it the estimate is noise:
// the answers of this client's own concurrent requests, arriving out of
// order, blur each sample, and a process alone would otherwise pace as if
// shared for the rest of its run while the estimate decays toward zero.
const sharedShare = 0.1

// shared reports whether other clients are seen to draw on the bucket.
// Callers hold p.mu.
func (p *pacer) shared() bool {
	return p.rate > 0 && p.foreign >= sharedShare*p.rate
}

// adjust moves the end of a paced request's wait by what the answers
// that arrived since its wait was set found: a bucket richer than the
// model (a request charged less than it asked for, an answer after a
// stretch with none) ends the wait that much sooner, which matters most
// after a request never seen before was priced at the whole bucket and
// came back cheap; with others on the bucket, only once every request of
// this client's queue is paid for, so woken requests do not go together.
// A bucket poorer than the model lengthens the wait. Alone on the bucket
// it does so by all of it: most such errors are this client's own request
// counted twice (charged in the level, still reserved), which its answer
// undoes, and a wait that moved only sooner would drift ahead of the
// bucket into THROTTLED. With others on it (another client drew faster
// than its estimated rate), by what exceeds the margin the request was
// paced with. See the moved channel for when to call it.
func (p *pacer) adjust(r *reservation, now time.Time) time.Duration {
	if !p.enabled {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delta := p.shift - r.shift
	if p.rate <= 0 {
		r.shift = p.shift
		return 0
	}
	if delta < 0 {
		if p.shared() && p.level(now) < p.margin() {
			// Others share the bucket and this client's queue is not
			// paid for: requests woken together would reach Shopify
			// together, into the others' next requests. The gain is kept
			// to offset later shortfalls.
			return 0
		}
		r.shift = p.shift
		return -time.Duration(-delta / p.refill() * float64(time.Second))
	}
	r.shift = p.shift
	if !p.shared() {
		return secondsToDuration(delta / p.refill())
	}
	absorbed := min(delta, r.slack)
	r.slack -= absorbed
	delta -= absorbed
	if delta <= 0 {
		return 0
	}
	return p.jittered(secondsToDuration(delta / p.refill()))
}

// refillTime is how long the bucket takes to refill from empty at the
// model's rate, or zero while the bucket is unknown.
func (p *pacer) refillTime() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.enabled || p.rate <= 0 {
		return 0
	}
	return secondsToDuration(p.max / p.refill())
}

// changed returns a channel closed when an answer next changes what the
// model got wrong, so that paced requests call adjust.
func (p *pacer) changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.moved
}

// estimate prices a shape not seen yet. The same operation seen with
// another number of list items (nodes(ids:) of 25 IDs after one of 10) is
// scaled by the number of items, since such lists are priced per item. An
// operation never seen is priced at the whole bucket, so its first request
// waits for a full bucket rather than risk a THROTTLED (a request costs
// what it asks for whatever else is known; once per operation, and most
// first requests go out at start-up, when the bucket is full); before the
// bucket is known, at the dearest shape seen. It reports whether the
// operation was seen. Callers hold p.mu.
func (p *pacer) estimate(shape string) (cost float64, opSeen bool) {
	op, items, ok := shapeItems(shape)
	scaled, dearest, sameOp := 0.0, 0.0, false
	for s, c := range p.costs {
		dearest = max(dearest, c)
		sop, sitems, sok := shapeItems(s)
		if sop != op {
			continue
		}
		sameOp = true
		if ok && sok && sitems > 0 {
			scaled = max(scaled, c*float64(items)/float64(sitems))
		} else {
			scaled = max(scaled, c)
		}
	}
	switch {
	case sameOp:
		return scaled, true
	case p.known:
		return p.max, false
	}
	return dearest, false
}

// shapeItems splits a cost shape into the operation name and the number
// of items of its first list variable (see costShape).
func shapeItems(shape string) (op string, items int, ok bool) {
	op, rest, found := strings.Cut(shape, "(")
	if !found {
		return shape, 0, false
	}
	_, after, found := strings.Cut(rest, "#")
	if !found {
		return op, 0, false
	}
	n := 0
	for _, r := range after {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return op, n, true
}

// sent notes what answers had been charged when a request left, so that
// observe can tell what was charged while it was out.
func (p *pacer) sent(r *reservation) {
	if !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r.sent, r.charged = true, p.charged
}

// release returns a reservation whose request was never answered (it was
// not sent, or failed on the way), so its points stop being held.
func (p *pacer) release(r reservation) {
	if !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unreserve(r)
	p.avail += r.cost
}

// unreserve ends a reservation: its points stop being held for a request
// in flight, and a probe's answer (or failure) lets the next request find
// out the bucket. Callers hold p.mu.
func (p *pacer) unreserve(r reservation) {
	if r.probe {
		p.probing = false
	}
	if r.probeOp != "" {
		delete(p.probingOps, r.probeOp)
	}
	p.pending = max(0, p.pending-r.cost)
}

// jittered lengthens d by a random share below p.jitter. Callers hold p.mu.
func (p *pacer) jittered(d time.Duration) time.Duration {
	if p.jitter <= 0 || d <= 0 {
		return d
	}
	return d + time.Duration(p.rng.Float64()*p.jitter*float64(d))
}

// throttled is the wait before resending a request that was answered
// THROTTLED: the bucket's deficit, lengthened by jitter so that processes
// refused together do not come back together. A second refusal within a
// foreign-rate window means another client is drawing on the bucket (one
// alone can be this client's own estimate of a new query's cost): until
// the window measures how much, it is taken to draw an equal share.
func (p *pacer) throttled(d time.Duration, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.enabled && p.known && p.rate > 0 {
		if now.Before(p.refusedUntil) {
			p.foreign = max(p.foreign, p.rate/2)
		}
		p.refusedUntil = now.Add(time.Duration(foreignWindowPoints / p.rate * float64(time.Second)))
	}
	if p.jitter <= 0 {
		return d
	}
	// Even a zero deficit waits a little, or the processes collide again.
	return p.jittered(max(d, 10*time.Millisecond))
}

// refill is the rate the model refills at: restoreRate less what others
// take, but never below half of it. The floor is fairness: the processes
// sharing a bucket are this app's own (each app has its own bucket per
// store), and one paced to what the other leaves would leave it still more
// the slower it went, so one would take the bucket and the other wait out
// its end. With two processes half is the fair share; with more, each
// asking for half overdraws the bucket only until the levels in their
// answers stop them. Callers hold p.mu.
func (p *pacer) refill() float64 {
	return max(p.rate-p.foreign, p.rate/2)
}

// level is the bucket's expected content at now, net of reservations.
// Callers hold p.mu.
func (p *pacer) level(now time.Time) float64 {
	elapsed := max(now.Sub(p.at).Seconds(), 0)
	return min(p.max-p.pending, p.avail+elapsed*p.refill())
}

// observe records the bucket Shopify reported with the answer to a request
// of the given shape, and gives back the request's reservation.
func (p *pacer) observe(shape string, r reservation, c *queryCost, now time.Time) {
	if !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unreserve(r)
	if c == nil {
		p.avail += r.cost
		return
	}
	if c.RequestedQueryCost > 0 {
		p.costs[shape] = c.RequestedQueryCost
	}
	ts := c.ThrottleStatus
	if ts == nil || ts.MaximumAvailable <= 0 {
		p.avail += r.cost
		return
	}
	spent := 0.0
	if c.ActualQueryCost != nil {
		spent = *c.ActualQueryCost
		// A request runs only when its requested cost is there, however
		// little it is then charged.
		p.dearest = max(p.dearest, c.RequestedQueryCost)
	}
	p.learnForeign(ts, spent, now)
	// Answers overtake each other: the level this answer reports may
	// predate the charges of requests answered while it was out, whose
	// reservations are gone, and taking it as it stands would make the
	// model richer than the bucket by those charges and send requests into
	// THROTTLED. Shopify ran some of them before this one, and subtracting
	// those too leaves the model poorer than the bucket until the next
	// answer.
	avail := ts.CurrentlyAvailable - p.pending
	if r.sent {
		avail -= p.charged - r.charged
	}
	p.charged += spent
	if p.known {
		if d := p.level(now) - avail; d != 0 {
			p.shift += d
			close(p.moved)
			p.moved = make(chan struct{})
		}
	}
	if !p.known {
		p.fullStart = ts.CurrentlyAvailable+spent > ts.MaximumAvailable/2
	}
	p.known = true
	p.max = ts.MaximumAvailable
	p.rate = ts.RestoreRate
	p.avail = avail
	p.at = now
}

// learnForeign compares the level an answer reports with what this
// client's own spending since the last answer explains; the shortfall,
// averaged over at least foreignWindow, is what others take. Answers of
// this client's concurrent requests blur single samples either way, so
// negative samples count too and only the average is clamped. Callers hold
// p.mu.
func (p *pacer) learnForeign(ts *throttleStatus, spent float64, now time.Time) {
	if p.known && ts.RestoreRate > 0 {
		dt := max(now.Sub(p.seenAt).Seconds(), 0)
		expected := min(ts.MaximumAvailable, p.seenLevel+dt*ts.RestoreRate) - spent
		p.drift += expected - ts.CurrentlyAvailable
		window := time.Duration(foreignWindowPoints / ts.RestoreRate * float64(time.Second))
		if span := now.Sub(p.driftSince); span >= max(window, 10*time.Millisecond) {
			sample := p.drift / span.Seconds()
			p.foreign = min(max(0.7*p.foreign+0.3*sample, 0), 0.9*ts.RestoreRate)
			p.drift, p.driftSince = 0, now
			p.sampled = true
		}
	} else {
		p.driftSince = now
	}
	p.seenLevel, p.seenAt = ts.CurrentlyAvailable, now
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
