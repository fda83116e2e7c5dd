package consolemetrics_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/console"
	"github.com/creativeai-run/catalogvideo/batch/console/consolemetrics"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

func TestMetricsBehindTheConsole(t *testing.T) {
	store := memstore.New()
	for i, j := range []jobs.Job{
		{Key: "a", SKU: "A", Status: jobs.StatusPending},
		{Key: "b", SKU: "B", Status: jobs.StatusCompleted, GenerationID: "g1", Delivery: jobs.DeliveryDelivered, TargetSurface: "shopify-pdp"},
		{Key: "c", SKU: "C", Status: jobs.StatusFailed, GenerationID: "g2", PreviousGenerationIDs: []string{"g0"}, StillURL: "https://x/s.png"},
		{Key: "d", SKU: "D", Status: jobs.StatusCompleted, GenerationID: "g3", Delivery: jobs.DeliveryAwaitingReview, TargetSurface: "shopify-pdp"},
	} {
		if err := store.Restore(memstore.Record{Job: &j}); err != nil {
			t.Fatal(i, err)
		}
	}
	m, err := consolemetrics.New(consolemetrics.Config{Store: store, Pricing: &creativeai.Pricing{Clip: 40, Still: 20}})
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveWebhook("accepted", 3*time.Millisecond)
	m.ObserveWebhook("accepted", 5*time.Millisecond)
	m.ObserveWebhook("unauthorized", time.Millisecond)
	m.ObserveDelivery(jobs.Job{TargetSurface: "shopify-pdp", Delivery: jobs.DeliveryDelivered}, nil)
	m.ObserveDelivery(jobs.Job{TargetSurface: "meta-ads", Delivery: jobs.DeliveryPending}, errors.New("503"))
	m.ObserveDelivery(jobs.Job{TargetSurface: "meta-ads", Delivery: jobs.DeliveryFailed}, errors.New("gone"))
	m.ObserveShopifyCost("ProductBySKU", 4, false)
	m.ObserveShopifyCost("ProductBySKU", 0, true)
	m.ObserveShopifyCost("ProductBySKU", 3, false)
	m.ObserveShopifyCost("productCreateMedia", 10, false)

	const token = "metrics-token-123"
	h, err := console.New(console.Config{Store: store, Token: token, Metrics: m.Handler()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	if resp, err := http.Get(srv.URL + "/metrics"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("metrics without the token: %v %v", resp.Status, err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, line := range []string{
		`catalogvideo_jobs{state="queued"} 1`,
		`catalogvideo_jobs{state="published"} 1`,
		`catalogvideo_jobs{state="failed"} 1`,
		`catalogvideo_jobs{state="awaiting_review"} 1`,
		`catalogvideo_jobs{state="rejected"} 0`,
		`catalogvideo_generations{kind="clip"} 4`,
		`catalogvideo_generations{kind="still"} 1`,
		`catalogvideo_spend_dollars 1.8`,
		`catalogvideo_shopify_cost_points_total{operation="ProductBySKU"} 7`,
		`catalogvideo_shopify_cost_points_total{operation="productCreateMedia"} 10`,
		`catalogvideo_shopify_throttled_total{operation="ProductBySKU"} 1`,
		`catalogvideo_webhook_requests_total{result="accepted"} 2`,
		`catalogvideo_webhook_request_duration_seconds_count{result="accepted"} 2`,
		`catalogvideo_deliveries_total{outcome="delivered",surface="shopify-pdp"} 1`,
		`catalogvideo_deliveries_total{outcome="retry",surface="meta-ads"} 1`,
		`catalogvideo_deliveries_total{outcome="failed",surface="meta-ads"} 1`,
	} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
	if t.Failed() {
		t.Log(text)
	}

	// A store that cannot be read fails the scrape instead of reporting
	// zeros.
	store.Close()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if strings.Contains(rec.Body.String(), "catalogvideo_jobs{") {
		t.Errorf("scrape of a closed store reported job counts:\n%s", rec.Body.String())
	}
	if !strings.Contains(rec.Body.String(), "catalogvideo_deliveries_total{") {
		t.Errorf("scrape of a closed store lost the other metrics:\n%s", rec.Body.String())
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	if _, err := consolemetrics.New(consolemetrics.Config{}); err == nil {
		t.Error("nil store accepted")
	}
	if _, err := consolemetrics.New(consolemetrics.Config{Store: memstore.New(), ScrapeTimeout: -1}); err == nil {
		t.Error("negative timeout accepted")
	}
}
