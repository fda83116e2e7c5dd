package creativeaitest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
	"github.com/creativeai-run/catalogvideo/webhook"
)

// A test starts a simulator, talks to it over plain HTTP, and moves the
// render along itself.
func ExampleNewServer() {
	srv := creativeaitest.NewServer(creativeaitest.WithManualRender())
	defer srv.Close()

	body := `{"prompt":"5-second product hero shot, slow camera push","image_url":"https://cdn.example.com/catalog/mug-hero.jpg"}`
	req, _ := http.NewRequest("POST", srv.URL+"/v1/video/generations", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+srv.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var g creativeai.Generation
	if err := json.NewDecoder(resp.Body).Decode(&g); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, g.Status, g.Model, g.Duration, g.AspectRatio)

	if err := srv.Complete(g.ID); err != nil {
		log.Fatal(err)
	}
	done, _ := srv.Generation(g.ID)
	fmt.Println(done.Status, strings.HasPrefix(done.OutputURL, srv.URL+"/outputs/"))
	fmt.Println("renders:", srv.Stats().Renders)
	// Output:
	// 202 pending kling-v3 5s 16:9
	// completed true
	// renders: 1
}

// Server.Client gives a creativeai.Client for the simulator, with retries
// fast enough for tests.
func ExampleServer_Client() {
	srv := creativeaitest.NewServer(creativeaitest.WithRenderTime(time.Millisecond))
	defer srv.Close()
	client := srv.Client()

	ctx := context.Background()
	g, _, err := client.Videos.Create(ctx, &creativeai.VideoRequest{
		Prompt:   "5-second product reveal, gentle rotation",
		ImageURL: "https://cdn.example.com/catalog/shoe-hero.jpg",
	}, creativeai.WithIdempotencyKey("SKU-1002"))
	if err != nil {
		log.Fatal(err)
	}
	done, err := client.Videos.Wait(ctx, g.ID, &creativeai.WaitOptions{Interval: time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(done.Status)
	// Output:
	// completed
}

// Faults make the simulator fail like a real service behind a flaky
// network; Stats shows the client's retries with its Idempotency-Key never
// rendered a row twice.
func ExampleFaults() {
	srv := creativeaitest.NewServer(
		creativeaitest.WithSeed(4),
		creativeaitest.WithFaults(creativeaitest.Faults{Error502AfterCreate: 0.5, Error429: 0.2}),
	)
	defer srv.Close()
	client := srv.Client()

	for _, sku := range []string{"SKU-1001", "SKU-1002", "SKU-1003"} {
		_, _, err := client.Videos.Create(context.Background(), &creativeai.VideoRequest{
			Prompt:   "product hero shot of " + sku,
			ImageURL: "https://cdn.example.com/catalog/" + sku + ".jpg",
		}, creativeai.WithIdempotencyKey(sku))
		if err != nil {
			log.Fatal(err)
		}
	}
	st := srv.Stats()
	fmt.Println("renders:", st.Renders, "duplicates:", st.DuplicateRenders, "faults met:", st.Faults.Total() > 0)
	// Output:
	// renders: 3 duplicates: 0 faults met: true
}

// Webhooks arrive signed with the API key (or WithWebhookSecret): an
// HMAC-SHA256 of the raw body, hex-encoded after "sha256=".
func Example_webhooks() {
	events := make(chan string, 1)
	var secret string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		valid := hmac.Equal([]byte(r.Header.Get("X-CreativeAI-Signature")), []byte("sha256="+hex.EncodeToString(mac.Sum(nil))))
		var g creativeai.Generation
		if err := json.Unmarshal(body, &g); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		events <- fmt.Sprintf("%s %s signature valid: %v", r.Header.Get("X-CreativeAI-Event"), g.Status, valid)
	}))
	defer receiver.Close()

	srv := creativeaitest.NewServer(creativeaitest.WithManualRender(), creativeaitest.WithProcessingEvents(false))
	defer srv.Close()
	secret = srv.WebhookSecret

	g, _, err := srv.Client().Videos.Create(context.Background(), &creativeai.VideoRequest{
		Prompt:     "5-second lifestyle motion",
		ImageURL:   "https://cdn.example.com/catalog/bag-hero.jpg",
		WebhookURL: receiver.URL,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Complete(g.ID); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-events)
	// Output:
	// video.generation.completed completed signature valid: true
}

// With WithStandardWebhooks the deliveries carry the Standard Webhooks
// headers, signed with the decoded key of a "whsec_" secret, so a
// webhook.Verifier given the same secret accepts them.
func ExampleWithStandardWebhooks() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	v, err := webhook.NewVerifier([]string{secret}, webhook.WithSchemes(webhook.SchemeStandard))
	if err != nil {
		log.Fatal(err)
	}
	events := make(chan string, 1)
	h, err := webhook.NewHandler(v, webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event) error {
		events <- fmt.Sprintf("%s %s", e.Type, e.Status)
		return nil
	}), webhook.WithObserver(func(o webhook.DeliveryOutcome) {
		if o.Err != nil {
			events <- o.Err.Error()
		}
	}))
	if err != nil {
		log.Fatal(err)
	}
	receiver := httptest.NewServer(h)
	defer receiver.Close()

	srv := creativeaitest.NewServer(creativeaitest.WithManualRender(), creativeaitest.WithProcessingEvents(false),
		creativeaitest.WithWebhookSecret(secret), creativeaitest.WithStandardWebhooks(true))
	defer srv.Close()
	g, _, err := srv.Client().Videos.Create(context.Background(), &creativeai.VideoRequest{
		Prompt:     "slow push-in",
		ImageURL:   "https://cdn.example.com/catalog/mug-hero.jpg",
		WebhookURL: receiver.URL,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Complete(g.ID); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-events)
	// Output:
	// video.generation.completed completed
}
