package creativeai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

const (
	// DefaultBaseURL is the render API's production endpoint.
	DefaultBaseURL = "https://api.creativeai.run"

	// Version is the SDK version sent in the User-Agent header.
	Version = "0.1.0"

	// EnvAPIKey and EnvBaseURL name the environment variables read by
	// [NewClientFromEnv].
	EnvAPIKey  = "CREATIVEAI_API_KEY"
	EnvBaseURL = "CREATIVEAI_BASE_URL"

	// defaultTimeout bounds one HTTP attempt of the default *http.Client, so
	// that a stalled connection cannot hang a caller that passed no deadline.
	defaultTimeout = 60 * time.Second

	// maxResponseBytes bounds a successful response body; the largest answer
	// the API gives is a list page.
	maxResponseBytes = 8 << 20
)

// userAgent is the SDK's own product token; WithUserAgent prepends to it.
const userAgent = "catalogvideo/" + Version + " (go)"

// Client talks to the CreativeAI render API. Create one with [NewClient] or
// [NewClientFromEnv] and share it: it is safe for concurrent use.
//
// The API key is kept out of every string the client produces: formatting a
// Client, logging it, and the errors it returns all redact it.
type Client struct {
	// Videos creates, polls and lists video generations.
	Videos *VideoService
	// Images creates still images.
	Images *ImageService

	cfg    *clientConfig
	common service
}

// service is embedded by the resource services, in the style of go-github.
type service struct{ client *Client }

// clientConfig holds what the options set. It is unexported so that the key
// can only be supplied through NewClient.
type clientConfig struct {
	baseURL    string // absolute, always ends with "/"
	apiKey     *secret
	httpClient *http.Client
	retry      RetryPolicy
	userAgent  string
	logger     *slog.Logger
}

// secret holds the API key. fmt expands at most one pointer level below a
// value it is given (even for a bad verb such as %q on a Client), so keeping
// the key two pointers away from Client means no formatting of a Client, a
// service or their fields can print it; the methods cover direct use.
type secret struct {
	value  string
	bearer string // the Authorization header, built once
}

func (s *secret) String() string                { return redacted }
func (s *secret) GoString() string              { return redacted }
func (s *secret) Format(f fmt.State, verb rune) { io.WriteString(f, redacted) }
func (s *secret) LogValue() slog.Value          { return slog.StringValue(redacted) }
func (s *secret) MarshalText() ([]byte, error)  { return []byte(redacted), nil }

// Option configures a [Client]. Options are applied in order and validated;
// NewClient reports the first invalid one and skips a nil one.
type Option func(*clientConfig) error

// WithBaseURL sets the API's base URL (default [DefaultBaseURL]). It must be
// an absolute http or https URL without query, fragment or user info; a path
// is kept, so "http://127.0.0.1:8080/proxy/" sends requests to
// "/proxy/v1/...".
func WithBaseURL(u string) Option {
	return func(c *clientConfig) error {
		parsed, err := parseBaseURL(u)
		if err != nil {
			return err
		}
		c.baseURL = parsed.String()
		return nil
	}
}

func parseBaseURL(raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("creativeai: empty base URL")
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("creativeai: invalid base URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("creativeai: base URL %q: scheme must be http or https", u.Redacted())
	case u.Host == "":
		return nil, fmt.Errorf("creativeai: base URL %q has no host", u.Redacted())
	case u.User != nil:
		return nil, fmt.Errorf("creativeai: base URL %q must not carry user info; the API key authenticates", u.Redacted())
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("creativeai: base URL %q must not have a query or fragment", u.Redacted())
	}
	// Relative references resolve against the last "/" of the path, so a
	// missing trailing slash would silently drop the last path segment.
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
}

// WithHTTPClient sets the HTTP client used for every request. The default is
// a client on [http.DefaultTransport] with a 60 s timeout per attempt.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *clientConfig) error {
		if hc == nil {
			return errors.New("creativeai: nil *http.Client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithRetryPolicy replaces [DefaultRetryPolicy]. See [RetryPolicy] for what
// is retried and how its zero fields are read.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *clientConfig) error {
		if err := p.validate(); err != nil {
			return err
		}
		c.retry = p
		return nil
	}
}

// WithUserAgent prepends a product token, such as "myapp/1.2", to the SDK's
// own User-Agent ("catalogvideo/<version> (go)"), so the service can tell
// integrations apart while still seeing the SDK version.
func WithUserAgent(s string) Option {
	return func(c *clientConfig) error {
		s = strings.TrimSpace(s)
		if s == "" {
			return errors.New("creativeai: empty user agent")
		}
		if !validHeaderValue(s) {
			return errors.New("creativeai: user agent contains control characters")
		}
		c.userAgent = s + " " + userAgent
		return nil
	}
}

// WithLogger sets the logger that records retries (at Info level) with the
// method, path, attempt, status and delay. It never logs the API key or a
// request or response body. By default, and when l is nil, nothing is
// logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *clientConfig) error {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		c.logger = l
		return nil
	}
}

// NewClient returns a client that authenticates with apiKey. Surrounding
// whitespace in the key is ignored, a key that is empty or contains other
// whitespace or control characters is rejected (without echoing it). It
// reports the first invalid option; a nil option is skipped.
//
// The environment is not consulted; see [NewClientFromEnv] for that.
func NewClient(apiKey string, opts ...Option) (*Client, error) {
	apiKey = strings.TrimSpace(apiKey)
	if apiKey == "" {
		return nil, errors.New("creativeai: empty API key")
	}
	if strings.ContainsFunc(apiKey, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, errors.New("creativeai: API key contains whitespace or control characters")
	}
	base, err := parseBaseURL(DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	cfg := &clientConfig{
		baseURL:    base.String(),
		apiKey:     &secret{value: apiKey, bearer: "Bearer " + apiKey},
		httpClient: &http.Client{Timeout: defaultTimeout},
		retry:      DefaultRetryPolicy(),
		userAgent:  userAgent,
		logger:     slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(cfg); err != nil {
			return nil, err
		}
	}
	c := &Client{cfg: cfg}
	c.common.client = c
	c.Videos = (*VideoService)(&c.common)
	c.Images = (*ImageService)(&c.common)
	return c, nil
}

// NewClientFromEnv is [NewClient] with the key from CREATIVEAI_API_KEY and,
// when set, the base URL from CREATIVEAI_BASE_URL. Options given here are
// applied after the environment and so take precedence over it.
func NewClientFromEnv(opts ...Option) (*Client, error) {
	key, ok := os.LookupEnv(EnvAPIKey)
	if !ok || strings.TrimSpace(key) == "" {
		return nil, fmt.Errorf("creativeai: %s is not set", EnvAPIKey)
	}
	if base := os.Getenv(EnvBaseURL); base != "" {
		envBase := WithBaseURL(base)
		opts = append([]Option{func(c *clientConfig) error {
			if err := envBase(c); err != nil {
				return fmt.Errorf("%s: %w", EnvBaseURL, err)
			}
			return nil
		}}, opts...)
	}
	return NewClient(key, opts...)
}

// BaseURL returns the base URL requests are sent to.
func (c *Client) BaseURL() string { return c.cfg.baseURL }

// String describes the client without its API key.
func (c *Client) String() string {
	return fmt.Sprintf("creativeai.Client{BaseURL: %q, APIKey: %q}", c.BaseURL(), redacted)
}

// GoString is String, so that %#v redacts the API key too.
func (c *Client) GoString() string { return c.String() }

// LogValue makes structured loggers print the base URL and a redacted key.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL()),
		slog.String("api_key", redacted),
	)
}

// Response is the HTTP response behind a call. Its body has already been read
// and closed; the decoded result is returned beside it.
type Response struct {
	*http.Response
	// RequestID is the service's id for the last attempt (X-Request-Id), to
	// quote when reporting a problem.
	RequestID string
	// Attempts is the number of HTTP requests made, including retries.
	Attempts int
}

// errNilRequest is returned for a nil request struct.
var errNilRequest = errors.New("creativeai: nil request")

// RequestOption configures a single call.
type RequestOption func(*requestConfig)

type requestConfig struct {
	idempotencyKey    string
	hasIdempotencyKey bool
}

// maxIdempotencyKeyLen matches the common limit (Stripe's) so keys derived
// from long inputs fail here rather than at the server.
const maxIdempotencyKeyLen = 255

// WithIdempotencyKey sends key as the Idempotency-Key header. The same key is
// sent on every retry of the call, which is what lets a POST be retried
// safely: if the service created the generation before the connection broke
// or answered 5xx, the retry returns that generation instead of rendering
// again. Use one key per logical request (the batch submitter derives it from
// the manifest row), never one per attempt.
//
// A POST without a key is retried only after 429, which the service answers
// without doing the work.
func WithIdempotencyKey(key string) RequestOption {
	return func(rc *requestConfig) {
		rc.idempotencyKey = key
		rc.hasIdempotencyKey = true
	}
}

func newRequestConfig(opts []RequestOption) (requestConfig, error) {
	var rc requestConfig
	for _, opt := range opts {
		if opt != nil {
			opt(&rc)
		}
	}
	if rc.hasIdempotencyKey {
		switch k := rc.idempotencyKey; {
		case k == "":
			return rc, errors.New("creativeai: empty idempotency key")
		case len(k) > maxIdempotencyKeyLen:
			return rc, fmt.Errorf("creativeai: idempotency key is %d bytes long, the limit is %d", len(k), maxIdempotencyKeyLen)
		case !validHeaderValue(k):
			return rc, errors.New("creativeai: idempotency key contains control characters")
		}
	}
	return rc, nil
}

// validHeaderValue reports whether s can be sent as a header value without
// being rejected or splitting the header.
func validHeaderValue(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return (r < ' ' && r != '\t') || r == 0x7f })
}

// newRequest builds a request for path, relative to the base URL and already
// escaped, with the JSON encoding of body (when not nil) and the SDK's
// headers.
func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, body any, rc requestConfig) (*http.Request, error) {
	// The base URL ends with "/" and paths are relative, so concatenation
	// keeps the base URL's own path.
	u := c.cfg.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("creativeai: %s %s: encoding request: %w", method, path, err)
		}
		// A *bytes.Reader lets NewRequest set GetBody, which retries use to
		// rewind the body.
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("creativeai: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", c.cfg.apiKey.bearer)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if rc.hasIdempotencyKey {
		req.Header.Set("Idempotency-Key", rc.idempotencyKey)
	}
	return req, nil
}

// call builds and sends one logical request, retrying it per the client's
// policy, and decodes a successful answer into out.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body, out any, opts []RequestOption) (*Response, error) {
	if ctx == nil {
		return nil, errors.New("creativeai: nil context")
	}
	rc, err := newRequestConfig(opts)
	if err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, method, path, query, body, rc)
	if err != nil {
		return nil, err
	}
	return c.do(ctx, req, out)
}

// bufPool recycles the buffers successful answers are read into; most
// answers are a generation of a few hundred bytes.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// decodeResponse reads a successful answer into out, through a limit so a
// misbehaving server cannot exhaust memory.
func decodeResponse(resp *http.Response, out any) error {
	defer resp.Body.Close()
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		// A buffer grown by a rare large page would pin its memory.
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBytes+1)); err != nil {
		return err
	}
	switch {
	case buf.Len() > maxResponseBytes:
		return fmt.Errorf("response body exceeds %d bytes", maxResponseBytes)
	case out == nil:
		return nil
	case len(bytes.TrimSpace(buf.Bytes())) == 0:
		return errors.New("empty response body")
	}
	return json.Unmarshal(buf.Bytes(), out)
}
