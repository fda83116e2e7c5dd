package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/webhook"
)

// The handler mounted in a program's existing mux, next to its other routes.
func Example() {
	const secret = "my-webhook-secret" // CREATIVEAI_WEBHOOK_SECRET in production

	v, err := webhook.NewVerifier([]string{secret})
	if err != nil {
		fmt.Println(err)
		return
	}
	// A real program applies the event to its job store here.
	store := webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event) error {
		fmt.Printf("stored %s: %s %s\n", e.ID, e.Status, e.OutputURL)
		return nil
	})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	h, err := webhook.NewHandler(v, store, webhook.WithLogger(nil))
	if err != nil {
		fmt.Println(err)
		return
	}
	mux.Handle("/webhooks/creativeai", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	post := func(p *webhook.SignedPayload) {
		req, err := p.NewRequest(context.Background(), srv.URL+"/webhooks/creativeai")
		if err != nil {
			fmt.Println(err)
			return
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	}

	// A delivery as the render service sends it.
	p, err := webhook.GenerateTestSignedPayload(&webhook.TestPayload{
		Secret: secret,
		Generation: creativeai.Generation{
			ID: "vgen_abc123", Status: creativeai.StatusCompleted,
			OutputURL: "https://cdn.creativeai.run/output/video-abc123.mp4",
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	post(p)

	// The same body signed with a secret the receiver does not know.
	forged := &webhook.SignedPayload{Body: p.Body, Header: p.Header.Clone()}
	forged.Header.Set(webhook.HeaderSignature, webhook.Sign("guessed-secret", p.Body))
	post(forged)

	// The program's other routes are untouched.
	resp, err := srv.Client().Get(srv.URL + "/healthz")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	health, _ := io.ReadAll(resp.Body)
	fmt.Println("healthz:", resp.StatusCode, string(health))

	// Output:
	// stored vgen_abc123: completed https://cdn.creativeai.run/output/video-abc123.mp4
	// 200 {"ok":true}
	// 401 {"ok":false,"error":"invalid signature"}
	// healthz: 200 ok
}

// Signing a body as the sender does, and verifying it.
func ExampleSign() {
	const secret = "rph_live_example_signing_secret"
	body := []byte(`{"id":"vgen_abc123","status":"completed"}`)
	sig := webhook.Sign(secret, body)
	fmt.Println(sig)

	v, err := webhook.NewVerifier([]string{secret})
	if err != nil {
		fmt.Println(err)
		return
	}
	h := http.Header{}
	h.Set(webhook.HeaderSignature, sig)
	fmt.Println("genuine:", v.Verify(h, body))
	fmt.Println("tampered:", errors.Is(v.Verify(h, append(body, '!')), webhook.ErrNoMatchingSignature))
	// Output:
	// sha256=bbc9519f659282e65edde2c529dce3c78ebddd555100eec7b5849765a39c1774
	// genuine: <nil>
	// tampered: true
}

// Standard Webhooks signatures carry a timestamp; a verifier refuses one
// outside its tolerance, which stops old deliveries from being replayed.
// Two secrets are configured while the sender rotates from one to the other.
func ExampleVerifier_Verify() {
	const oldSecret, newSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_bmV3LXNlY3JldC1rZXktYnl0ZXM="
	body := []byte(`{"id":"vgen_abc123","status":"completed"}`)
	sent := time.Date(2026, 3, 11, 8, 44, 3, 0, time.UTC)
	h := webhook.SignStandard(newSecret, "msg_1", sent, body)

	for _, now := range []time.Time{sent.Add(time.Minute), sent.Add(10 * time.Minute)} {
		v, err := webhook.NewVerifier([]string{oldSecret, newSecret}, webhook.WithClock(webhook.ClockFunc(func() time.Time { return now })))
		if err != nil {
			fmt.Println(err)
			return
		}
		err = v.Verify(h, body)
		fmt.Printf("%v later: %v (too old: %t)\n", now.Sub(sent), err, errors.Is(err, webhook.ErrTimestampTooOld))
	}
	// Output:
	// 1m0s later: <nil> (too old: false)
	// 10m0s later: webhook: timestamp too old: webhook-timestamp 1773218643 is 10m0s before now, beyond the 5m0s tolerance (too old: true)
}

// Testing a receiver in process with a signed delivery.
func ExampleGenerateTestSignedPayload() {
	const secret = "rph_test_receiver_secret"
	v, err := webhook.NewVerifier([]string{secret})
	if err != nil {
		fmt.Println(err)
		return
	}
	h, err := webhook.NewHandler(v, webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event) error {
		fmt.Println("event:", e.Type, e.DeliveryID, e.ID, e.Status)
		return nil
	}), webhook.WithLogger(nil))
	if err != nil {
		fmt.Println(err)
		return
	}

	p, err := webhook.GenerateTestSignedPayload(&webhook.TestPayload{
		Secret:     secret,
		DeliveryID: "dlv_1",
		Generation: creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusFailed, Error: "provider timeout"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	req, _ := p.NewRequest(context.Background(), "/webhooks/creativeai")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	// Output:
	// event: video.generation.failed dlv_1 vgen_1 failed
	// 200 {"ok":true}
}

// NewVerifier refuses, at start-up, secrets that could never match what a
// sender signs with, saying what is wrong.
func ExampleNewVerifier() {
	for _, secret := range []string{
		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", // a signature, pasted by mistake
		"whsec_YWJj", // a truncated Standard Webhooks secret
		"Jefe",       // a password, not a signing secret
	} {
		_, err := webhook.NewVerifier([]string{secret})
		fmt.Println(errors.Is(err, webhook.ErrInvalidSecret), err)
	}
	// Output:
	// true webhook: NewVerifier: secret 1 of 1: invalid signing secret: starts with "v1,", as a webhook-signature value does; that is a signature, not the secret: configure the signing secret itself (a Standard Webhooks secret starts with "whsec_")
	// true webhook: NewVerifier: secret 1 of 1: invalid signing secret: the key after "whsec_" decodes to 3 bytes, fewer than 16; the secret is truncated: copy the whole secret the sender shows
	// true webhook: NewVerifier: secret 1 of 1: invalid signing secret: 4 bytes long, fewer than 16, so it could be guessed; use the secret the sender generated (or the API key, which the service signs with by default)
}
