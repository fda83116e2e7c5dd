package creativeaitest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// received is one webhook request as the receiver saw it.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint that records what it receives.
type receiver struct {
	*httptest.Server
	got chan received
}

// newReceiver starts an endpoint that records every request, then lets
// answer reply (200 when answer is nil).
func newReceiver(t *testing.T, answer http.HandlerFunc) *receiver {
	t.Helper()
	rc := &receiver{got: make(chan received, 1000)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		rc.got <- received{header: r.Header.Clone(), body: b}
		if answer != nil {
			answer(w, r)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

// next returns the next request received.
func (rc *receiver) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-rc.got:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook arrived")
		return received{}
	}
}

// drain returns what has been received so far without waiting.
func (rc *receiver) drain() []received {
	var out []received
	for {
		select {
		case r := <-rc.got:
			out = append(out, r)
		default:
			return out
		}
	}
}

func hmacHex(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// checkSigned asserts a delivery carries the service's headers and a
// signature of its raw body with secret, and returns its generation.
func checkSigned(t *testing.T, r received, secret, event string) creativeai.Generation {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if ev := r.header.Get("X-CreativeAI-Event"); ev != event {
		t.Errorf("X-CreativeAI-Event = %q, want %q", ev, event)
	}
	if id := r.header.Get("X-CreativeAI-Delivery-Id"); !strings.HasPrefix(id, "whd_") {
		t.Errorf("X-CreativeAI-Delivery-Id = %q, want whd_…", id)
	}
	sig, ok := strings.CutPrefix(r.header.Get("X-CreativeAI-Signature"), "sha256=")
	if !ok || !hmac.Equal([]byte(sig), []byte(hmacHex(secret, r.body))) {
		t.Errorf("X-CreativeAI-Signature = %q does not sign the body with the secret", r.header.Get("X-CreativeAI-Signature"))
	}
	var g creativeai.Generation
	if err := json.Unmarshal(r.body, &g); err != nil {
		t.Fatalf("webhook body %s: %v", r.body, err)
	}
	if g.Object != "video.generation" {
		t.Errorf("object = %q", g.Object)
	}
	return g
}

func withWebhook(body map[string]any, url string) map[string]any {
	body["webhook_url"] = url
	return body
}

func TestWebhookLifecycleSignedWithAPIKey(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newTestServer(t, WithManualRender())
	g := create(t, s, withWebhook(createBody("signed"), rc.URL), "")

	if _, err := s.Advance(g.ID); err != nil {
		t.Fatal(err)
	}
	p := checkSigned(t, rc.next(t), s.APIKey, "video.generation.processing")
	if p.ID != g.ID || p.Status != creativeai.StatusProcessing || p.OutputURL != "" {
		t.Errorf("processing event = %+v", p)
	}
	if _, err := s.Advance(g.ID); err != nil {
		t.Fatal(err)
	}
	c := checkSigned(t, rc.next(t), s.APIKey, "video.generation.completed")
	if c.ID != g.ID || c.Status != creativeai.StatusCompleted || c.OutputURL == "" || c.CompletedAt.IsZero() || c.Prompt != "signed" {
		t.Errorf("completed event = %+v", c)
	}
	waitIdle(t, s)
	if st := s.Stats(); st.Deliveries != 2 || st.DeliveriesSucceeded != 2 || st.DeliveryFailures != 0 {
		t.Errorf("stats = %+v, want 2 deliveries, both succeeded", st)
	}
}

func TestWebhookSecretAndFailedEvent(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newTestServer(t, WithManualRender(), WithWebhookSecret("rph_rotated_signing_secret"), WithProcessingEvents(false))
	if s.WebhookSecret != "rph_rotated_signing_secret" {
		t.Fatalf("WebhookSecret = %q", s.WebhookSecret)
	}
	g := create(t, s, withWebhook(createBody("fails"), rc.URL), "")
	if _, err := s.Advance(g.ID); err != nil { // processing: no event
		t.Fatal(err)
	}
	if err := s.Fail(g.ID, "provider exploded"); err != nil {
		t.Fatal(err)
	}
	r := rc.next(t)
	f := checkSigned(t, r, "rph_rotated_signing_secret", "video.generation.failed")
	if f.Status != creativeai.StatusFailed || f.Error != "provider exploded" {
		t.Errorf("failed event = %+v", f)
	}
	if hmacHex(s.APIKey, r.body) == strings.TrimPrefix(r.header.Get("X-CreativeAI-Signature"), "sha256=") {
		t.Error("signed with the API key despite WithWebhookSecret")
	}
	waitIdle(t, s)
	if extra := rc.drain(); len(extra) != 0 {
		t.Errorf("%d more deliveries; processing events were off", len(extra))
	}
}

func TestWebhookRetriedUntilAccepted(t *testing.T) {
	var calls atomic.Int32
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			dropConnection(w)
		}
	})
	s := newTestServer(t, WithManualRender(), WithProcessingEvents(false), WithWebhookRetries(3, time.Millisecond))
	g := create(t, s, withWebhook(createBody("retried"), rc.URL), "")
	if err := s.Complete(g.ID); err != nil {
		t.Fatal(err)
	}
	first := rc.next(t)
	for range 2 {
		again := rc.next(t)
		if again.header.Get("X-CreativeAI-Delivery-Id") != first.header.Get("X-CreativeAI-Delivery-Id") || string(again.body) != string(first.body) {
			t.Errorf("retry differs from the first attempt: %q %s vs %q %s",
				again.header.Get("X-CreativeAI-Delivery-Id"), again.body, first.header.Get("X-CreativeAI-Delivery-Id"), first.body)
		}
	}
	waitIdle(t, s)
	st := s.Stats()
	if st.Deliveries != 3 || st.DeliveryFailures != 2 || st.DeliveriesSucceeded != 1 || st.DeliveriesAbandoned != 0 || st.DeliveriesPending != 0 {
		t.Errorf("stats = %+v, want 3 attempts: 2 failed, then 1 succeeded", st)
	}
}

func TestWebhookAbandonedAfterLastRetry(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	})
	s := newTestServer(t, WithManualRender(), WithProcessingEvents(false), WithWebhookRetrySchedule(0, time.Millisecond))
	g := create(t, s, withWebhook(createBody("abandoned"), rc.URL), "")
	if err := s.Complete(g.ID); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	if n := len(rc.drain()); n != 3 {
		t.Errorf("receiver saw %d attempts, want 3 (1 + 2 retries)", n)
	}
	if st := s.Stats(); st.Deliveries != 3 || st.DeliveryFailures != 3 || st.DeliveriesAbandoned != 1 {
		t.Errorf("stats = %+v, want 3 failed attempts and 1 abandoned event", st)
	}
}

func TestWebhookDuplicates(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newTestServer(t, WithManualRender(), WithWebhookDuplicates(1))
	g := create(t, s, withWebhook(createBody("twice"), rc.URL), "")
	for range 2 {
		if _, err := s.Advance(g.ID); err != nil {
			t.Fatal(err)
		}
	}
	waitIdle(t, s)
	byID := map[string][]string{}
	for _, r := range rc.drain() {
		id := r.header.Get("X-CreativeAI-Delivery-Id")
		byID[id] = append(byID[id], string(r.body))
	}
	if len(byID) != 2 {
		t.Fatalf("got %d distinct delivery ids, want 2 (processing, completed): %v", len(byID), byID)
	}
	for id, bodies := range byID {
		if len(bodies) != 2 || bodies[0] != bodies[1] {
			t.Errorf("delivery %s arrived %d times (%q), want twice with the same body", id, len(bodies), bodies)
		}
	}
	if st := s.Stats(); st.DuplicateDeliveries != 2 || st.Deliveries != 4 {
		t.Errorf("stats = %+v, want 2 duplicates of 2 events", st)
	}
}

func TestWebhookReorderDeliversProcessingLast(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newTestServer(t, WithManualRender(), WithWebhookReorder(true))
	g := create(t, s, withWebhook(createBody("late"), rc.URL), "")
	if _, err := s.Advance(g.ID); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	if got := rc.drain(); len(got) != 0 {
		t.Fatalf("processing event delivered before the terminal one: %s", got[0].body)
	}
	if _, err := s.Advance(g.ID); err != nil {
		t.Fatal(err)
	}
	checkSigned(t, rc.next(t), s.APIKey, "video.generation.completed")
	late := checkSigned(t, rc.next(t), s.APIKey, "video.generation.processing")
	if late.Status != creativeai.StatusProcessing {
		t.Errorf("late event status = %q", late.Status)
	}
	if st := s.Stats(); st.ReorderedDeliveries != 1 {
		t.Errorf("ReorderedDeliveries = %d, want 1", st.ReorderedDeliveries)
	}
}

func TestWebhookConcurrencyIsBounded(t *testing.T) {
	const limit, events = 2, 12
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	arrived := make(chan struct{}, events)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		arrived <- struct{}{}
		<-release
		inFlight.Add(-1)
	})
	s := newTestServer(t, WithManualRender(), WithProcessingEvents(false), WithWebhookConcurrency(limit))
	for i := range events {
		g := create(t, s, withWebhook(createBody(strings.Repeat("x", i+1)), rc.URL), "")
		if err := s.Complete(g.ID); err != nil {
			t.Fatal(err)
		}
	}
	for range limit {
		<-arrived
	}
	if st := s.Stats(); st.DeliveriesPending != events {
		t.Errorf("DeliveriesPending = %d, want %d", st.DeliveriesPending, events)
	}
	close(release)
	waitIdle(t, s)
	if p := peak.Load(); p > limit {
		t.Errorf("%d deliveries in flight at once, want at most %d", p, limit)
	}
	if st := s.Stats(); st.DeliveriesSucceeded != events {
		t.Errorf("DeliveriesSucceeded = %d, want %d", st.DeliveriesSucceeded, events)
	}
}

// TestWebhooksUnderLoad sends the events of many timed renders through a
// receiver that refuses the first attempt of every third delivery, with
// duplicates and reordering, and checks that every generation's terminal
// event arrived under exactly one delivery id and that none was abandoned.
func TestWebhooksUnderLoad(t *testing.T) {
	var mu sync.Mutex
	attempts := map[string]int{}
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-CreativeAI-Delivery-Id")
		mu.Lock()
		attempts[id]++
		first := attempts[id] == 1
		mu.Unlock()
		if first && id[len(id)-1]%3 == 0 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	s := newTestServer(t, WithSeed(3), WithRenderTime(2*time.Millisecond), WithFailureRate(0.2),
		WithWebhookRetries(2, time.Millisecond), WithWebhookDuplicates(0.3), WithWebhookReorder(true))
	const renders = 100
	for i := range renders {
		create(t, s, withWebhook(createBody(strings.Repeat("y", i+1)), rc.URL), "")
	}
	waitIdle(t, s)
	terminal := map[string]map[string]bool{}
	for _, r := range rc.drain() {
		var g creativeai.Generation
		if err := json.Unmarshal(r.body, &g); err != nil {
			t.Fatal(err)
		}
		if g.Status.Terminal() {
			if terminal[g.ID] == nil {
				terminal[g.ID] = map[string]bool{}
			}
			terminal[g.ID][r.header.Get("X-CreativeAI-Delivery-Id")] = true
		}
	}
	if len(terminal) != renders {
		t.Errorf("terminal events for %d generations, want %d", len(terminal), renders)
	}
	for id, ids := range terminal {
		if len(ids) != 1 {
			t.Errorf("generation %s: %d distinct terminal delivery ids", id, len(ids))
		}
	}
	st := s.Stats()
	if st.DeliveriesAbandoned != 0 || st.DeliveryFailures == 0 || st.Deliveries != st.DeliveriesSucceeded+st.DeliveryFailures ||
		st.Completed+st.Failed != renders || st.ReorderedDeliveries != renders {
		t.Errorf("deliveries %d = %d succeeded + %d failed, %d abandoned, %d reordered; %d completed + %d failed renders of %d",
			st.Deliveries, st.DeliveriesSucceeded, st.DeliveryFailures, st.DeliveriesAbandoned, st.ReorderedDeliveries, st.Completed, st.Failed, renders)
	}
}
