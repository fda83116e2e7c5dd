package creativeai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAPIErrorParsesBodies(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		want        APIError // Type, Code, Message only
	}{
		{"OpenAI style", "application/json",
			`{"error":{"message":"Rate limit reached","type":"rate_limit_error","code":"rate_limit_exceeded"}}`,
			APIError{Type: "rate_limit_error", Code: "rate_limit_exceeded", Message: "Rate limit reached"}},
		{"nested with numeric code", "application/json",
			`{"error":{"message":"bad","code":4001}}`,
			APIError{Code: "4001", Message: "bad"}},
		{"error string", "application/json",
			`{"error":"invalid image_url"}`,
			APIError{Message: "invalid image_url"}},
		{"error code beside message", "application/json",
			`{"error":"insufficient_credits","message":"Top up to continue"}`,
			APIError{Code: "insufficient_credits", Message: "Top up to continue"}},
		{"top-level message", "application/json",
			`{"message":"Generation not found","code":"not_found","type":"invalid_request"}`,
			APIError{Type: "invalid_request", Code: "not_found", Message: "Generation not found"}},
		{"detail", "application/json",
			`{"detail":"Not authenticated"}`,
			APIError{Message: "Not authenticated"}},
		{"null error", "application/json",
			`{"error":null,"message":"m"}`,
			APIError{Message: "m"}},
		{"unknown fields only", "application/json", `{"foo":1}`, APIError{}},
		{"broken JSON", "application/json", `{"error":`, APIError{}},
		{"JSON array", "application/json", `[1,2]`, APIError{}},
		{"HTML from a proxy", "text/html", `<html><body>502 Bad Gateway</body></html>`, APIError{}},
		{"plain text", "text/plain; charset=utf-8", "upstream connect error\n", APIError{Message: "upstream connect error"}},
		{"plain text, long", "text/plain", strings.Repeat("é", 600), APIError{Message: strings.Repeat("é", maxPlainMessage/2) + "…"}},
		{"empty", "", "", APIError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got APIError
			parseErrorBody(&got, []byte(tt.body), tt.contentType)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parsed error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAPIErrorFromServer(t *testing.T) {
	client, mux := setup(t)
	mux.HandleFunc("GET /v1/video/generations/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req_9")
		writeJSON(t, w, http.StatusNotFound, map[string]any{
			"error": map[string]any{"message": "No such generation", "type": "invalid_request_error", "code": "generation_not_found"},
		})
	})
	_, resp, err := client.Videos.Get(t.Context(), "vgen_missing")
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	want := &APIError{
		StatusCode: http.StatusNotFound,
		Type:       "invalid_request_error",
		Code:       "generation_not_found",
		Message:    "No such generation",
		RequestID:  "req_9",
		Body:       []byte(`{"error":{"code":"generation_not_found","message":"No such generation","type":"invalid_request_error"}}` + "\n"),
		Method:     "GET",
		Path:       "/api-prefix/v1/video/generations/vgen_missing",
	}
	if diff := cmp.Diff(want, apiErr); diff != "" {
		t.Errorf("APIError (-want +got):\n%s", diff)
	}
	if got, want := err.Error(), "creativeai: GET /api-prefix/v1/video/generations/vgen_missing: 404 Not Found: generation_not_found: No such generation (request id req_9)"; got != want {
		t.Errorf("Error() = %q\nwant      %q", got, want)
	}
	if resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("Response not returned beside the error")
	}
	if !IsNotFound(err) || IsRateLimited(err) || IsUnauthorized(err) || IsRetryable(err) {
		t.Errorf("helpers disagree with a 404")
	}
}

func TestAPIErrorString(t *testing.T) {
	tests := []struct {
		err  *APIError
		want string
	}{
		{&APIError{StatusCode: 500}, "creativeai: 500 Internal Server Error"},
		{&APIError{StatusCode: 599}, "creativeai: 599"},
		{&APIError{StatusCode: 401, Type: "auth", Message: "bad key"}, "creativeai: 401 Unauthorized: auth: bad key"},
		{&APIError{StatusCode: 429, Method: "POST", Path: "/v1/x", RequestID: "r"}, "creativeai: POST /v1/x: 429 Too Many Requests (request id r)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestErrorBodyBounded: an error answer with an endless body must be read
// only up to the limit, and only that much kept.
func TestErrorBodyBounded(t *testing.T) {
	client, read := endlessBodyClient(t, http.StatusBadRequest, "text/plain", "")
	_, _, err := client.Videos.Get(t.Context(), "vgen_1")
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	if len(apiErr.Body) != maxErrorBody {
		t.Errorf("len(Body) = %d, want %d", len(apiErr.Body), maxErrorBody)
	}
	if read.n > maxErrorBody+8<<10 {
		t.Errorf("read %d bytes of an endless error body, want about %d", read.n, maxErrorBody)
	}
	if len(apiErr.Error()) > 1024 {
		t.Errorf("Error() is %d bytes long; the message should be truncated", len(apiErr.Error()))
	}
}

func TestErrorHelpers(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("submitting row 3: %w", err) }
	tests := []struct {
		name                                        string
		err                                         error
		rateLimited, notFound, unauthorized, retryd bool
	}{
		{"429", wrap(&APIError{StatusCode: 429}), true, false, false, true},
		{"404", wrap(&APIError{StatusCode: 404}), false, true, false, false},
		{"401", wrap(&APIError{StatusCode: 401}), false, false, true, false},
		{"503", wrap(&APIError{StatusCode: 503}), false, false, false, true},
		{"400", &APIError{StatusCode: 400}, false, false, false, false},
		{"transport", wrap(&transportError{msg: "x", err: io.ErrUnexpectedEOF, retryable: true}), false, false, false, true},
		{"certificate", &transportError{msg: "x", retryable: false}, false, false, false, false},
		{"context", wrap(context.Canceled), false, false, false, false},
		{"nil", nil, false, false, false, false},
		{"other", errors.New("boom"), false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := []bool{IsRateLimited(tt.err), IsNotFound(tt.err), IsUnauthorized(tt.err), IsRetryable(tt.err)}
			want := []bool{tt.rateLimited, tt.notFound, tt.unauthorized, tt.retryd}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("[IsRateLimited IsNotFound IsUnauthorized IsRetryable] (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetryableTransport(t *testing.T) {
	if retryableTransport(context.Canceled) {
		t.Error("context.Canceled is retryable")
	}
	if !retryableTransport(io.ErrUnexpectedEOF) {
		t.Error("io.ErrUnexpectedEOF is not retryable")
	}
}

// TestCertificateErrorNotRetried: an untrusted certificate will not become
// trusted by asking again.
func TestCertificateErrorNotRetried(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request reached a server the client must not trust")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)

	client, err := NewClient(testKey, WithBaseURL(srv.URL), WithRetryPolicy(fastRetries))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = client.Videos.Get(t.Context(), "vgen_1")
	if err == nil {
		t.Fatal("Get from an untrusted server succeeded")
	}
	if IsRetryable(err) {
		t.Errorf("IsRetryable(%v) = true for a certificate error", err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1 (no retry)", n)
	}
}

func TestIsIdempotencyConflict(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"simulator 422", fmt.Errorf("row 3: %w", &APIError{StatusCode: 422, Type: "idempotency_error", Code: "idempotency_key_reused"}), true},
		{"stripe-style 400", &APIError{StatusCode: 400, Type: "idempotency_error"}, true},
		{"409 by code", &APIError{StatusCode: 409, Code: "Idempotency_Key_In_Use"}, true},
		{"422 validation", &APIError{StatusCode: 422, Type: "invalid_request_error", Code: "invalid_image_url"}, false},
		{"500 naming idempotency", &APIError{StatusCode: 500, Type: "idempotency_error"}, false},
		{"not an API error", errors.New("idempotency_error"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsIdempotencyConflict(tt.err); got != tt.want {
				t.Errorf("IsIdempotencyConflict(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
