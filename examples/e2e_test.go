package examples_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
	"github.com/creativeai-run/catalogvideo/examples/internal/cli"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
	"github.com/creativeai-run/catalogvideo/webhook"
)

// readRecords decodes an export, failing the test on a bad line.
func readRecords(t *testing.T, data []byte) []jobs.Record {
	t.Helper()
	var out []jobs.Record
	for rec, err := range jobs.DecodeRecords(bytes.NewReader(data), "export") {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec.Record)
	}
	return out
}

var buyerCopy = jobs.DefaultBuyerCopy()

// TestCatalogOffline runs the main job the way a newcomer does, with no key
// and no flags, twice on the same job file.
func TestCatalogOffline(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	res := runProgram(t, dir, cleanEnv(), "catalog")
	if res.code != 0 {
		t.Fatalf("catalog exited %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	checkCatalogFile(t, dir)
	for _, want := range []string{
		buyerCopy.Statuses[jobs.StatusPending],
		buyerCopy.Deliveries[jobs.DeliveryDelivered],
		"SKU-1001", "SKU-1002", "SKU-1003",
		"Cost summary", "total     3      0       $1.50",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output does not mention %q:\n%s", want, res.stdout)
		}
	}

	// A rerun finds every row tracked and finished, and submits nothing.
	res = runProgram(t, dir, cleanEnv(), "catalog")
	if res.code != 0 {
		t.Fatalf("rerun exited %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if n := strings.Count(res.stdout, "already tracked (completed"); n != 3 {
		t.Errorf("rerun reported %d rows as already tracked, want 3:\n%s", n, res.stdout)
	}
	if !strings.Contains(res.stdout, "Simulator: 0 renders (0 duplicate)") {
		t.Errorf("rerun rendered again:\n%s", res.stdout)
	}
	checkCatalogFile(t, dir)
}

// checkCatalogFile checks that the job file holds the three sample rows,
// completed and delivered, one line each.
func checkCatalogFile(t *testing.T, dir string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "video-jobs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, data)
	if len(recs) != 3 {
		t.Fatalf("job file has %d lines, want 3:\n%s", len(recs), data)
	}
	skus := map[string]bool{}
	for i, r := range recs {
		skus[r.SKU] = true
		if r.Status != jobs.StatusCompleted || r.Delivery != jobs.DeliveryDelivered || r.OutputURL == "" || r.GenerationID == "" {
			t.Errorf("line %d: %s is %s, delivery %q, output %q, generation %q; want completed and delivered",
				i+1, r.SKU, r.Status, r.Delivery, r.OutputURL, r.GenerationID)
		}
	}
	if !skus["SKU-1001"] || !skus["SKU-1002"] || !skus["SKU-1003"] {
		t.Errorf("job file holds SKUs %v, want the three sample rows", skus)
	}
}

// TestCatalogResumesAfterKill kills the main job mid-run; the rerun picks up
// the renders that died with the first run's simulator instead of hanging on
// them, and finishes every row.
func TestCatalogResumesAfterKill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startProgram(t, dir, cleanEnv(), "catalog")
	p.waitOutput(regexp.MustCompile(`SKU-100\d\s+processing`), time.Minute)
	p.stop(syscall.SIGKILL, time.Minute)

	// How far the first run got depends on the machine; count what it left.
	store, _, err := cli.OpenStore(t.Context(), filepath.Join(dir, "video-jobs.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	unfinished := 0
	for j, err := range store.List(t.Context(), jobs.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if j.Submitted() && (!j.Status.Terminal() || j.Delivery == jobs.DeliveryPending) {
			unfinished++
		}
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	res := runProgram(t, dir, cleanEnv(), "catalog")
	if res.code != 0 {
		t.Fatalf("rerun after a kill exited %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if n := strings.Count(res.stdout, "resumed render"); n != unfinished {
		t.Errorf("rerun resumed %d renders, want the %d the first run left unfinished:\n%s", n, unfinished, res.stdout)
	}
	checkCatalogFile(t, dir)
}

// TestCatalogLive runs the main job in its live mode, pointed at the
// simulator and the fake store through the environment as it would be at
// the real services: with no webhook URL it polls for results, and with
// SHOPIFY_* set it publishes to that store.
func TestCatalogLive(t *testing.T) {
	t.Parallel()
	sim := creativeaitest.NewServer(creativeaitest.WithSeed(5), creativeaitest.WithRenderTime(50*time.Millisecond))
	defer sim.Close()
	shop := shopifytest.NewServer()
	defer shop.Close()
	products := map[string]string{}
	for _, sku := range []string{"SKU-1001", "SKU-1002"} {
		products[sku] = shop.AddProduct(shopifytest.Product{Title: sku, Variants: []shopifytest.Variant{{SKU: sku}}})
	}
	env := cleanEnv(
		"CREATIVEAI_API_KEY="+sim.APIKey,
		"CREATIVEAI_BASE_URL="+sim.URL,
		"SHOPIFY_ADMIN_API_URL="+shop.GraphQLURL,
		"SHOPIFY_ADMIN_TOKEN="+shopifytest.DefaultToken,
	)
	dir := t.TempDir()
	res := runProgram(t, dir, env, "catalog", "-timeout", "1m")
	if res.code != 0 {
		t.Fatalf("catalog exited %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{"Live run: render API at " + sim.URL, "polling for results", "Shopify: " + shop.GraphQLURL} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, res.stdout)
		}
	}
	checkCatalogFile(t, dir)
	checkPublishedOnce(t, shop, products)
	if st := sim.Stats(); st.Polls == 0 || st.Deliveries != 0 {
		t.Errorf("simulator saw %d polls and %d webhook deliveries; a live run without -webhook-url polls", st.Polls, st.Deliveries)
	}
}

// TestCatalogFailures checks that the main job exits 1 with a message that
// names the problem when a row cannot be delivered or rows do not finish in
// time.
func TestCatalogFailures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	csv := filepath.Join(dir, "rows.csv")
	manifest := "sku,image_url,video_prompt,target_surface\n" +
		"SKU-1,https://cdn.example.com/1.jpg,spin,shopify-pdp\n" +
		"SKU-2,https://cdn.example.com/2.jpg,spin,cms\n"
	if err := os.WriteFile(csv, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runProgram(t, dir, cleanEnv(), "catalog", "-csv", csv, "-jobs", filepath.Join(dir, "a.jsonl"))
	if res.code != 1 || !strings.Contains(res.stderr, `1 of 2 rows failed: SKU-2 (delivery failed: no delivery sink for target_surface "cms")`) {
		t.Errorf("exit %d; want 1 and the failed delivery named\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}

	res = runProgram(t, dir, cleanEnv(), "catalog", "-csv", csv, "-jobs", filepath.Join(dir, "b.jsonl"), "-timeout", "1ms")
	if res.code != 1 || !strings.Contains(res.stderr, "did not finish within -timeout 1ms") {
		t.Errorf("exit %d; want 1 and the timeout named\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
}

// TestCatalogInterrupt stops the main job with SIGINT: it says so, exits 1,
// and a rerun finishes the job.
func TestCatalogInterrupt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startProgram(t, dir, cleanEnv(), "catalog")
	p.waitOutput(regexp.MustCompile(`SKU-100\d\s+pending`), time.Minute)
	if code := p.stop(syscall.SIGINT, time.Minute); code != 1 || !strings.Contains(p.stderr.String(), "interrupted") {
		t.Errorf("exit %d after SIGINT; want 1 and a word about the interruption\nstderr:\n%s", code, p.stderr)
	}
	if res := runProgram(t, dir, cleanEnv(), "catalog"); res.code != 0 {
		t.Fatalf("rerun exited %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	checkCatalogFile(t, dir)
}

// TestSubmitWebhookServerShopify runs the workflow across processes with
// faults on both remote sides: submit sends 200 rows to the render
// simulator, which calls webhook-server back; webhook-server applies the
// events and publishes each video to the fake Shopify store. Every row must
// end completed and published exactly once, and `jobs export` must agree.
// It runs on the JSONL job file, which submit, webhook-server and the test
// have open at once, and on SQLite.
func TestSubmitWebhookServerShopify(t *testing.T) {
	t.Parallel()
	for name, spec := range map[string]string{"jsonl": "video-jobs.jsonl", "sqlite": "sqlite:jobs.db"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			jobList := filepath.Join(dir, spec)
			if rest, ok := strings.CutPrefix(spec, "sqlite:"); ok {
				jobList = "sqlite:" + filepath.Join(dir, rest)
			}
			testSubmitWebhookServerShopify(t, dir, jobList)
		})
	}
}

func testSubmitWebhookServerShopify(t *testing.T, dir, jobList string) {
	const rows = 200

	sim := creativeaitest.NewServer(
		creativeaitest.WithSeed(7),
		creativeaitest.WithRenderTime(100*time.Millisecond),
		creativeaitest.WithFailoverRate(0.2),
		creativeaitest.WithFaults(creativeaitest.Faults{
			Error500: 0.03, Error502AfterCreate: 0.03, Error429: 0.03, DropConnection: 0.02,
			RetryAfter: 20 * time.Millisecond,
		}),
		creativeaitest.WithWebhookRetries(10, 20*time.Millisecond),
		creativeaitest.WithWebhookDuplicates(0.1),
		creativeaitest.WithWebhookReorder(true),
	)
	defer sim.Close()
	shop := shopifytest.NewServer(
		shopifytest.WithBucket(1e6, 1e6),
		shopifytest.WithRandomFaults(shopifytest.RandomFaults{ServerError: 0.03, LostResponse: 0.02, TooManyRequests: 0.01, Seed: 7}),
	)
	defer shop.Close()

	var manifest strings.Builder
	manifest.WriteString("sku,image_url,video_prompt,collection,target_surface\n")
	products := map[string]string{}
	for i := range rows {
		sku := fmt.Sprintf("SKU-%04d", i)
		products[sku] = shop.AddProduct(shopifytest.Product{Title: "Product " + sku, Variants: []shopifytest.Variant{{SKU: sku}}})
		fmt.Fprintf(&manifest, "%s,https://cdn.example.com/catalog/%d-hero.jpg,\"5-second hero shot, slow push\",fall,shopify-pdp\n", sku, i)
	}
	csvPath := filepath.Join(dir, "products.csv")
	if err := os.WriteFile(csvPath, []byte(manifest.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	env := cleanEnv(
		"CREATIVEAI_API_KEY="+sim.APIKey,
		"CREATIVEAI_BASE_URL="+sim.URL,
		"CREATIVEAI_WEBHOOK_SECRET="+sim.WebhookSecret,
		"SHOPIFY_ADMIN_API_URL="+shop.GraphQLURL,
		"SHOPIFY_ADMIN_TOKEN="+shopifytest.DefaultToken,
	)
	server, base := startServer(t, env, "-jobs", jobList, "-poll-interval", "2s",
		"-delivery-workers", "16", "-delivery-backoff", "100ms", "-shopify-poll-interval", "20ms")
	checkHealthz(t, base)

	// Injected faults can exhaust a row's retries; the operator's answer is
	// to rerun with -retry-failed, which resubmits with the same
	// Idempotency-Key and so never renders a row twice.
	args := []string{"-csv", csvPath, "-jobs", jobList, "-webhook-url", base + cli.DefaultWebhookPath, "-concurrency", "8", "-rate", "500"}
	var res result
	for attempt := 0; ; attempt++ {
		res = runProgram(t, dir, env, "submit", args...)
		if res.code == 0 {
			break
		}
		if res.code != 1 || attempt == 4 {
			t.Fatalf("submit exited %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
		}
		t.Logf("submit run %d left rows submit_failed; rerunning with -retry-failed", attempt+1)
		if attempt == 0 {
			args = append(args, "-retry-failed")
		}
	}
	if want := fmt.Sprintf("Submitted %d/%d jobs -> %s", rows, rows, jobList); !strings.Contains(res.stdout, want) {
		t.Errorf("submit output lacks %q:\n%s", want, res.stdout)
	}

	store, _, err := cli.OpenStore(t.Context(), jobList, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	waitDelivered(t, store, rows, 2*time.Minute)

	if code := server.stop(syscall.SIGTERM, time.Minute); code != 0 {
		t.Errorf("webhook-server exited %d after SIGTERM\nstderr:\n%s", code, server.stderr)
	}
	if !strings.Contains(server.stdout.String(), "stopped") {
		t.Errorf("webhook-server did not report a clean stop:\n%s", server.stdout)
	}

	if st := sim.Stats(); st.DuplicateRenders != 0 || st.Renders != rows {
		t.Errorf("simulator rendered %d times with %d duplicates; want %d renders and none twice", st.Renders, st.DuplicateRenders, rows)
	}
	media := checkPublishedOnce(t, shop, products)
	if n := shop.Stats().ExternalVideoRequests; n != 0 {
		t.Errorf("%d EXTERNAL_VIDEO media requested; mp4s must be staged", n)
	}

	res = runProgram(t, dir, env, "jobs", "-jobs", jobList, "export")
	if res.code != 0 {
		t.Fatalf("jobs export exited %d: %s", res.code, res.stderr)
	}
	recs := readRecords(t, []byte(res.stdout))
	if len(recs) != rows {
		t.Fatalf("export has %d records, want %d", len(recs), rows)
	}
	for _, r := range recs {
		if r.Status != jobs.StatusCompleted || r.Delivery != jobs.DeliveryDelivered ||
			refMedia(r.DeliveryRef) != media[r.SKU] || r.BuyerStatus != buyerCopy.Deliveries[jobs.DeliveryDelivered] {
			t.Errorf("export: %s is %s, delivery %s %q, buyer %q; want completed, delivered as %s", r.SKU, r.Status, r.Delivery, r.DeliveryRef, r.BuyerStatus, media[r.SKU])
		}
	}
	res = runProgram(t, dir, env, "jobs", "-jobs", jobList, "status")
	if want := fmt.Sprintf("%d jobs: %d completed; delivery: %d delivered", rows, rows, rows); res.code != 0 || !strings.Contains(res.stdout, want) {
		t.Errorf("jobs status exited %d without %q:\n%s%s", res.code, want, res.stdout, res.stderr)
	}
}

// checkHealthz checks the server's health endpoint.
func checkHealthz(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("GET /healthz: %d %q, want 200 \"ok\"", resp.StatusCode, body)
	}
}

// waitDelivered waits until n jobs are completed and delivered, failing at
// once when a delivery failed for good.
func waitDelivered(t *testing.T, store jobs.Store, n int, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("%d jobs delivered", n), func() (bool, error) {
		delivered := 0
		for j, err := range store.List(t.Context(), jobs.Filter{}) {
			if err != nil {
				return false, err
			}
			if j.Delivery == jobs.DeliveryFailed {
				t.Fatalf("delivery of %s failed: %s", j.SKU, j.DeliveryError)
			}
			if j.Status == jobs.StatusCompleted && j.Delivery == jobs.DeliveryDelivered {
				delivered++
			}
		}
		return delivered == n, fmt.Errorf("%d of %d delivered", delivered, n)
	})
}

// checkPublishedOnce checks that every product holds exactly one video and
// returns the video's media id by SKU.
func checkPublishedOnce(t *testing.T, shop *shopifytest.Server, products map[string]string) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for sku, pid := range products {
		var videos []shopifytest.Media
		for _, m := range shop.Media(pid) {
			if m.ContentType == "VIDEO" {
				videos = append(videos, m)
			}
		}
		if len(videos) != 1 {
			t.Errorf("product of %s has %d videos, want exactly 1: %+v", sku, len(videos), videos)
			continue
		}
		ids[sku] = videos[0].ID
	}
	return ids
}

// event is one signed webhook delivery a test sends, and what it carries.
type event struct {
	gen        creativeai.Generation
	deliveryID string
	body       []byte
}

// eventsFor makes the deliveries of one render: processing, completed, and
// extras drawn at random from what senders really do (a duplicate, a stale
// processing or pending after the end).
func eventsFor(r *rand.Rand, id, outputURL string, extras int) []event {
	done := time.Date(2026, 3, 11, 8, 44, 3, 0, time.UTC)
	proc := creativeai.Generation{ID: id, Object: "video.generation", Status: creativeai.StatusProcessing}
	comp := creativeai.Generation{ID: id, Object: "video.generation", Status: creativeai.StatusCompleted,
		OutputURL: outputURL, FailoverUsed: r.IntN(4) == 0, CompletedAt: done}
	evs := []event{{gen: proc}, {gen: comp}}
	for range extras {
		switch r.IntN(3) {
		case 0:
			evs = append(evs, event{gen: comp})
		case 1:
			evs = append(evs, event{gen: proc})
		default:
			evs = append(evs, event{gen: creativeai.Generation{ID: id, Object: "video.generation", Status: creativeai.StatusPending}})
		}
	}
	for i := range evs {
		evs[i].deliveryID = fmt.Sprintf("whd_%s_%d", id, i)
		body, err := json.Marshal(evs[i].gen)
		if err != nil {
			panic(err)
		}
		evs[i].body = body
	}
	return evs
}

// send delivers one signed event to a webhook URL and returns the status.
func send(ctx context.Context, client *http.Client, target, secret string, e event) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(e.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, e.body))
	req.Header.Set(webhook.HeaderEvent, "video.generation."+string(e.gen.Status))
	req.Header.Set(webhook.HeaderDeliveryID, e.deliveryID)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	// Read to the end, so that the connection is reused as a sender's
	// would be: a body left unread closes it.
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// rankOf orders statuses as the store lets them move.
func rankOf(s creativeai.Status) int {
	switch s {
	case creativeai.StatusPending:
		return 1
	case creativeai.StatusProcessing:
		return 2
	case creativeai.StatusCompleted, creativeai.StatusFailed:
		return 3
	}
	return 0
}

// checkAcknowledged checks that every acknowledged event is reflected in the
// store: the job is at least as far along, and a completed event's output
// is recorded.
func checkAcknowledged(t *testing.T, store jobs.Store, acked []event) {
	t.Helper()
	for _, e := range acked {
		j, err := store.GetByGenerationID(t.Context(), e.gen.ID)
		if err != nil {
			t.Errorf("acknowledged %s event for %s: %v", e.gen.Status, e.gen.ID, err)
			continue
		}
		if rankOf(creativeai.Status(j.Status)) < rankOf(e.gen.Status) {
			t.Errorf("acknowledged %s event for %s lost: job %s is %s", e.gen.Status, e.gen.ID, j.SKU, j.Status)
		}
		if e.gen.Status == creativeai.StatusCompleted && j.OutputURL != e.gen.OutputURL {
			t.Errorf("acknowledged completion of %s lost its output_url: %q", j.SKU, j.OutputURL)
		}
	}
}

// TestMultiInstancePostgres runs two webhook-servers on one PostgreSQL
// database and delivers 2,000 signed events to them at random, at once:
// no acknowledged update may be lost and every completed video must be
// published exactly once, though both servers run delivery workers.
func TestMultiInstancePostgres(t *testing.T) {
	t.Parallel()
	dsn := os.Getenv("CATALOGVIDEO_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set CATALOGVIDEO_POSTGRES_DSN (see .ci/postgres.sh) to run PostgreSQL tests")
	}
	testMultiInstance(t, freshSchema(t, dsn))
}

// TestMultiInstanceJSONL is TestMultiInstancePostgres on one JSONL job file,
// which both servers and the test have open at once.
func TestMultiInstanceJSONL(t *testing.T) {
	t.Parallel()
	testMultiInstance(t, filepath.Join(t.TempDir(), "video-jobs.jsonl"))
}

func testMultiInstance(t *testing.T, jobsDSN string) {
	const (
		jobsN    = 400
		deferred = 40 // jobs whose events arrive before their submission is recorded
		extras   = 3  // events per job beyond processing and completed
	)
	store, _, err := cli.OpenStore(t.Context(), jobsDSN, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	shop := shopifytest.NewServer(shopifytest.WithBucket(1e6, 1e6))
	defer shop.Close()
	videoURL := shop.AddVideo(shopifytest.Video{Size: 4096})

	r := rand.New(rand.NewPCG(11, 12))
	products := map[string]string{}
	var events []event
	for i := range jobsN {
		sku := fmt.Sprintf("SKU-%04d", i)
		products[sku] = shop.AddProduct(shopifytest.Product{Title: sku, Variants: []shopifytest.Variant{{SKU: sku}}})
		id := fmt.Sprintf("vgen_e2e%04d", i)
		if _, _, err := store.Track(t.Context(), jobs.Job{Key: sku + "#e2e", SKU: sku, TargetSurface: "shopify-pdp"}); err != nil {
			t.Fatal(err)
		}
		if i >= deferred {
			recordSubmission(t, store, sku+"#e2e", id)
		}
		events = append(events, eventsFor(r, id, videoURL, extras)...)
	}
	r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	if len(events) != 2000 {
		t.Fatalf("made %d events, want 2000", len(events))
	}

	// A Standard Webhooks style secret; the CreativeAI scheme signs with it too.
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("e2e multi-instance secret"))
	env := cleanEnv(
		"CREATIVEAI_WEBHOOK_SECRET="+secret,
		"SHOPIFY_ADMIN_API_URL="+shop.GraphQLURL,
		"SHOPIFY_ADMIN_TOKEN="+shopifytest.DefaultToken,
	)
	flags := []string{"-jobs", jobsDSN, "-poll-interval", "0", "-delivery-workers", "4", "-delivery-backoff", "100ms", "-shopify-poll-interval", "20ms"}
	var servers []*process
	var urls []string
	for range 2 {
		p, base := startServer(t, env, flags...)
		servers = append(servers, p)
		urls = append(urls, base+cli.DefaultWebhookPath)
	}

	var perServer [2]atomic.Int64
	acked := deliverAll(t, events, secret, func(e event, attempt int) (string, int) {
		i := (int(e.deliveryID[len(e.deliveryID)-1]) + attempt) % len(urls)
		return urls[i], i
	}, func(_ event, server int) { perServer[server].Add(1) })
	for i := range perServer {
		if n := perServer[i].Load(); n == 0 {
			t.Errorf("server %d acknowledged no event; the test must spread events over both", i)
		}
	}
	// The deferred jobs' events were kept; recording their submissions now
	// applies them, in whichever process received them.
	for i := range deferred {
		recordSubmission(t, store, fmt.Sprintf("SKU-%04d#e2e", i), fmt.Sprintf("vgen_e2e%04d", i))
	}
	checkAcknowledged(t, store, acked)
	waitDelivered(t, store, jobsN, 2*time.Minute)
	// Both signals shut the server down cleanly.
	for i, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		if code := servers[i].stop(sig, time.Minute); code != 0 {
			t.Errorf("server %d exited %d after %s\nstderr:\n%s", i, code, sig, servers[i].stderr)
		}
	}
	checkPublishedOnce(t, shop, products)
	if n := shop.Stats().MediaCreated; n != jobsN {
		t.Errorf("fake Shopify created %d media, want %d", n, jobsN)
	}
	for i, p := range servers {
		t.Logf("server %d delivered %d videos", i, strings.Count(p.stderr.String(), "msg=delivered"))
	}
}

// freshSchema creates a schema of its own for the test and returns the DSN
// that uses it; the schema is dropped when the test ends.
func freshSchema(t *testing.T, dsn string) string {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("e2e_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := db.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		db.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("CATALOGVIDEO_POSTGRES_DSN is not a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func recordSubmission(t *testing.T, store jobs.Store, key, id string) {
	t.Helper()
	gen := &creativeai.Generation{ID: id, Object: "video.generation", Status: creativeai.StatusPending}
	if _, err := store.RecordSubmission(t.Context(), key, jobs.Submission{Generation: gen}); err != nil {
		t.Fatal(err)
	}
}

// deliverAll sends every event with 16 concurrent senders, as a webhook
// sender does: an event not acknowledged with a 2xx is sent again, to the
// server target picks for that attempt, until it is. onAck is called for
// each acknowledgement with the server that gave it. It returns the events
// in the order they were acknowledged.
func deliverAll(t *testing.T, events []event, secret string, target func(e event, attempt int) (url string, server int), onAck func(e event, server int)) []event {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var (
		mu    sync.Mutex
		acked []event
		next  atomic.Int64
		wg    sync.WaitGroup
	)
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(events) || t.Context().Err() != nil {
					return
				}
				e := events[i]
				for attempt := 0; ; attempt++ {
					u, server := target(e, attempt)
					code, err := send(t.Context(), client, u, secret, e)
					if err == nil && code/100 == 2 {
						mu.Lock()
						acked = append(acked, e)
						mu.Unlock()
						if onAck != nil {
							onAck(e, server)
						}
						break
					}
					if attempt == 50 {
						t.Errorf("event %s (%s) never acknowledged: %d %v", e.deliveryID, e.gen.Status, code, err)
						break
					}
				}
			}
		})
	}
	wg.Wait()
	return acked
}

var deliveredRE = regexp.MustCompile(`msg=delivered sku=(\S+)`)

// TestWebhookServerCrash kills webhook-server with SIGKILL while events
// pour in, on a JSONL job file written by the workflow's original script.
// Every event acknowledged before the kill must be in the file, and after a
// restart on the same file every render completes and every video is
// published exactly once.
func TestWebhookServerCrash(t *testing.T) {
	t.Parallel()
	const jobsN = 300
	dir := t.TempDir()
	file := filepath.Join(dir, "video-jobs.jsonl")

	shop := shopifytest.NewServer(shopifytest.WithBucket(1e6, 1e6))
	defer shop.Close()
	videoURL := shop.AddVideo(shopifytest.Video{Size: 4096})

	// The job file as the original script writes it: only the seed's fields.
	var lines strings.Builder
	r := rand.New(rand.NewPCG(21, 22))
	products := map[string]string{}
	var events []event
	for i := range jobsN {
		sku := fmt.Sprintf("SKU-%04d", i)
		id := fmt.Sprintf("vgen_crash%04d", i)
		products[sku] = shop.AddProduct(shopifytest.Product{Title: sku, Variants: []shopifytest.Variant{{SKU: sku}}})
		fmt.Fprintf(&lines, `{"sku":%q,"collection":"crash","target_surface":"shopify-pdp","generation_id":%q,"status":"pending"}`+"\n", sku, id)
		events = append(events, eventsFor(r, id, videoURL, 1)...)
	}
	r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	if err := os.WriteFile(file, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	const secret = "crash-test-secret"
	env := cleanEnv(
		"CREATIVEAI_WEBHOOK_SECRET="+secret,
		"SHOPIFY_ADMIN_API_URL="+shop.GraphQLURL,
		"SHOPIFY_ADMIN_TOKEN="+shopifytest.DefaultToken,
	)
	flags := []string{"-jobs", file, "-poll-interval", "0", "-delivery-workers", "8", "-delivery-backoff", "100ms", "-shopify-poll-interval", "20ms"}
	first, firstURL := startServer(t, env, flags...)

	var (
		mu         sync.Mutex
		killing    bool
		restarted  = make(chan struct{})
		second     *process
		secondURL  string
		beforeKill []event // acknowledged by the first server
		killOnce   sync.Once
		// deliveredAtCrash holds the jobs the job file shows delivered right
		// after the kill: the first server may have recorded a delivery and
		// died before logging it, and such a job is rightly never delivered
		// again, so the logs alone would never account for it.
		deliveredAtCrash = map[string]bool{}
	)
	killAt := len(events) / 3
	var ackCount atomic.Int64
	crash := func() {
		// A failure below ends this goroutine (t.Fatalf); let the senders
		// and the test go on to report it rather than hang.
		defer func() {
			select {
			case <-restarted:
			default:
				close(restarted)
			}
		}()
		mu.Lock()
		killing = true
		mu.Unlock()
		first.stop(syscall.SIGKILL, time.Minute)

		// The first server is dead: what it acknowledged must be in the
		// file, which is ours to open now that its lock is gone.
		mu.Lock()
		acked := append([]event(nil), beforeKill...)
		mu.Unlock()
		store, _, err := cli.OpenStore(t.Context(), file, nil)
		if err != nil {
			t.Errorf("open the job file after the crash: %v", err)
		} else {
			checkAcknowledged(t, store, acked)
			for j, err := range store.List(t.Context(), jobs.Filter{Statuses: []jobs.Status{jobs.StatusCompleted}}) {
				if err != nil {
					t.Error(err)
					break
				}
				if j.Delivery == jobs.DeliveryDelivered {
					mu.Lock()
					deliveredAtCrash[j.SKU] = true
					mu.Unlock()
				}
			}
			if err := store.Close(); err != nil {
				t.Error(err)
			}
		}
		t.Logf("killed the first server after %d acknowledged events; all present", len(acked))

		p, base := startServer(t, env, flags...)
		mu.Lock()
		second, secondURL = p, base
		mu.Unlock()
	}
	target := func(e event, attempt int) (string, int) {
		mu.Lock()
		k := killing
		mu.Unlock()
		if k {
			<-restarted
			mu.Lock()
			defer mu.Unlock()
			return secondURL + cli.DefaultWebhookPath, 1
		}
		return firstURL + cli.DefaultWebhookPath, 0
	}
	onAck := func(e event, server int) {
		if server == 0 {
			mu.Lock()
			beforeKill = append(beforeKill, e)
			mu.Unlock()
		}
		if ackCount.Add(1) == int64(killAt) {
			go killOnce.Do(crash)
		}
	}
	acked := deliverAll(t, events, secret, target, onAck)
	<-restarted
	if second == nil {
		t.Fatal("the server was not restarted")
	}

	// Deliveries resume: every job is recorded delivered by one server or
	// the other.
	waitFor(t, 2*time.Minute, "every video delivered", func() (bool, error) {
		mu.Lock()
		skus := maps.Clone(deliveredAtCrash)
		mu.Unlock()
		for _, out := range []string{first.stderr.String(), second.stderr.String()} {
			for _, m := range deliveredRE.FindAllStringSubmatch(out, -1) {
				skus[m[1]] = true
			}
		}
		return len(skus) == jobsN, fmt.Errorf("%d of %d delivered", len(skus), jobsN)
	})
	if code := second.stop(syscall.SIGTERM, time.Minute); code != 0 {
		t.Errorf("restarted server exited %d\nstderr:\n%s", code, second.stderr)
	}

	store, _, err := cli.OpenStore(t.Context(), file, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAcknowledged(t, store, acked)
	media := checkPublishedOnce(t, shop, products)
	n := 0
	for j, err := range store.List(t.Context(), jobs.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if j.Status != jobs.StatusCompleted || j.Delivery != jobs.DeliveryDelivered || refMedia(j.DeliveryRef) != media[j.SKU] {
			t.Errorf("%s is %s, delivery %s %q; want completed and delivered as %s", j.SKU, j.Status, j.Delivery, j.DeliveryRef, media[j.SKU])
		}
	}
	if n != jobsN {
		t.Errorf("the job file holds %d jobs, want %d", n, jobsN)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	// The log of many lines per job compacts to one line each.
	res := runProgram(t, dir, env, "jobs", "-jobs", file, "compact")
	if res.code != 0 || !strings.Contains(res.stdout, "Compacted "+file) {
		t.Errorf("jobs compact exited %d:\n%s%s", res.code, res.stdout, res.stderr)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if recs := readRecords(t, data); len(recs) != jobsN {
		t.Errorf("compacted file has %d lines, want %d", len(recs), jobsN)
	}
}
