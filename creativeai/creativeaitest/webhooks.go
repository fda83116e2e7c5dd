package creativeaitest

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/internal/signing"
)

// webhookUserAgent tells receivers' logs where a delivery came from.
const webhookUserAgent = "CreativeAI-Webhooks (creativeaitest)"

// maxWebhookAnswer bounds how much of a receiver's answer is read before the
// connection is reused.
const maxWebhookAnswer = 64 << 10

// delivery is one webhook event on its way to a receiver.
type delivery struct {
	url   string
	body  []byte
	event string
	id    string // X-CreativeAI-Delivery-Id: one per event, kept on retries
	dup   bool   // send a second copy
	then  *delivery

	attempts int
	due      time.Time
	seq      uint64 // tie-break, so equal due times go out in queue order
}

// notifyLocked queues the webhook for g's new status, if it has a receiver.
func (s *Server) notifyLocked(g *generation) {
	st := g.gen.Status
	if g.webhookURL == "" || (st == creativeai.StatusProcessing && !s.cfg.processingEvents) {
		return
	}
	body, err := json.Marshal(g.gen)
	if err != nil {
		panic("creativeaitest: encoding webhook: " + err.Error())
	}
	d := &delivery{
		url:   g.webhookURL,
		body:  body,
		event: "video.generation." + string(st),
		id:    s.newID("whd_", "delivery", g.gen.ID, string(st)),
	}
	d.dup = s.chance(s.cfg.webhookDuplicates, "duplicate", d.id)
	if st == creativeai.StatusProcessing && s.cfg.webhookReorder {
		g.held = d
		s.hooks.countReordered()
		return
	}
	if st.Terminal() {
		d.then, g.held = g.held, nil
	}
	s.hooks.enqueue(d)
}

// webhookKey derives the HMAC key of secret as webhook.NewVerifier does. A
// "whsec_" secret that does not decode can only be the API key (an explicit
// secret was checked by WithWebhookSecret); like webhook.Sign, it signs with
// its bytes.
func webhookKey(secret string) []byte {
	if key, err := signing.Key(secret); err == nil {
		return key
	}
	return []byte(secret)
}

// signDelivery sets the signature headers of one attempt to send body.
func (d *dispatcher) signDelivery(h http.Header, id string, body []byte, now time.Time) {
	if !d.standard {
		h.Set(signing.HeaderSignature, signing.CreativeAI(d.key, body))
		return
	}
	h.Set(signing.HeaderWebhookID, id)
	h.Set(signing.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(signing.HeaderWebhookSignature, signing.Standard(d.key, id, now.Unix(), body))
}

// dispatcher sends webhooks from a fixed pool of workers. Deliveries wait in
// a queue ordered by due time, so retries wait their backoff without holding
// a goroutine.
type dispatcher struct {
	activity  *activity
	client    *http.Client
	ownClient bool
	key       []byte // HMAC key, derived from the webhook secret
	standard  bool   // sign as Standard Webhooks
	retries   []time.Duration
	timeout   time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{} // buffered: a queued delivery may be due earlier
	work   chan *delivery

	mu      sync.Mutex
	closed  bool
	queue   deliveryQueue
	seq     uint64
	pending int   // deliveries queued, waiting for a retry, or in flight
	stats   Stats // only the delivery counters are used
}

func newDispatcher(s *Server) *dispatcher {
	d := &dispatcher{
		activity: s.activity,
		client:   s.cfg.webhookClient,
		key:      webhookKey(s.cfg.webhookSecret),
		standard: s.cfg.standardWebhooks,
		retries:  s.cfg.webhookRetries,
		timeout:  s.cfg.webhookTimeout,
		wake:     make(chan struct{}, 1),
		work:     make(chan *delivery),
	}
	if d.client == nil {
		d.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		d.ownClient = true
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.wg.Add(1 + s.cfg.webhookConcurrency)
	go d.run()
	for range s.cfg.webhookConcurrency {
		go d.worker()
	}
	return d
}

// enqueue queues a new event for immediate delivery.
func (d *dispatcher) enqueue(e *delivery) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.startLocked(e)
}

// startLocked queues a new event, and its duplicate if it has one.
func (d *dispatcher) startLocked(e *delivery) {
	if d.closed {
		return
	}
	copies := []*delivery{e}
	if e.dup {
		cp := *e
		cp.dup, cp.then = false, nil
		d.stats.DuplicateDeliveries++
		copies = append(copies, &cp)
	}
	for _, c := range copies {
		d.pending++
		d.activity.add(1)
		d.pushLocked(c, time.Now())
	}
}

// endLocked records that e will not be attempted again and releases the
// event held back for after it.
func (d *dispatcher) endLocked(e *delivery) {
	if next := e.then; next != nil {
		e.then = nil
		d.startLocked(next)
	}
	d.pending--
	d.activity.add(-1)
}

func (d *dispatcher) pushLocked(e *delivery, due time.Time) {
	d.seq++
	e.due, e.seq = due, d.seq
	heap.Push(&d.queue, e)
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *dispatcher) countReordered() {
	d.mu.Lock()
	d.stats.ReorderedDeliveries++
	d.mu.Unlock()
}

// run hands due deliveries to the workers and sleeps until the next one is
// due or a new one arrives.
func (d *dispatcher) run() {
	defer d.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		d.mu.Lock()
		var next *delivery
		wait := time.Duration(-1)
		if len(d.queue) > 0 {
			if w := time.Until(d.queue[0].due); w <= 0 {
				next = heap.Pop(&d.queue).(*delivery)
			} else {
				wait = w
			}
		}
		d.mu.Unlock()
		if next != nil {
			select {
			case d.work <- next:
			case <-d.ctx.Done():
				return
			}
			continue
		}
		var fire <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-d.wake:
		case <-fire:
		case <-d.ctx.Done():
			timer.Stop()
			return
		}
		timer.Stop()
	}
}

func (d *dispatcher) worker() {
	defer d.wg.Done()
	for {
		select {
		case e := <-d.work:
			d.deliver(e)
		case <-d.ctx.Done():
			return
		}
	}
}

// deliver makes one attempt and decides what follows it.
func (d *dispatcher) deliver(e *delivery) {
	ok := d.attempt(e)
	d.mu.Lock()
	defer d.mu.Unlock()
	e.attempts++
	d.stats.Deliveries++
	if ok {
		d.stats.DeliveriesSucceeded++
	} else {
		d.stats.DeliveryFailures++
	}
	switch {
	case d.closed:
		return // Close dropped everything else
	case ok:
	case e.attempts <= len(d.retries):
		d.pushLocked(e, time.Now().Add(d.retries[e.attempts-1]))
		return
	default:
		d.stats.DeliveriesAbandoned++
	}
	d.endLocked(e)
}

// attempt POSTs e once and reports whether the receiver answered 2xx.
func (d *dispatcher) attempt(e *delivery) bool {
	ctx, cancel := context.WithTimeout(d.ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(e.body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", webhookUserAgent)
	req.Header.Set(signing.HeaderEvent, e.event)
	req.Header.Set(signing.HeaderDeliveryID, e.id)
	d.signDelivery(req.Header, e.id, e.body, time.Now())
	resp, err := d.client.Do(req)
	if err != nil {
		return false
	}
	// Drain a little so the connection can be reused; a receiver that
	// sends more is not waited for.
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxWebhookAnswer))
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// close cancels deliveries in flight, drops the queue and waits for the
// dispatcher's goroutines.
func (d *dispatcher) close() {
	d.mu.Lock()
	d.closed = true
	d.queue = nil
	d.pending = 0
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
	if d.ownClient {
		d.client.CloseIdleConnections()
	}
}

// addStats adds the delivery counters to st.
func (d *dispatcher) addStats(st *Stats) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st.Deliveries = d.stats.Deliveries
	st.DeliveriesSucceeded = d.stats.DeliveriesSucceeded
	st.DeliveryFailures = d.stats.DeliveryFailures
	st.DeliveriesAbandoned = d.stats.DeliveriesAbandoned
	st.DuplicateDeliveries = d.stats.DuplicateDeliveries
	st.ReorderedDeliveries = d.stats.ReorderedDeliveries
	st.DeliveriesPending = d.pending
}

// deliveryQueue is a min-heap of deliveries by due time.
type deliveryQueue []*delivery

func (q deliveryQueue) Len() int { return len(q) }
func (q deliveryQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}
func (q deliveryQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *deliveryQueue) Push(x any)   { *q = append(*q, x.(*delivery)) }
func (q *deliveryQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}
