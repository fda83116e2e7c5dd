package creativeai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testKey is the API key of the test clients. It is distinctive so that the
// redaction tests can search any output for it.
const testKey = "rph_live_T0PSECRET-test-key"

// apiPrefix is where the test servers mount the API, so that every test also
// checks that the client keeps the base URL's path.
const apiPrefix = "/api-prefix/"

// fastRetries keeps real-network tests quick; timing is checked separately
// under synctest.
var fastRetries = RetryPolicy{MaxRetries: 3, InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

// setup starts an httptest server with the API mounted under apiPrefix and
// returns a client for it and the mux on which tests register handlers,
// in the style of go-github. Handlers registered on the mux see paths
// without the prefix.
func setup(t *testing.T, opts ...Option) (*Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mountAPI(t, mux))
	t.Cleanup(srv.Close)
	opts = append([]Option{
		WithBaseURL(srv.URL + apiPrefix),
		WithHTTPClient(srv.Client()),
		WithRetryPolicy(fastRetries),
	}, opts...)
	c, err := NewClient(testKey, opts...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, mux
}

// mountAPI serves mux under apiPrefix and fails the test for any request
// outside it or without the client's credentials.
func mountAPI(t *testing.T, mux *http.ServeMux) http.Handler {
	root := http.NewServeMux()
	root.Handle(apiPrefix, http.StripPrefix(strings.TrimSuffix(apiPrefix, "/"), http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			if got, want := r.Header.Get("Authorization"), "Bearer "+testKey; got != want {
				t.Errorf("%s %s: Authorization = %q, want %q", r.Method, r.URL.Path, got, want)
			}
			mux.ServeHTTP(w, r)
		})))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside %s: %s %s", apiPrefix, r.Method, r.URL.Path)
		http.Error(w, "outside the API prefix", http.StatusBadGateway)
	})
	return root
}

// setupSynctest is setup for tests inside a synctest bubble. Loopback sockets
// block outside the bubble's control, so time could never advance; the
// server runs on an in-memory network of net.Pipe connections instead. It
// must be called inside the bubble.
func setupSynctest(t *testing.T, opts ...Option) (*Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	pn := &pipeNetwork{conns: make(chan net.Conn), done: make(chan struct{})}
	srv := &http.Server{Handler: mountAPI(t, mux)}
	go func() { _ = srv.Serve(pn) }()
	tr := &http.Transport{DialContext: pn.DialContext}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
	})
	opts = append([]Option{
		WithBaseURL("http://creativeai.test" + apiPrefix),
		WithHTTPClient(&http.Client{Transport: tr}),
	}, opts...)
	c, err := NewClient(testKey, opts...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, mux
}

// pipeNetwork is a net.Listener whose connections come from its own
// DialContext.
type pipeNetwork struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (p *pipeNetwork) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}

func (p *pipeNetwork) Close() error {
	p.once.Do(func() { close(p.done) })
	return nil
}

func (p *pipeNetwork) Addr() net.Addr { return &net.UnixAddr{Name: "pipe", Net: "pipe"} }

func (p *pipeNetwork) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case p.conns <- server:
		return client, nil
	case <-p.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// writeJSON answers with status and v as JSON.
func writeJSON(t *testing.T, w http.ResponseWriter, status int, v any) {
	t.Helper()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		t.Errorf("encoding response: %v", err)
	}
}

// logBuffer is a concurrency-safe buffer for a slog handler.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestNewClientDefaults(t *testing.T) {
	c, err := NewClient("  " + testKey + "\n")
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	if got, want := c.BaseURL(), DefaultBaseURL+"/"; got != want {
		t.Errorf("BaseURL() = %q, want %q", got, want)
	}
	if c.cfg.apiKey.value != testKey {
		t.Errorf("surrounding whitespace was not trimmed from the key")
	}
	if got, want := c.cfg.retry, DefaultRetryPolicy(); got != want {
		t.Errorf("retry policy = %+v, want %+v", got, want)
	}
	if c.cfg.httpClient == http.DefaultClient || c.cfg.httpClient.Timeout == 0 {
		t.Errorf("default HTTP client should be private and have a timeout")
	}
	if c.Videos == nil || c.Images == nil || c.Videos.client != c || c.Images.client != c {
		t.Errorf("services are not wired to the client")
	}
}

func TestNewClientOptionErrors(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		opts    []Option
		wantErr string
	}{
		{"empty key", "", nil, "empty API key"},
		{"blank key", " \t", nil, "empty API key"},
		{"key with inner space", "rph_live_a b", nil, "whitespace or control characters"},
		{"key with newline", "rph_live_a\nb", nil, "whitespace or control characters"},
		{"empty base URL", testKey, []Option{WithBaseURL("")}, "empty base URL"},
		{"unparsable base URL", testKey, []Option{WithBaseURL("http://[::1")}, "invalid base URL"},
		{"relative base URL", testKey, []Option{WithBaseURL("/v1")}, "scheme must be http or https"},
		{"ftp base URL", testKey, []Option{WithBaseURL("ftp://example.com")}, "scheme must be http or https"},
		{"base URL without host", testKey, []Option{WithBaseURL("http:///v1")}, "has no host"},
		{"base URL with user info", testKey, []Option{WithBaseURL("https://u:p@example.com")}, "user info"},
		{"base URL with query", testKey, []Option{WithBaseURL("https://example.com/?a=1")}, "query or fragment"},
		{"base URL with fragment", testKey, []Option{WithBaseURL("https://example.com/#x")}, "query or fragment"},
		{"nil HTTP client", testKey, []Option{WithHTTPClient(nil)}, "nil *http.Client"},
		{"negative retries", testKey, []Option{WithRetryPolicy(RetryPolicy{MaxRetries: -1})}, "MaxRetries is -1"},
		{"negative initial delay", testKey, []Option{WithRetryPolicy(RetryPolicy{InitialDelay: -time.Second})}, "InitialDelay is -1s"},
		{"negative max delay", testKey, []Option{WithRetryPolicy(RetryPolicy{MaxDelay: -time.Second})}, "MaxDelay is -1s"},
		{"initial above max", testKey, []Option{WithRetryPolicy(RetryPolicy{InitialDelay: time.Minute, MaxDelay: time.Second})}, "exceeds MaxDelay"},
		{"empty user agent", testKey, []Option{WithUserAgent(" ")}, "empty user agent"},
		{"user agent with newline", testKey, []Option{WithUserAgent("app/1\r\nX-Evil: 1")}, "control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.key, tt.opts...)
			if err == nil {
				t.Fatalf("NewClient succeeded (%v), want error containing %q", c, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			if k := strings.TrimSpace(tt.key); k != "" && strings.Contains(err.Error(), k) {
				t.Errorf("error %q echoes the API key", err)
			}
		})
	}
}

// TestNilOptionsAndLogger: a nil option is skipped, and WithLogger(nil)
// discards, replacing a logger set before it; a retry, which logs, then
// neither panics nor writes to the replaced logger.
func TestNilOptionsAndLogger(t *testing.T) {
	for _, tt := range []struct {
		name     string
		opts     func(*slog.Logger) []Option
		wantLogs bool
	}{
		{"nil option, then a logger", func(l *slog.Logger) []Option { return []Option{nil, WithLogger(l), nil} }, true},
		{"logger replaced by nil", func(l *slog.Logger) []Option { return []Option{WithLogger(l), WithLogger(nil)} }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			client, mux := setup(t, tt.opts(logger)...)
			calls := 0
			mux.HandleFunc("GET /v1/video/generations/{id}", func(w http.ResponseWriter, r *http.Request) {
				if calls++; calls == 1 {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				writeJSON(t, w, http.StatusOK, map[string]any{"id": "vgen_1", "status": "pending"})
			})
			if _, _, err := client.Videos.Get(t.Context(), "vgen_1"); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(logs.String(), "retrying request"); got != tt.wantLogs {
				t.Errorf("retry logged = %v, want %v (logs %q)", got, tt.wantLogs, logs.String())
			}
		})
	}
}

func TestWithBaseURLKeepsPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://example.com", "https://example.com/"},
		{"https://example.com/", "https://example.com/"},
		{"http://127.0.0.1:8080/proxy", "http://127.0.0.1:8080/proxy/"},
		{" http://127.0.0.1:8080/proxy/ ", "http://127.0.0.1:8080/proxy/"},
	}
	for _, tt := range tests {
		c, err := NewClient(testKey, WithBaseURL(tt.in))
		if err != nil {
			t.Errorf("WithBaseURL(%q): %v", tt.in, err)
			continue
		}
		if got := c.BaseURL(); got != tt.want {
			t.Errorf("WithBaseURL(%q): BaseURL() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNewClientFromEnv(t *testing.T) {
	t.Run("key and base URL", func(t *testing.T) {
		t.Setenv(EnvAPIKey, testKey)
		t.Setenv(EnvBaseURL, "http://127.0.0.1:9/env")
		c, err := NewClientFromEnv()
		if err != nil {
			t.Fatalf("NewClientFromEnv: %v", err)
		}
		if got, want := c.BaseURL(), "http://127.0.0.1:9/env/"; got != want {
			t.Errorf("BaseURL() = %q, want %q", got, want)
		}
		if c.cfg.apiKey.value != testKey {
			t.Errorf("key not read from %s", EnvAPIKey)
		}
	})
	t.Run("options override the environment", func(t *testing.T) {
		t.Setenv(EnvAPIKey, testKey)
		t.Setenv(EnvBaseURL, "http://127.0.0.1:9/env")
		c, err := NewClientFromEnv(WithBaseURL("http://127.0.0.1:9/opt"))
		if err != nil {
			t.Fatalf("NewClientFromEnv: %v", err)
		}
		if got, want := c.BaseURL(), "http://127.0.0.1:9/opt/"; got != want {
			t.Errorf("BaseURL() = %q, want %q", got, want)
		}
	})
	t.Run("default base URL", func(t *testing.T) {
		t.Setenv(EnvAPIKey, testKey)
		t.Setenv(EnvBaseURL, "")
		c, err := NewClientFromEnv()
		if err != nil {
			t.Fatalf("NewClientFromEnv: %v", err)
		}
		if got, want := c.BaseURL(), DefaultBaseURL+"/"; got != want {
			t.Errorf("BaseURL() = %q, want %q", got, want)
		}
	})
	t.Run("no key", func(t *testing.T) {
		t.Setenv(EnvAPIKey, "")
		_, err := NewClientFromEnv()
		if err == nil || !strings.Contains(err.Error(), EnvAPIKey+" is not set") {
			t.Errorf("err = %v, want one naming %s", err, EnvAPIKey)
		}
	})
	t.Run("bad base URL names the variable", func(t *testing.T) {
		t.Setenv(EnvAPIKey, testKey)
		t.Setenv(EnvBaseURL, "ftp://example.com")
		_, err := NewClientFromEnv()
		if err == nil || !strings.Contains(err.Error(), EnvBaseURL) {
			t.Errorf("err = %v, want one naming %s", err, EnvBaseURL)
		}
	})
}

func TestNewClientIgnoresEnvironment(t *testing.T) {
	t.Setenv(EnvBaseURL, "http://127.0.0.1:9/env")
	c, err := NewClient(testKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.BaseURL(); got != DefaultBaseURL+"/" {
		t.Errorf("NewClient read %s: BaseURL() = %q", EnvBaseURL, got)
	}
}

func TestRequestHeaders(t *testing.T) {
	tests := []struct {
		name   string
		opts   []Option
		wantUA string
	}{
		{"default user agent", nil, "catalogvideo/" + Version + " (go)"},
		{"with user agent", []Option{WithUserAgent("shopapp/2.1")}, "shopapp/2.1 catalogvideo/" + Version + " (go)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, mux := setup(t, tt.opts...)
			mux.HandleFunc("POST /v1/video/generations", func(w http.ResponseWriter, r *http.Request) {
				want := map[string]string{
					"Authorization":   "Bearer " + testKey,
					"Content-Type":    "application/json",
					"Accept":          "application/json",
					"User-Agent":      tt.wantUA,
					"Idempotency-Key": "row-1",
				}
				for h, v := range want {
					if got := r.Header.Get(h); got != v {
						t.Errorf("header %s = %q, want %q", h, got, v)
					}
				}
				writeJSON(t, w, http.StatusAccepted, map[string]any{"id": "vgen_1", "status": "pending"})
			})
			mux.HandleFunc("GET /v1/video/generations/{id}", func(w http.ResponseWriter, r *http.Request) {
				if got := r.Header.Get("Content-Type"); got != "" {
					t.Errorf("GET has Content-Type %q, want none", got)
				}
				if got := r.Header.Get("Idempotency-Key"); got != "" {
					t.Errorf("GET has Idempotency-Key %q, want none", got)
				}
				if got := r.Header.Get("User-Agent"); got != tt.wantUA {
					t.Errorf("User-Agent = %q, want %q", got, tt.wantUA)
				}
				writeJSON(t, w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "status": "pending"})
			})
			ctx := t.Context()
			if _, _, err := client.Videos.Create(ctx, &VideoRequest{Prompt: "p"}, WithIdempotencyKey("row-1")); err != nil {
				t.Fatalf("Create: %v", err)
			}
			if _, _, err := client.Videos.Get(ctx, "vgen_1"); err != nil {
				t.Fatalf("Get: %v", err)
			}
		})
	}
}

func TestResponseRequestID(t *testing.T) {
	client, mux := setup(t)
	mux.HandleFunc("GET /v1/video/generations/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req_42")
		writeJSON(t, w, http.StatusOK, map[string]any{"id": "vgen_1", "status": "pending"})
	})
	_, resp, err := client.Videos.Get(t.Context(), "vgen_1")
	if err != nil {
		t.Fatal(err)
	}
	if resp.RequestID != "req_42" || resp.Attempts != 1 || resp.StatusCode != http.StatusOK {
		t.Errorf("Response = {RequestID: %q, Attempts: %d, StatusCode: %d}, want {req_42, 1, 200}", resp.RequestID, resp.Attempts, resp.StatusCode)
	}
}

func TestIdempotencyKeyValidation(t *testing.T) {
	client, mux := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request sent despite an invalid idempotency key")
	})
	tests := []struct {
		key, wantErr string
	}{
		{"", "empty idempotency key"},
		{strings.Repeat("k", 256), "256 bytes long"},
		{"a\nb", "control characters"},
	}
	for _, tt := range tests {
		_, _, err := client.Videos.Create(t.Context(), &VideoRequest{Prompt: "p"}, WithIdempotencyKey(tt.key))
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("WithIdempotencyKey(%.20q): err = %v, want %q", tt.key, err, tt.wantErr)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	client, mux := setup(t)
	mux.HandleFunc("GET /v1/video/generations/{id}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("id") {
		case "empty":
			w.WriteHeader(http.StatusOK)
		case "garbage":
			fmt.Fprint(w, "<html>oops</html>")
		}
	})
	for _, id := range []string{"empty", "garbage"} {
		_, resp, err := client.Videos.Get(t.Context(), id)
		if err == nil || !strings.Contains(err.Error(), "decoding 200 response") {
			t.Errorf("Get(%q): err = %v, want a decoding error", id, err)
		}
		if resp == nil || resp.StatusCode != http.StatusOK {
			t.Errorf("Get(%q): response not returned beside the decoding error", id)
		}
		if IsRetryable(err) {
			t.Errorf("Get(%q): IsRetryable(decoding error) = true", id)
		}
	}
}

func TestNilContext(t *testing.T) {
	client, _ := setup(t)
	//lint:ignore SA1012 checking that a nil context is reported, not a panic
	_, _, err := client.Videos.Get(nil, "vgen_1")
	if err == nil || !strings.Contains(err.Error(), "nil context") {
		t.Errorf("err = %v, want nil context error", err)
	}
}

// leakTransport fails every request with an error that quotes the request's
// headers and URL, as a careless RoundTripper or proxy might.
type leakTransport struct{}

func (leakTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("proxy refused %s with headers %v", r.URL, r.Header)
}

// TestAPIKeyNeverPrinted checks every way the key could escape: formatting
// the client, structured logging of it, transport errors, API errors whose
// body echoes the key, and retry log lines.
func TestAPIKeyNeverPrinted(t *testing.T) {
	var logs logBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	client, mux := setup(t, WithLogger(logger))
	mux.HandleFunc("GET /v1/video/generations/{id}", func(w http.ResponseWriter, r *http.Request) {
		// Echo the credentials back, as a badly behaved server or proxy might.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, `{"error":{"message":"bad token %s","type":"%s","code":"%s"}}`,
			r.Header.Get("Authorization"), testKey, testKey)
	})

	var outputs []string
	check := func(what, s string) {
		t.Helper()
		outputs = append(outputs, s)
		if strings.Contains(s, testKey) {
			t.Errorf("%s contains the API key: %s", what, s)
		}
	}

	// Bad verbs matter: for them fmt expands pointers it would otherwise
	// print as addresses.
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%T"} {
		for name, v := range map[string]any{
			"client": client, "*client": *client,
			"client.Videos": client.Videos, "*client.Videos": *client.Videos,
			"*client.Images": *client.Images,
		} {
			check("Sprintf("+verb+", "+name+")", fmt.Sprintf(verb, v))
		}
	}
	var js bytes.Buffer
	slog.New(slog.NewJSONHandler(&js, nil)).Info("client", "client", client, "value", *client)
	check("JSON log", js.String())
	logger.Info("client", "client", client, "value", *client)
	if b, err := json.Marshal(client); err == nil {
		check("json.Marshal(client)", string(b))
	}

	_, _, err := client.Videos.Get(t.Context(), "vgen_1")
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	check("APIError.Error()", apiErr.Error())
	check("APIError.Body", string(apiErr.Body))
	check("APIError fields", fmt.Sprintf("%+v", *apiErr))
	if !strings.Contains(apiErr.Message, redacted) {
		t.Errorf("Message = %q, want the echoed key replaced by %s", apiErr.Message, redacted)
	}
	check("retry log", logs.String())
	if !strings.Contains(logs.String(), "retrying request") {
		t.Errorf("no retry was logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), "bad token") {
		t.Errorf("retry log contains the response body: %s", logs.String())
	}

	leaky, err := NewClient(testKey, WithHTTPClient(&http.Client{Transport: leakTransport{}}), WithRetryPolicy(fastRetries), WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = leaky.Videos.Get(t.Context(), "vgen_1")
	if err == nil {
		t.Fatal("Get through a failing transport succeeded")
	}
	check("transport error", err.Error())
	check("transport error %+v", fmt.Sprintf("%+v", err))
	if !strings.Contains(err.Error(), "proxy refused") {
		t.Errorf("transport error %q lost its cause", err)
	}
	check("logs after transport errors", logs.String())

	if t.Failed() {
		t.Logf("outputs:\n%s", strings.Join(outputs, "\n"))
	}
}

func TestResponseBodyBounded(t *testing.T) {
	// A 2xx body that never ends must not be read forever.
	client, read := endlessBodyClient(t, http.StatusOK, "application/json", `{"id":"`)
	_, _, err := client.Videos.Get(t.Context(), "vgen_1")
	if err == nil {
		t.Fatal("Get of an endless body succeeded")
	}
	if read.n > maxResponseBytes {
		t.Errorf("read %d bytes of an endless body, want at most %d", read.n, maxResponseBytes)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// countingReader is an endless stream of 'x' that counts what was read.
// endlessBodyClient returns a client whose every answer has the given status
// and a body that starts with prefix and never ends, and the reader that
// counts how much of the endless part was read.
func endlessBodyClient(t *testing.T, status int, contentType, prefix string) (*Client, *countingReader) {
	t.Helper()
	read := new(countingReader)
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: status,
			Header:     http.Header{"Content-Type": {contentType}},
			Body:       io.NopCloser(io.MultiReader(strings.NewReader(prefix), read)),
			Request:    r,
		}, nil
	})}
	client, err := NewClient(testKey, WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	return client, read
}

// countingReader is an endless body of 'x' bytes that counts what is read.
type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	c.n += int64(len(p))
	return len(p), nil
}
