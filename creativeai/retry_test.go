package creativeai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// renderServer is a fake of the create endpoint that deduplicates on
// Idempotency-Key, as the service is assumed to, and can fail an answer
// after it has created the job.
type renderServer struct {
	t *testing.T

	mu      sync.Mutex
	keys    []string          // Idempotency-Key of every request, in order
	bodies  []string          // raw body of every request
	byKey   map[string]string // idempotency key -> generation id
	renders int               // generations created
	// failAfterCreate answers this status after creating the job, for the
	// first n requests.
	failAfterCreate int
	failStatus      int
}

func (s *renderServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("reading body: %v", err)
	}
	key := r.Header.Get("Idempotency-Key")

	s.mu.Lock()
	s.keys = append(s.keys, key)
	s.bodies = append(s.bodies, string(body))
	id, replay := s.byKey[key]
	if key == "" || !replay {
		s.renders++
		id = "vgen_" + strconv.Itoa(s.renders)
		if key != "" {
			s.byKey[key] = id
		}
	}
	fail := s.failAfterCreate > 0
	if fail {
		s.failAfterCreate--
	}
	s.mu.Unlock()

	if fail {
		http.Error(w, "upstream render gateway failed", s.failStatus)
		return
	}
	writeJSON(s.t, w, http.StatusAccepted, map[string]any{"id": id, "status": "pending"})
}

func newRenderServer(t *testing.T, failures, status int) *renderServer {
	return &renderServer{t: t, byKey: map[string]string{}, failAfterCreate: failures, failStatus: status}
}

// TestCreateRetryNoDuplicateRender is the scenario idempotency keys exist
// for: the service creates the job, then the answer is lost to a 502. The
// retry must carry the same key so the service returns the job it already
// has instead of rendering (and charging) a second time.
func TestCreateRetryNoDuplicateRender(t *testing.T) {
	client, mux := setup(t)
	srv := newRenderServer(t, 1, http.StatusBadGateway)
	mux.Handle("POST /v1/video/generations", srv)

	g, resp, err := client.Videos.Create(t.Context(), &VideoRequest{Model: "kling-v3", Prompt: "slow push", Duration: 5}, WithIdempotencyKey("sku-1001/attempt-0"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if diff := cmp.Diff([]string{"sku-1001/attempt-0", "sku-1001/attempt-0"}, srv.keys); diff != "" {
		t.Errorf("Idempotency-Key per attempt (-want +got):\n%s", diff)
	}
	if srv.renders != 1 {
		t.Errorf("server rendered %d times, want 1", srv.renders)
	}
	if g.ID != "vgen_1" || resp.Attempts != 2 {
		t.Errorf("got generation %q after %d attempts, want vgen_1 after 2", g.ID, resp.Attempts)
	}
	// The body is rewound for the retry, not sent empty.
	if len(srv.bodies) != 2 || srv.bodies[0] != srv.bodies[1] || srv.bodies[0] == "" {
		t.Errorf("bodies differ between attempts: %q", srv.bodies)
	}
	want := `{"model":"kling-v3","prompt":"slow push","duration":"5s"}`
	if srv.bodies[0] != want {
		t.Errorf("body = %s, want %s", srv.bodies[0], want)
	}
}

// TestCreateWithoutKeyNotRetried shows why the key matters: without one, a
// 5xx after creation is returned to the caller rather than risking a second
// render.
func TestCreateWithoutKeyNotRetried(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusRequestTimeout, http.StatusConflict} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			client, mux := setup(t)
			srv := newRenderServer(t, 1, status)
			mux.Handle("POST /v1/video/generations", srv)

			_, resp, err := client.Videos.Create(t.Context(), &VideoRequest{Prompt: "p"})
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != status {
				t.Fatalf("err = %v, want *APIError with status %d", err, status)
			}
			if len(srv.keys) != 1 || resp.Attempts != 1 {
				t.Errorf("%d requests (%d attempts), want 1", len(srv.keys), resp.Attempts)
			}
			if !IsRetryable(err) {
				t.Errorf("IsRetryable(%v) = false; the caller may replay with a key", err)
			}
		})
	}
}

// TestCreateWithoutKeyRetriedOn429: a rate-limited request was not
// processed, so resending it cannot render twice.
func TestCreateWithoutKeyRetriedOn429(t *testing.T) {
	client, mux := setup(t)
	var calls int
	mux.HandleFunc("POST /v1/video/generations", func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			w.Header().Set("Retry-After-Ms", "1")
			writeJSON(t, w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{"message": "slow down", "type": "rate_limit_error"}})
			return
		}
		writeJSON(t, w, http.StatusAccepted, map[string]any{"id": "vgen_1", "status": "pending"})
	})
	g, resp, err := client.Videos.Create(t.Context(), &VideoRequest{Prompt: "p"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if g.ID != "vgen_1" || calls != 2 || resp.Attempts != 2 {
		t.Errorf("got %q after %d calls (Attempts %d), want vgen_1 after 2", g.ID, calls, resp.Attempts)
	}
}

func TestGetRetriesByStatus(t *testing.T) {
	tests := []struct {
		status int
		retry  bool
	}{
		{http.StatusRequestTimeout, true},
		{http.StatusConflict, true},
		{http.StatusTooManyRequests, true},
		{http.StatusInternalServerError, true},
		{http.StatusBadGateway, true},
		{http.StatusServiceUnavailable, true},
		{http.StatusGatewayTimeout, true},
		{http.StatusBadRequest, false},
		{http.StatusUnauthorized, false},
		{http.StatusForbidden, false},
		{http.StatusNotFound, false},
		{http.StatusUnprocessableEntity, false},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			client, mux := setup(t)
			var calls int
			mux.HandleFunc("GET /v1/video/generations/{id}", func(w http.ResponseWriter, r *http.Request) {
				calls++
				if calls == 1 {
					w.WriteHeader(tt.status)
					return
				}
				writeJSON(t, w, http.StatusOK, map[string]any{"id": "vgen_1", "status": "processing"})
			})
			_, resp, err := client.Videos.Get(t.Context(), "vgen_1")
			wantCalls := 1
			if tt.retry {
				wantCalls = 2
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
			} else if !hasStatus(err, tt.status) {
				t.Fatalf("err = %v, want *APIError %d", err, tt.status)
			}
			if calls != wantCalls || resp.Attempts != wantCalls {
				t.Errorf("%d calls (Attempts %d), want %d", calls, resp.Attempts, wantCalls)
			}
			if got := IsRetryable(&APIError{StatusCode: tt.status}); got != tt.retry {
				t.Errorf("IsRetryable(%d) = %v, want %v", tt.status, got, tt.retry)
			}
		})
	}
}

func TestRetriesExhausted(t *testing.T) {
	client, mux := setup(t)
	var calls int
	mux.HandleFunc("GET /v1/video/generations/{id}", func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("X-Request-Id", "req_"+strconv.Itoa(calls))
		writeJSON(t, w, http.StatusServiceUnavailable, map[string]any{"error": "overloaded"})
	})
	_, resp, err := client.Videos.Get(t.Context(), "vgen_1")
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	want := fastRetries.MaxRetries + 1
	if calls != want || resp.Attempts != want {
		t.Errorf("%d calls (Attempts %d), want %d", calls, resp.Attempts, want)
	}
	// The error describes the last attempt.
	if apiErr.RequestID != "req_"+strconv.Itoa(want) || resp.RequestID != apiErr.RequestID {
		t.Errorf("RequestID = %q (response %q), want req_%d", apiErr.RequestID, resp.RequestID, want)
	}
}

func TestNoRetriesPolicy(t *testing.T) {
	client, mux := setup(t, WithRetryPolicy(RetryPolicy{MaxRetries: 0}))
	var calls int
	mux.HandleFunc("GET /v1/video/generations/{id}", func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	if _, _, err := client.Videos.Get(t.Context(), "vgen_1"); !hasStatus(err, http.StatusServiceUnavailable) {
		t.Fatalf("err = %v, want 503", err)
	}
	if calls != 1 {
		t.Errorf("%d calls with MaxRetries 0, want 1", calls)
	}
}

// dropFirst closes the connection without an answer on the first n requests.
// The returned function reports how many requests arrived.
func dropFirst(t *testing.T, n int, next http.Handler) (http.Handler, func() int) {
	var calls int
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		drop := calls <= n
		mu.Unlock()
		if !drop {
			next.ServeHTTP(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		conn.Close()
	}), func() int { mu.Lock(); defer mu.Unlock(); return calls }
}

func TestConnectionErrors(t *testing.T) {
	tests := []struct {
		name      string
		post      bool
		key       bool
		wantCalls int
		wantErr   bool
	}{
		{"GET retried", false, false, 2, false},
		{"POST with key retried", true, true, 2, false},
		{"POST without key not retried", true, false, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, mux := setup(t)
			ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				writeJSON(t, w, http.StatusAccepted, map[string]any{"id": "vgen_1", "status": "pending"})
			})
			h, calls := dropFirst(t, 1, ok)
			mux.Handle("/v1/video/generations/", h)
			mux.Handle("/v1/video/generations", h)

			var err error
			if tt.post {
				var opts []RequestOption
				if tt.key {
					opts = append(opts, WithIdempotencyKey("k"))
				}
				_, _, err = client.Videos.Create(t.Context(), &VideoRequest{Prompt: "p"}, opts...)
			} else {
				_, _, err = client.Videos.Get(t.Context(), "vgen_1")
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			if n := calls(); n != tt.wantCalls {
				t.Errorf("%d calls, want %d", n, tt.wantCalls)
			}
			if err != nil {
				if !IsRetryable(err) {
					t.Errorf("IsRetryable(%v) = false for a dropped connection", err)
				}
				var apiErr *APIError
				if errors.As(err, &apiErr) {
					t.Errorf("a dropped connection gave an *APIError: %v", err)
				}
				if !strings.HasPrefix(err.Error(), "creativeai: POST /api-prefix/v1/video/generations: ") {
					t.Errorf("error %q does not name the request", err)
				}
			}
		})
	}
}

// recordTimes registers a handler that notes the (bubble) time of every
// request and answers with the next of the given responders.
func recordTimes(mux *http.ServeMux, pattern string, responders ...http.HandlerFunc) *[]time.Duration {
	start := time.Now()
	var times []time.Duration
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		times = append(times, time.Since(start))
		responders[min(len(times), len(responders))-1](w, r)
	})
	return &times
}

func status(code int, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
	}
}

func okGeneration(status Status) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"status":%q}`, r.PathValue("id"), status)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	// The bubble's clock starts at 2000-01-01 00:00:00 UTC.
	bubbleStart := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header []string
		policy RetryPolicy
		want   time.Duration
	}{
		{"seconds", []string{"Retry-After", "7"}, DefaultRetryPolicy(), 7 * time.Second},
		{"milliseconds", []string{"Retry-After-Ms", "1500"}, DefaultRetryPolicy(), 1500 * time.Millisecond},
		{"milliseconds win over seconds", []string{"Retry-After", "9", "Retry-After-Ms", "250"}, DefaultRetryPolicy(), 250 * time.Millisecond},
		{"HTTP date", []string{"Retry-After", bubbleStart.Add(4 * time.Second).Format(http.TimeFormat)}, DefaultRetryPolicy(), 4 * time.Second},
		{"zero", []string{"Retry-After", "0"}, DefaultRetryPolicy(), 0},
		{"capped at MaxDelay", []string{"Retry-After", "3600"}, RetryPolicy{MaxRetries: 1, MaxDelay: 10 * time.Second}, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client, mux := setupSynctest(t, WithRetryPolicy(tt.policy))
				times := recordTimes(mux, "GET /v1/video/generations/{id}",
					status(http.StatusTooManyRequests, tt.header...),
					okGeneration(StatusPending))
				if _, _, err := client.Videos.Get(t.Context(), "vgen_1"); err != nil {
					t.Fatalf("Get: %v", err)
				}
				if diff := cmp.Diff([]time.Duration{0, tt.want}, *times); diff != "" {
					t.Errorf("request times (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestRetryAfterOnAPIError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, mux := setupSynctest(t, WithRetryPolicy(RetryPolicy{MaxRetries: 0}))
		mux.HandleFunc("GET /v1/video/generations/{id}", status(http.StatusTooManyRequests, "Retry-After", "120"))
		_, _, err := client.Videos.Get(t.Context(), "vgen_1")
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.RetryAfter != 2*time.Minute {
			t.Fatalf("err = %#v, want *APIError with RetryAfter 2m", err)
		}
		if !IsRateLimited(err) {
			t.Errorf("IsRateLimited(%v) = false", err)
		}
	})
}

func TestBackoffWithoutRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		policy := RetryPolicy{MaxRetries: 5, InitialDelay: time.Second, MaxDelay: 5 * time.Second}
		client, mux := setupSynctest(t, WithRetryPolicy(policy))
		times := recordTimes(mux, "GET /v1/video/generations/{id}", status(http.StatusServiceUnavailable))
		if _, _, err := client.Videos.Get(t.Context(), "vgen_1"); !hasStatus(err, http.StatusServiceUnavailable) {
			t.Fatalf("err = %v, want 503", err)
		}
		if len(*times) != 6 {
			t.Fatalf("%d attempts, want 6", len(*times))
		}
		// Each wait is the doubled delay, capped, less up to 25% jitter.
		nominal := []time.Duration{1, 2, 4, 5, 5}
		for i, n := range nominal {
			gap := (*times)[i+1] - (*times)[i]
			hi := n * time.Second
			lo := hi - hi/4
			if gap < lo || gap > hi {
				t.Errorf("wait before retry %d = %v, want in [%v, %v]", i+1, gap, lo, hi)
			}
		}
	})
}

// TestRetryWaitEndsWithContext: a caller that gives up must not sit out a
// long Retry-After.
func TestRetryWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, mux := setupSynctest(t)
		mux.HandleFunc("GET /v1/video/generations/{id}", status(http.StatusServiceUnavailable, "Retry-After", "25"))
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(2*time.Second, cancel)

		start := time.Now()
		_, resp, err := client.Videos.Get(ctx, "vgen_1")
		if elapsed := time.Since(start); elapsed != 2*time.Second {
			t.Errorf("Get returned after %v, want 2s (when the context was cancelled)", elapsed)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want it to wrap context.Canceled", err)
		}
		if !hasStatus(err, http.StatusServiceUnavailable) {
			t.Errorf("err = %v, want it to keep the 503 that was being retried", err)
		}
		if resp == nil || resp.Attempts != 1 {
			t.Errorf("resp = %+v, want the one attempt made", resp)
		}
		if IsRetryable(err) != true {
			t.Errorf("IsRetryable = false for an interrupted 503 retry")
		}
	})
}

func TestRequestEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, mux := setupSynctest(t)
		mux.HandleFunc("GET /v1/video/generations/{id}", func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // never answers
		})
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		start := time.Now()
		_, _, err := client.Videos.Get(ctx, "vgen_1")
		if elapsed := time.Since(start); elapsed != 3*time.Second {
			t.Errorf("Get returned after %v, want 3s", elapsed)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		if IsRetryable(err) {
			t.Errorf("IsRetryable(%v) = true for an ended context", err)
		}
	})
}

func TestRetryPolicyValidate(t *testing.T) {
	if err := DefaultRetryPolicy().validate(); err != nil {
		t.Errorf("DefaultRetryPolicy invalid: %v", err)
	}
	if err := (RetryPolicy{}).validate(); err != nil {
		t.Errorf("zero RetryPolicy invalid: %v", err)
	}
}

// TestRetryRewindsBody uses a RoundTripper that, unlike http.Transport, does
// nothing to rewind a consumed body: every attempt must still send it whole.
func TestRetryRewindsBody(t *testing.T) {
	var bodies []string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body.Close()
		bodies = append(bodies, string(b))
		code, body := http.StatusBadGateway, ""
		if len(bodies) == 3 {
			code, body = http.StatusAccepted, `{"id":"vgen_1","status":"pending"}`
		}
		return &http.Response{StatusCode: code, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	})}
	client, err := NewClient(testKey, WithHTTPClient(hc), WithRetryPolicy(fastRetries))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.Videos.Create(t.Context(), &VideoRequest{Prompt: "p"}, WithIdempotencyKey("k")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	want := `{"prompt":"p"}`
	if diff := cmp.Diff([]string{want, want, want}, bodies); diff != "" {
		t.Errorf("bodies per attempt (-want +got):\n%s", diff)
	}
}

// TestIdempotencyConflictNotRetried: a 409 that says the key is in conflict
// is returned after one request, since resending the same key cannot change
// the answer; any other 409 is still retried.
func TestIdempotencyConflictNotRetried(t *testing.T) {
	tests := []struct {
		name      string
		body      map[string]any
		wantCalls int
		conflict  bool
	}{
		{"idempotency type", map[string]any{"error": map[string]any{"type": "idempotency_error", "message": "key in use"}}, 1, true},
		{"idempotency code", map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "idempotency_key_in_use"}}, 1, true},
		{"other conflict", map[string]any{"error": map[string]any{"type": "conflict", "message": "busy"}}, fastRetries.MaxRetries + 1, false},
		{"no body", nil, fastRetries.MaxRetries + 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, mux := setup(t)
			var mu sync.Mutex
			calls := 0
			mux.HandleFunc("POST /v1/video/generations", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				calls++
				mu.Unlock()
				if tt.body == nil {
					w.WriteHeader(http.StatusConflict)
					return
				}
				writeJSON(t, w, http.StatusConflict, tt.body)
			})
			_, resp, err := client.Videos.Create(t.Context(), &VideoRequest{Prompt: "p"}, WithIdempotencyKey("sku-1/0"))
			if !hasStatus(err, http.StatusConflict) {
				t.Fatalf("err = %v, want *APIError 409", err)
			}
			mu.Lock()
			got := calls
			mu.Unlock()
			if got != tt.wantCalls || resp.Attempts != tt.wantCalls {
				t.Errorf("%d requests (Attempts %d), want %d", got, resp.Attempts, tt.wantCalls)
			}
			if IsIdempotencyConflict(err) != tt.conflict {
				t.Errorf("IsIdempotencyConflict = %v, want %v", !tt.conflict, tt.conflict)
			}
			if IsRetryable(err) == tt.conflict {
				t.Errorf("IsRetryable = %v, want %v", tt.conflict, !tt.conflict)
			}
		})
	}
}
