package creativeaitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// newTestServer starts a server that the test closes when it ends.
func newTestServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// apiCall is one raw API request, built with plain net/http so that these
// tests do not depend on the creativeai client.
type apiCall struct {
	method, path string
	body         any // marshalled unless a string
	key          string
	noAuth       bool
	header       http.Header
}

// send makes the call with the server's own client and returns the answer
// with its body read.
func send(t testing.TB, s *Server, c apiCall) (*http.Response, []byte) {
	t.Helper()
	return sendWith(t, s.ts.Client(), s, c)
}

func sendWith(t testing.TB, hc *http.Client, s *Server, c apiCall) (*http.Response, []byte) {
	t.Helper()
	resp, err := trySend(hc, s, c)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", c.method, c.path, err)
	}
	return resp, b
}

func trySend(hc *http.Client, s *Server, c apiCall) (*http.Response, error) {
	var body io.Reader
	switch b := c.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(j)
	}
	url := c.path
	if strings.HasPrefix(url, "/") {
		url = s.URL + url
	}
	req, err := http.NewRequest(c.method, url, body)
	if err != nil {
		return nil, err
	}
	if !c.noAuth {
		req.Header.Set("Authorization", "Bearer "+s.APIKey)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Idempotency-Key", c.key)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	return hc.Do(req)
}

// createBody is a valid create request.
func createBody(prompt string) map[string]any {
	return map[string]any{
		"model":        "kling-v3",
		"prompt":       prompt,
		"image_url":    "https://cdn.example.com/catalog/mug-hero.jpg",
		"duration":     "5s",
		"aspect_ratio": "16:9",
	}
}

// create submits a video and returns the generation it was answered with.
func create(t testing.TB, s *Server, body any, key string) creativeai.Generation {
	t.Helper()
	resp, b := send(t, s, apiCall{method: "POST", path: "/v1/video/generations", body: body, key: key})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("create: status %d, body %s", resp.StatusCode, b)
	}
	return decodeGeneration(t, b)
}

func get(t testing.TB, s *Server, id string) creativeai.Generation {
	t.Helper()
	resp, b := send(t, s, apiCall{method: "GET", path: "/v1/video/generations/" + id})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get %s: status %d, body %s", id, resp.StatusCode, b)
	}
	return decodeGeneration(t, b)
}

func decodeGeneration(t testing.TB, b []byte) creativeai.Generation {
	t.Helper()
	var g creativeai.Generation
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("decoding generation %s: %v", b, err)
	}
	return g
}

// errorBody is the error shape every failed answer must have.
type errorBody struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    string `json:"code"`
		Param   string `json:"param"`
	} `json:"error"`
}

// checkError asserts an answer is a JSON error with the given status and
// type, and returns it.
func checkError(t testing.TB, resp *http.Response, b []byte, status int, typ string) errorBody {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, status, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id header")
	}
	var e errorBody
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error body %s: %v", b, err)
	}
	if e.Error.Type != typ || e.Error.Message == "" || e.Error.Code == "" {
		t.Errorf("error = %+v, want type %q with a message and a code", e.Error, typ)
	}
	return e
}

func waitIdle(t testing.TB, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.WaitIdle(ctx); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}
}

func TestAuthentication(t *testing.T) {
	s := newTestServer(t, WithAPIKey("rph_live_secret"))
	for _, tc := range []struct {
		name   string
		header string
		want   int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"wrong key", "Bearer rph_live_other", http.StatusUnauthorized},
		{"basic scheme", "Basic cnBoX2xpdmVfc2VjcmV0", http.StatusUnauthorized},
		{"no scheme", "rph_live_secret", http.StatusUnauthorized},
		{"prefix of the key", "Bearer rph_live_secre", http.StatusUnauthorized},
		{"right key", "Bearer rph_live_secret", http.StatusNotFound},
		{"lower-case scheme", "bearer rph_live_secret", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := apiCall{method: "GET", path: "/v1/video/generations/vgen_missing", noAuth: true, header: http.Header{}}
			if tc.header != "" {
				c.header.Set("Authorization", tc.header)
			}
			resp, b := send(t, s, c)
			typ := "authentication_error"
			if tc.want == http.StatusNotFound {
				typ = "not_found_error"
			}
			e := checkError(t, resp, b, tc.want, typ)
			if strings.Contains(string(b), "rph_live_secret") {
				t.Errorf("error body %s echoes the key", b)
			}
			_ = e
		})
	}
	if st := s.Stats(); st.Rejected != 7 || st.Requests != 7 {
		t.Errorf("Rejected = %d, Requests = %d, want 7 and 7", st.Rejected, st.Requests)
	}
}

func TestUnknownEndpoint(t *testing.T) {
	s := newTestServer(t)
	for _, c := range []apiCall{
		{method: "GET", path: "/v1/videos"},
		{method: "DELETE", path: "/v1/video/generations/vgen_1"},
		{method: "GET", path: "/elsewhere", noAuth: true},
	} {
		resp, b := send(t, s, c)
		e := checkError(t, resp, b, http.StatusNotFound, "invalid_request_error")
		if !strings.Contains(e.Error.Message, c.path) {
			t.Errorf("%s %s: message %q does not name the path", c.method, c.path, e.Error.Message)
		}
	}
}

func TestRequestIDsAreUnique(t *testing.T) {
	s := newTestServer(t)
	seen := map[string]bool{}
	for range 5 {
		resp, _ := send(t, s, apiCall{method: "GET", path: "/v1/video/generations"})
		id := resp.Header.Get("X-Request-Id")
		if id == "" || seen[id] {
			t.Fatalf("X-Request-Id %q empty or repeated", id)
		}
		seen[id] = true
	}
}

func TestNewServerRejectsInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Option
		want string
	}{
		{"failure rate", WithFailureRate(1.5), "WithFailureRate"},
		{"failover rate NaN", WithFailoverRate(nan()), "WithFailoverRate"},
		{"duplicates", WithWebhookDuplicates(-0.1), "WithWebhookDuplicates"},
		{"render time", WithRenderTime(-time.Second), "WithRenderTime"},
		{"api key with space", WithAPIKey("rph live"), "WithAPIKey"},
		{"empty secret", WithWebhookSecret(""), "WithWebhookSecret: invalid signing secret: empty"},
		{"short secret", WithWebhookSecret("hunter2"), "WithWebhookSecret: invalid signing secret: 7 bytes long"},
		{"truncated whsec_", WithWebhookSecret("whsec_rotated"), `WithWebhookSecret: invalid signing secret: the key after "whsec_" decodes to 5 bytes`},
		{"signature as secret", WithWebhookSecret("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), `starts with "v1,"`},
		{"output size", WithOutputSize(10), "WithOutputSize"},
		{"faults sum", WithFaults(Faults{Error500: 0.6, Error429: 0.6}), "add up to"},
		{"fault probability", WithFaults(Faults{DropConnection: 2}), "Faults.DropConnection"},
		{"retries", WithWebhookRetries(-1, time.Second), "WithWebhookRetries"},
		{"schedule", WithWebhookRetrySchedule(time.Second, -time.Second), "WithWebhookRetrySchedule"},
		{"concurrency", WithWebhookConcurrency(0), "WithWebhookConcurrency"},
		{"timeout", WithWebhookTimeout(0), "WithWebhookTimeout"},
		{"client", WithWebhookClient(nil), "WithWebhookClient"},
		{"models", WithModels(), "WithModels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				err, ok := r.(error)
				if !ok || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("NewServer panicked with %v, want an error mentioning %q", r, tc.want)
				}
			}()
			s := NewServer(tc.opt)
			s.Close()
		})
	}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

func TestWebhookRetriesSchedule(t *testing.T) {
	cfg := defaultConfig()
	WithWebhookRetries(4, 10*time.Millisecond)(&cfg)
	want := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}
	if fmt.Sprint(cfg.webhookRetries) != fmt.Sprint(want) {
		t.Errorf("WithWebhookRetries(4, 10ms) schedule = %v, want %v", cfg.webhookRetries, want)
	}
	if got := defaultConfig().webhookRetries; fmt.Sprint(got) != "[0s 5s 30s]" {
		t.Errorf("default schedule = %v, want the service's [0s 5s 30s]", got)
	}
}

// TestCloseLeavesNoGoroutines runs a busy server (timed renders, webhooks
// to a receiver that never answers, downloads) and checks that Close
// returns and leaves none of its goroutines behind.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	hung := make(chan struct{})
	var once sync.Once
	receiver := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(hung) })
		<-r.Context().Done() // never answers; Close must cancel
	})
	s := NewServer(WithRenderTime(time.Millisecond), WithWebhookRetries(3, time.Hour), WithSeed(1))
	for i := range 20 {
		body := createBody(fmt.Sprint("leak ", i))
		body["webhook_url"] = receiver.URL
		create(t, s, body, "")
	}
	<-hung
	s.Close()
	s.Close() // a second Close is harmless

	if st := s.Stats(); st.Renders != 20 || st.DeliveriesPending != 0 {
		t.Errorf("after Close: Renders = %d, DeliveriesPending = %d, want 20 and 0", st.Renders, st.DeliveriesPending)
	}
	if _, err := s.Advance(s.Generations()[0].ID); err == nil {
		t.Error("Advance after Close succeeded")
	}
	checkNoGoroutines(t, "creativeaitest.(*dispatcher)", "creativeaitest.(*Server)", "net/http.(*persistConn)")
}

// checkNoGoroutines fails unless no goroutine's stack mentions any of the
// given functions. Goroutines that were told to stop may still be
// unwinding, so it looks again for a while before failing, as goleak does.
func checkNoGoroutines(t *testing.T, funcs ...string) {
	t.Helper()
	var stacks string
	for wait := time.Millisecond; wait < 5*time.Second; wait *= 2 {
		buf := make([]byte, 1<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		leaked := false
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "TestCloseLeavesNoGoroutines") {
				continue // this test's own goroutine
			}
			for _, f := range funcs {
				leaked = leaked || strings.Contains(g, f)
			}
		}
		if !leaked {
			return
		}
		time.Sleep(wait)
	}
	t.Fatalf("goroutines left after Close:\n%s", stacks)
}
