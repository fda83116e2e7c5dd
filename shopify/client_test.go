package shopify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Khan/genqlient/graphql"

	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

func TestNewClient(t *testing.T) {
	cases := []struct {
		store, token string
		opts         []shopify.Option
		endpoint     string // empty: an error is expected
		errHas       string
	}{
		{store: "my-shop", token: "t", endpoint: "https://my-shop.myshopify.com/admin/api/" + shopify.DefaultAPIVersion + "/graphql.json"},
		{store: " My-Shop.myshopify.com ", token: "t", endpoint: "https://my-shop.myshopify.com/admin/api/" + shopify.DefaultAPIVersion + "/graphql.json"},
		{store: "https://my-shop.myshopify.com/", token: "t", opts: []shopify.Option{shopify.WithAPIVersion("2026-01")},
			endpoint: "https://my-shop.myshopify.com/admin/api/2026-01/graphql.json"},
		{store: "my-shop", token: "t", opts: []shopify.Option{shopify.WithAPIVersion("unstable")},
			endpoint: "https://my-shop.myshopify.com/admin/api/unstable/graphql.json"},
		{token: "t", opts: []shopify.Option{shopify.WithEndpoint("http://127.0.0.1:9/graphql")}, endpoint: "http://127.0.0.1:9/graphql"},
		{store: "my-shop", errHas: "access token is empty"},
		{token: "t", errHas: "store is empty"},
		{store: "my shop!", token: "t", errHas: `store "my shop!"`},
		{store: "my-shop", token: "t", opts: []shopify.Option{shopify.WithAPIVersion("2026-02")}, errHas: `API version "2026-02"`},
		{token: "t", opts: []shopify.Option{shopify.WithEndpoint("/graphql")}, errHas: `endpoint "/graphql"`},
		{store: "s", token: "t", opts: []shopify.Option{shopify.WithRetries(-1)}, errHas: "retries -1"},
		{store: "s", token: "t", opts: []shopify.Option{shopify.WithHTTPClient(nil)}, errHas: "HTTP client is nil"},
	}
	for _, tc := range cases {
		c, err := shopify.NewClient(tc.store, tc.token, tc.opts...)
		if tc.endpoint != "" {
			if err != nil || c.Endpoint() != tc.endpoint {
				t.Errorf("NewClient(%q) = %v, %v; want endpoint %s", tc.store, c, err, tc.endpoint)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("NewClient(%q, %q) error = %v, want one naming %s", tc.store, tc.token, err, tc.errHas)
		}
	}
}

func TestNewClientFromEnv(t *testing.T) {
	t.Setenv("SHOPIFY_STORE", "env-shop")
	t.Setenv("SHOPIFY_ADMIN_TOKEN", "shpat_env")
	t.Setenv("SHOPIFY_API_VERSION", "2026-07")
	t.Setenv("SHOPIFY_ADMIN_API_URL", "")
	c, err := shopify.NewClientFromEnv()
	if err != nil || c.Endpoint() != "https://env-shop.myshopify.com/admin/api/2026-07/graphql.json" {
		t.Fatalf("NewClientFromEnv = %v, %v", c, err)
	}
	t.Setenv("SHOPIFY_ADMIN_API_URL", "http://127.0.0.1:1/admin/api/x/graphql.json")
	if c, err = shopify.NewClientFromEnv(); err != nil || c.Endpoint() != "http://127.0.0.1:1/admin/api/x/graphql.json" {
		t.Fatalf("with SHOPIFY_ADMIN_API_URL: %v, %v", c, err)
	}
}

// script is a test server that answers requests with the handlers in turn
// (repeating the last) and records what it received.
type script struct {
	srv      *httptest.Server
	mu       sync.Mutex
	steps    []http.HandlerFunc
	requests []*http.Request
	bodies   []string
}

func newScript(t *testing.T, steps ...http.HandlerFunc) *script {
	s := &script{steps: steps}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		i := min(len(s.requests), len(s.steps)-1)
		s.requests = append(s.requests, r)
		s.bodies = append(s.bodies, string(b))
		s.mu.Unlock()
		s.steps[i](w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func answer(status int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func costJSON(requested, available, rate float64) string {
	return fmt.Sprintf(`{"cost":{"requestedQueryCost":%g,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":%g,"restoreRate":%g}}}`,
		requested, available, rate)
}

const okVariants = `{"data":{"productVariants":{"nodes":[{"id":"gid://shopify/ProductVariant/1","sku":"A","title":"T","product":{"id":"gid://shopify/Product/1","title":"P"}}],"pageInfo":{"hasNextPage":false,"endCursor":null}}}}`

func testClient(t *testing.T, s *script, opts ...shopify.Option) (*shopify.Client, *shopifytest.VirtualClock) {
	t.Helper()
	clock := shopifytest.NewVirtualClock(epoch)
	c, err := shopify.NewClient("", "shpat_secret_token", append([]shopify.Option{
		shopify.WithEndpoint(s.srv.URL + "/admin/api/2026-10/graphql.json"),
		shopify.WithClock(clock),
		shopify.WithPacingJitter(0), // exact waits to compare with
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, clock
}

func TestClientSendsTokenAndDecodes(t *testing.T) {
	s := newScript(t, answer(200, okVariants))
	c, _ := testClient(t, s)
	v, err := c.LookupSKU(context.Background(), "A")
	if err != nil || v.ProductID != "gid://shopify/Product/1" || v.ID != "gid://shopify/ProductVariant/1" {
		t.Fatalf("LookupSKU = %+v, %v", v, err)
	}
	r := s.requests[0]
	if r.Method != http.MethodPost || r.Header.Get("X-Shopify-Access-Token") != "shpat_secret_token" ||
		r.Header.Get("Content-Type") != "application/json" || r.URL.Path != "/admin/api/2026-10/graphql.json" {
		t.Errorf("request %s %s with headers %v", r.Method, r.URL, r.Header)
	}
	if !strings.Contains(s.bodies[0], `"operationName":"lookupVariants"`) || !strings.Contains(s.bodies[0], `sku:\"A\"`) {
		t.Errorf("body = %s", s.bodies[0])
	}
}

func TestClientRetriesThrottledAfterComputedWait(t *testing.T) {
	for _, pacing := range []bool{true, false} {
		t.Run(fmt.Sprintf("pacing=%v", pacing), func(t *testing.T) {
			s := newScript(t,
				answer(200, `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],"extensions":`+costJSON(100, 40, 20)+`}`),
				answer(200, okVariants[:len(okVariants)-1]+`,"extensions":`+costJSON(100, 940, 20)+`}`),
			)
			c, clock := testClient(t, s, shopify.WithPacing(pacing))
			if _, err := c.LookupSKU(context.Background(), "A"); err != nil {
				t.Fatal(err)
			}
			// (100 − 40) / 20 = 3 s, rounded up to the millisecond plus one.
			if got, want := clock.Slept(), 3001*time.Millisecond; got != want {
				t.Errorf("waited %v before retrying, want %v", got, want)
			}
			if s.count() != 2 {
				t.Errorf("%d requests, want 2", s.count())
			}
		})
	}
}

func TestClientPacesFromThrottleStatus(t *testing.T) {
	// The first answer leaves 10 points at 50 per second; the next request
	// of the same shape costs 100, so it waits (100 − 10) / 50 = 1.8 s.
	s := newScript(t, answer(200, okVariants[:len(okVariants)-1]+`,"extensions":`+costJSON(100, 10, 50)+`}`))
	c, clock := testClient(t, s)
	for range 2 {
		if _, err := c.LookupSKU(context.Background(), "A"); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := clock.Slept(), 1801*time.Millisecond; got != want {
		t.Errorf("paced %v, want %v", got, want)
	}

	s2 := newScript(t, answer(200, okVariants[:len(okVariants)-1]+`,"extensions":`+costJSON(100, 10, 50)+`}`))
	c2, clock2 := testClient(t, s2, shopify.WithPacing(false))
	for range 2 {
		if _, err := c2.LookupSKU(context.Background(), "A"); err != nil {
			t.Fatal(err)
		}
	}
	if clock2.Slept() != 0 {
		t.Errorf("paced %v with pacing off", clock2.Slept())
	}
}

func TestClientRetries429HonouringRetryAfter(t *testing.T) {
	s := newScript(t, answer(429, `{"errors":"Too many"}`, "Retry-After", "7"), answer(200, okVariants))
	c, clock := testClient(t, s)
	if _, err := c.LookupSKU(context.Background(), "A"); err != nil {
		t.Fatal(err)
	}
	if clock.Slept() != 7*time.Second || s.count() != 2 {
		t.Errorf("slept %v over %d requests, want 7s over 2", clock.Slept(), s.count())
	}
}

func TestClientServerErrorRetries(t *testing.T) {
	query := func(c *shopify.Client, op, doc string) error {
		var data map[string]any
		return c.MakeRequest(context.Background(), &graphql.Request{OpName: op, Query: doc}, &graphql.Response{Data: &data})
	}
	cases := []struct {
		name, op, doc string
		requests      int
	}{
		{"query", "q", "query q { shop { name } }", 3},
		{"mutation", "m", "# comment\nmutation m { productUpdate { userErrors { message } } }", 1},
		{"staged upload", "stageUpload", "mutation stageUpload { stagedUploadsCreate(input: []) { userErrors { message } } }", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newScript(t, answer(502, "<html>Bad Gateway</html>", "Retry-After", "2"))
			c, clock := testClient(t, s, shopify.WithRetries(2))
			err := query(c, tc.op, tc.doc)
			var herr *shopify.HTTPError
			if !errors.As(err, &herr) || herr.StatusCode != 502 || shopify.IsPermanent(err) {
				t.Fatalf("err = %v, want a retryable *HTTPError 502", err)
			}
			if s.count() != tc.requests {
				t.Errorf("%d requests, want %d", s.count(), tc.requests)
			}
			if want := time.Duration(tc.requests-1) * 2 * time.Second; clock.Slept() != want {
				t.Errorf("slept %v, want %v (Retry-After)", clock.Slept(), want)
			}
		})
	}
}

func TestClientInternalServerErrorAnswerRetried(t *testing.T) {
	s := newScript(t, answer(200, `{"errors":[{"message":"Internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`), answer(200, okVariants))
	c, _ := testClient(t, s)
	if _, err := c.LookupSKU(context.Background(), "A"); err != nil || s.count() != 2 {
		t.Fatalf("err %v after %d requests, want success after 2", err, s.count())
	}
}

func TestClientGraphQLErrorsAreTyped(t *testing.T) {
	s := newScript(t, answer(200, `{"data":{"productVariants":null},"errors":[{"message":"Access denied for productVariants field.","path":["productVariants"],"extensions":{"code":"ACCESS_DENIED"}}]}`))
	c, _ := testClient(t, s)
	_, err := c.LookupSKUs(context.Background(), []string{"A"})
	var gerrs *shopify.GraphQLErrors
	var gerr *shopify.GraphQLError
	if !errors.As(err, &gerrs) || !gerrs.HasCode("ACCESS_DENIED") || gerrs.Operation != "lookupVariants" {
		t.Fatalf("err = %#v, want *GraphQLErrors with ACCESS_DENIED", err)
	}
	if !errors.As(err, &gerr) || gerr.Code != "ACCESS_DENIED" || strings.Join(gerr.Path, ".") != "productVariants" {
		t.Errorf("errors.As *GraphQLError = %+v", gerr)
	}
	if !shopify.IsPermanent(err) || s.count() != 1 {
		t.Errorf("permanent %v after %d requests; want a permanent error, not retried", shopify.IsPermanent(err), s.count())
	}
}

func TestClientUnauthorized(t *testing.T) {
	srv := shopifytest.NewServer(shopifytest.WithToken("right"))
	defer srv.Close()
	c, err := shopify.NewClient("", "wrong", shopify.WithEndpoint(srv.GraphQLURL))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.LookupSKU(context.Background(), "A")
	var herr *shopify.HTTPError
	if !errors.As(err, &herr) || herr.StatusCode != 401 || !strings.Contains(herr.Message, "Invalid API key or access token") || !shopify.IsPermanent(err) {
		t.Fatalf("err = %v, want a permanent 401 with Shopify's message", err)
	}
}

func TestClientNeverRevealsToken(t *testing.T) {
	// A misbehaving proxy echoes the request headers into its answers.
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			tok := r.Header.Get("X-Shopify-Access-Token")
			body := fmt.Sprintf(`{"errors":[{"message":"bad token %s","extensions":{"code":"ACCESS_DENIED"}}]}`, tok)
			answer(status, body)(w, r)
		}
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, status := range []int{200, 403, 500} {
		s := newScript(t, echo(status))
		c, _ := testClient(t, s, shopify.WithLogger(logger), shopify.WithRetries(1))
		_, err := c.LookupSKU(context.Background(), "A")
		if err == nil {
			t.Fatalf("status %d: no error", status)
		}
		if strings.Contains(err.Error(), "shpat_secret_token") {
			t.Errorf("status %d: error reveals the token: %v", status, err)
		}
		if !strings.Contains(err.Error(), "[redacted]") {
			t.Errorf("status %d: error %q lost the rest of the message", status, err)
		}
	}
	if strings.Contains(logs.String(), "shpat_secret_token") {
		t.Errorf("logs reveal the token:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "shopify: request") {
		t.Errorf("nothing was logged at Debug:\n%s", logs.String())
	}
}

// blockingClock never lets a wait end: only the context can.
type blockingClock struct{ waiting chan struct{} }

func (blockingClock) Now() time.Time { return epoch }

func (b blockingClock) Sleep(ctx context.Context, _ time.Duration) error {
	close(b.waiting)
	<-ctx.Done()
	return ctx.Err()
}

func TestClientWaitEndsWithContext(t *testing.T) {
	s := newScript(t, answer(429, `{"errors":"slow down"}`, "Retry-After", "30"))
	clock := blockingClock{waiting: make(chan struct{})}
	c, err := shopify.NewClient("", "tok", shopify.WithEndpoint(s.srv.URL), shopify.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-clock.waiting
		cancel()
	}()
	_, err = c.LookupSKU(ctx, "A")
	if !errors.Is(err, context.Canceled) || shopify.IsPermanent(err) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if s.count() != 1 {
		t.Errorf("%d requests, want 1", s.count())
	}
}

func TestClientRejectsMangledAnswer(t *testing.T) {
	s := newScript(t, answer(200, `{"data":`))
	c, _ := testClient(t, s, shopify.WithRetries(1))
	if _, err := c.LookupSKU(context.Background(), "A"); err == nil || !strings.Contains(err.Error(), "reading response") || s.count() != 2 {
		t.Fatalf("err = %v after %d requests, want a read error after a retry", err, s.count())
	}
}

func TestClientExtensionsReachGenqlient(t *testing.T) {
	s := newScript(t, answer(200, `{"data":{"x":1},"extensions":`+costJSON(5, 995, 50)+`}`))
	c, _ := testClient(t, s)
	var data map[string]any
	resp := &graphql.Response{Data: &data}
	if err := c.MakeRequest(context.Background(), &graphql.Request{OpName: "x", Query: "{ x }"}, resp); err != nil {
		t.Fatal(err)
	}
	if data["x"] != float64(1) || resp.Extensions["cost"] == nil {
		t.Errorf("data %v, extensions %v", data, resp.Extensions)
	}
}

// TestClientMaxCostExceededFailsFast asks for a page dearer than the whole
// bucket: the answer is a typed, permanent error at once, and a second
// request of the same shape is refused without being sent.
func TestClientMaxCostExceededFailsFast(t *testing.T) {
	clock := shopifytest.NewVirtualClock(epoch)
	srv := shopifytest.NewServer(shopifytest.WithClock(clock), shopifytest.WithBucket(50, 5))
	defer srv.Close()
	c := srv.Client()
	skus := make([]string, 30) // first: 40, so 2 + 40 × 2 points requested
	for i := range skus {
		skus[i] = fmt.Sprintf("S-%d", i)
	}
	for attempt := range 2 {
		_, err := c.LookupSKUs(context.Background(), skus)
		var mc *shopify.MaxCostExceededError
		if !errors.As(err, &mc) || !shopify.IsPermanent(err) || mc.RequestedCost != 82 || mc.MaximumAvailable != 50 || mc.Operation != "lookupVariants" {
			t.Fatalf("attempt %d: err = %v, want a permanent *MaxCostExceededError for 82 > 50", attempt, err)
		}
	}
	if st := srv.Stats(); st.Requests != 1 || st.Throttled != 0 {
		t.Errorf("%d requests, %d throttled; want the first only, not retried", st.Requests, st.Throttled)
	}
	if clock.Slept() != 0 {
		t.Errorf("waited %v for a request no wait can pay for", clock.Slept())
	}
}
