package creativeaitest

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/webhook"
)

// verifyingReceiver is a receiver built from package webhook, as users
// build theirs: what it accepts is what a real receiver accepts.
type verifyingReceiver struct {
	*httptest.Server
	events   chan *webhook.Event
	mu       sync.Mutex
	outcomes []webhook.DeliveryOutcome
}

func newVerifyingReceiver(t *testing.T, secret string, scheme webhook.Scheme) *verifyingReceiver {
	t.Helper()
	v, err := webhook.NewVerifier([]string{secret}, webhook.WithSchemes(scheme))
	if err != nil {
		t.Fatal(err)
	}
	rc := &verifyingReceiver{events: make(chan *webhook.Event, 100)}
	h, err := webhook.NewHandler(v, webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event) error {
		rc.events <- e
		return nil
	}), webhook.WithLogger(nil), webhook.WithObserver(func(o webhook.DeliveryOutcome) {
		rc.mu.Lock()
		rc.outcomes = append(rc.outcomes, o)
		rc.mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	rc.Server = httptest.NewServer(h)
	t.Cleanup(rc.Close)
	return rc
}

// TestWebhooksVerifyWithWebhookPackage: whatever the secret's form and the
// scheme, a verifier configured with the simulator's secret accepts every
// delivery. Before the simulator derived keys as the verifier does, a
// "whsec_" secret produced deliveries every verifier refused.
func TestWebhooksVerifyWithWebhookPackage(t *testing.T) {
	whsec := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a Standard Webhooks key, 32 B.."))
	for _, tc := range []struct {
		name     string
		secret   string // "" means the default, the API key
		standard bool
	}{
		{"CreativeAI, API key", "", false},
		{"CreativeAI, whsec_", whsec, false},
		{"CreativeAI, plain secret", "rph_plain_signing_secret", false},
		{"Standard Webhooks, whsec_", whsec, true},
		{"Standard Webhooks, API key", "", true},
		{"Standard Webhooks, unpadded whsec_", "whsec_" + base64.RawStdEncoding.EncodeToString([]byte("seventeen bytes!!")), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []Option{WithManualRender(), WithStandardWebhooks(tc.standard), WithWebhookRetries(0, 0)}
			if tc.secret != "" {
				opts = append(opts, WithWebhookSecret(tc.secret))
			}
			s := newTestServer(t, opts...)
			scheme := webhook.SchemeCreativeAI
			if tc.standard {
				scheme = webhook.SchemeStandard
			}
			rc := newVerifyingReceiver(t, s.WebhookSecret, scheme)

			g := create(t, s, withWebhook(createBody("verified"), rc.URL), "")
			if _, err := s.Advance(g.ID); err != nil {
				t.Fatal(err)
			}
			if err := s.Complete(g.ID); err != nil {
				t.Fatal(err)
			}
			waitIdle(t, s)
			if st := s.Stats(); st.Deliveries != 2 || st.DeliveriesSucceeded != 2 {
				rc.mu.Lock()
				t.Fatalf("stats = %+v; receiver saw %+v", st, rc.outcomes)
			}
			got := map[creativeai.Status]*webhook.Event{}
			for range 2 {
				e := <-rc.events
				got[e.Status] = e
			}
			c := got[creativeai.StatusCompleted]
			if c == nil || c.ID != g.ID || c.Type != "video.generation.completed" || c.DeliveryID == "" || got[creativeai.StatusProcessing] == nil {
				t.Errorf("events = %+v", got)
			}
			rc.mu.Lock()
			defer rc.mu.Unlock()
			for _, o := range rc.outcomes {
				if o.Scheme != scheme {
					t.Errorf("delivery checked by %q, want %q", o.Scheme, scheme)
				}
			}
		})
	}
}

// TestStandardWebhooksHeaders pins the Standard Webhooks headers: webhook-id
// is the delivery id and stays the same on retries, webhook-timestamp is
// the attempt's time, and the CreativeAI signature is not sent.
func TestStandardWebhooksHeaders(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if calls++; calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	s := newTestServer(t, WithManualRender(), WithProcessingEvents(false), WithStandardWebhooks(true), WithWebhookRetries(1, time.Millisecond))
	v, err := webhook.NewVerifier([]string{s.WebhookSecret}, webhook.WithSchemes(webhook.SchemeStandard))
	if err != nil {
		t.Fatal(err)
	}
	g := create(t, s, withWebhook(createBody("standard"), rc.URL), "")
	before := time.Now().Unix()
	if err := s.Complete(g.ID); err != nil {
		t.Fatal(err)
	}
	first, retry := rc.next(t), rc.next(t)
	after := time.Now().Unix()
	for _, r := range []received{first, retry} {
		if sig := r.header.Get(webhook.HeaderSignature); sig != "" {
			t.Errorf("%s sent beside Standard Webhooks headers: %q", webhook.HeaderSignature, sig)
		}
		id := r.header.Get(webhook.HeaderWebhookID)
		if id == "" || id != r.header.Get(webhook.HeaderDeliveryID) {
			t.Errorf("webhook-id = %q, want the delivery id %q", id, r.header.Get(webhook.HeaderDeliveryID))
		}
		ts, err := strconv.ParseInt(r.header.Get(webhook.HeaderWebhookTimestamp), 10, 64)
		if err != nil || ts < before || ts > after {
			t.Errorf("webhook-timestamp = %q, want the attempt's Unix time in [%d, %d]", r.header.Get(webhook.HeaderWebhookTimestamp), before, after)
		}
		if err := v.Verify(r.header, r.body); err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
	if first.header.Get(webhook.HeaderWebhookID) != retry.header.Get(webhook.HeaderWebhookID) {
		t.Errorf("retry has webhook-id %q, first attempt %q", retry.header.Get(webhook.HeaderWebhookID), first.header.Get(webhook.HeaderWebhookID))
	}
	// A receiver keyed otherwise refuses the delivery.
	other, err := webhook.NewVerifier([]string{"whsec_" + base64.StdEncoding.EncodeToString([]byte("not the simulator's key"))})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Verify(first.header, first.body); !errors.Is(err, webhook.ErrNoMatchingSignature) {
		t.Errorf("Verify with another secret: %v, want ErrNoMatchingSignature", err)
	}
	waitIdle(t, s)
}

// TestNilOptionSkipped: a nil Option is skipped, as in every constructor of
// the SDK.
func TestNilOptionSkipped(t *testing.T) {
	s := newTestServer(t, nil, WithAPIKey("rph_test_nil_option"), nil)
	if s.APIKey != "rph_test_nil_option" {
		t.Errorf("APIKey = %q; options after a nil one were not applied", s.APIKey)
	}
}
