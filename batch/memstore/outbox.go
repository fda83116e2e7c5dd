package memstore

import (
	"cmp"
	"container/heap"
	"slices"
	"time"
)

// outbox indexes the completed jobs whose delivery is pending, so that a
// claim, an apply and a delivery record each cost O(s + log n) for n jobs in
// the outbox and s target surfaces, instead of a scan of the outbox.
//
// Each job sits in the queue of its target surface, a binary heap keyed by
// (readyAt, createdAt, key), where readyAt is the first time the job can be
// claimed: its delivery's due time, or the end of its lease when that is
// later. A claim takes the queue heads that are ready, earliest first, and
// re-keys each to its lease's end, so a crashed worker's jobs come back to
// the head of the queue when their leases run out.
type outbox struct {
	entries map[*memJob]*dueEntry
	queues  map[string]*dueQueue // by target surface
}

// dueEntry is a job in the outbox. The lease is kept here because only jobs
// in the outbox are leased, and a job that leaves the outbox loses its lease.
type dueEntry struct {
	m       *memJob
	surface string
	nextAt  time.Time // the delivery's due time (jobs.Job.DeliveryNextAt)
	owner   string    // the lease's owner; empty when not leased
	until   time.Time // the lease's end
	readyAt time.Time // max(nextAt, until): the heap key, then createdAt and key
	// createdAt and key are copies of m's, so that ordering the heap does
	// not chase a pointer per comparison.
	createdAt time.Time
	key       string
	index     int // in the surface's queue
}

func newOutbox() outbox {
	return outbox{entries: make(map[*memJob]*dueEntry), queues: make(map[string]*dueQueue)}
}

// put adds m to the outbox with its delivery due at nextAt for surface, or
// updates its place when it is there already. A lease it holds is kept.
// Every entry is in its surface's queue.
func (o *outbox) put(m *memJob, surface string, nextAt time.Time) {
	e := o.entries[m]
	switch {
	case e == nil:
		e = &dueEntry{m: m}
		o.entries[m] = e
	case e.surface != surface:
		// A restored record may change a job's surface: move it.
		o.unqueue(e)
	default:
		e.nextAt, e.createdAt, e.key = nextAt, m.createdAt, m.key
		e.readyAt = laterOf(nextAt, e.until)
		heap.Fix(o.queues[surface], e.index)
		return
	}
	e.surface, e.nextAt, e.createdAt, e.key = surface, nextAt, m.createdAt, m.key
	e.readyAt = laterOf(nextAt, e.until)
	q := o.queues[surface]
	if q == nil {
		q = &dueQueue{}
		o.queues[surface] = q
	}
	heap.Push(q, e)
}

// remove takes m out of the outbox, with its lease.
func (o *outbox) remove(m *memJob) {
	if e := o.entries[m]; e != nil {
		delete(o.entries, m)
		o.unqueue(e)
	}
}

// unqueue takes e out of its surface's queue, and drops the queue when it
// is left empty.
func (o *outbox) unqueue(e *dueEntry) {
	q := o.queues[e.surface]
	heap.Remove(q, e.index)
	if len(*q) == 0 {
		delete(o.queues, e.surface)
	}
}

// owner returns the owner of m's lease, empty when m is not leased or not
// in the outbox.
func (o *outbox) owner(m *memJob) string {
	if e := o.entries[m]; e != nil {
		return e.owner
	}
	return ""
}

// lease grants m's lease to owner until until, or ends it when owner is
// empty; a job not in the outbox is left alone.
func (o *outbox) lease(m *memJob, owner string, until time.Time) {
	e := o.entries[m]
	if e == nil {
		return
	}
	if owner == "" {
		until = time.Time{}
	}
	e.owner, e.until = owner, until
	e.readyAt = laterOf(e.nextAt, until)
	heap.Fix(o.queues[e.surface], e.index)
}

// release ends m's lease: the job is ready again at its due time.
func (o *outbox) release(m *memJob) { o.lease(m, "", time.Time{}) }

// leases returns the leases held, by key.
func (o *outbox) leases() []Lease {
	var out []Lease
	for _, e := range o.entries {
		if e.owner != "" {
			out = append(out, Lease{Key: e.key, Owner: e.owner, Until: e.until})
		}
	}
	slices.SortFunc(out, func(a, b Lease) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// claim leases up to limit jobs ready at now to owner until until, earliest
// ready first, from the queues of surfaces (every queue when surfaces is
// empty), and returns them.
func (o *outbox) claim(now time.Time, limit int, surfaces []string, owner string, until time.Time) []*memJob {
	var queues []*dueQueue
	if len(surfaces) == 0 {
		for _, q := range o.queues {
			queues = append(queues, q)
		}
	} else {
		for _, s := range slices.Compact(slices.Sorted(slices.Values(surfaces))) {
			if q := o.queues[s]; q != nil {
				queues = append(queues, q)
			}
		}
	}
	var claimed []*memJob
	for range limit {
		var best *dueQueue
		for _, q := range queues {
			if len(*q) > 0 && !(*q)[0].readyAt.After(now) && (best == nil || q.less((*q)[0], (*best)[0])) {
				best = q
			}
		}
		if best == nil {
			break
		}
		e := (*best)[0]
		o.lease(e.m, owner, until)
		claimed = append(claimed, e.m)
	}
	return claimed
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// dueQueue is a binary heap of outbox entries (container/heap), earliest
// ready first; ties go to the job tracked first, then to the lesser key.
type dueQueue []*dueEntry

func (q dueQueue) Len() int { return len(q) }

func (q dueQueue) less(a, b *dueEntry) bool {
	return cmp.Or(a.readyAt.Compare(b.readyAt), a.createdAt.Compare(b.createdAt), cmp.Compare(a.key, b.key)) < 0
}

func (q dueQueue) Less(i, j int) bool { return q.less(q[i], q[j]) }

func (q dueQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}

func (q *dueQueue) Push(x any) {
	e := x.(*dueEntry)
	e.index = len(*q)
	*q = append(*q, e)
}

func (q *dueQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	e.index = -1
	return e
}
