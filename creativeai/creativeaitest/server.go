package creativeaitest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// maxRequestBody bounds the body of an API request; the largest legitimate
// one is a create with a long prompt.
const maxRequestBody = 1 << 20

// Server is a simulator of the CreativeAI render API listening on a loopback
// address, in the spirit of [httptest.Server]. Create one with [NewServer]
// and stop it with [Server.Close]. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of the simulated API, "http://127.0.0.1:<port>",
	// with no trailing slash. Output files are served under it too.
	URL string
	// APIKey is the key the server expects as "Authorization: Bearer <key>".
	APIKey string
	// WebhookSecret is the secret webhook deliveries are signed with: the API
	// key unless [WithWebhookSecret] set another.
	WebhookSecret string

	cfg   config
	ts    *httptest.Server
	hooks *dispatcher

	randMu sync.Mutex // guards rand and faults
	rand   *rand.Rand
	faults Faults

	reqSeq atomic.Uint64

	mu       sync.Mutex
	closed   bool
	gens     map[string]*generation
	order    []*generation // creation order, for listing
	perInput map[RenderInput]int
	images   map[string]*still
	idem     map[string]*idemRecord // by endpoint and Idempotency-Key
	stats    Stats                  // without the maps, built in Stats
	timers   sync.WaitGroup         // render timers scheduled and not stopped
	activity *activity

	closeOnce sync.Once
}

// NewServer starts a simulator on a loopback address and returns it. The
// caller must call Close when done, usually with defer or t.Cleanup.
//
// NewServer skips nil options and panics if an option is invalid, as
// [httptest.NewServer] panics when it cannot listen.
func NewServer(opts ...Option) *Server {
	cfg := defaultConfig()
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if err := cfg.err(); err != nil {
		panic(err)
	}
	if !cfg.seeded {
		cfg.seed = rand.Int64()
	}
	if cfg.webhookSecret == "" {
		cfg.webhookSecret = cfg.apiKey
	}
	s := &Server{
		APIKey:        cfg.apiKey,
		WebhookSecret: cfg.webhookSecret,
		cfg:           cfg,
		rand:          rand.New(rand.NewPCG(uint64(cfg.seed), 0x6372656174697665)),
		faults:        cfg.faults,
		gens:          make(map[string]*generation),
		perInput:      make(map[RenderInput]int),
		images:        make(map[string]*still),
		idem:          make(map[string]*idemRecord),
		activity:      newActivity(),
	}
	s.ts = httptest.NewUnstartedServer(s.routes())
	// The URL is known before the first request can arrive, so handlers
	// read it without synchronisation.
	s.URL = "http://" + s.ts.Listener.Addr().String()
	s.hooks = newDispatcher(s)
	s.ts.Start()
	return s
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/video/generations", s.api(s.createVideo))
	mux.Handle("GET /v1/video/generations", s.api(s.listVideos))
	mux.Handle("GET /v1/video/generations/{id}", s.api(s.getVideo))
	mux.Handle("POST /v1/images/generations", s.api(s.createImage))
	mux.Handle("GET /outputs/{file}", s.withFaults(true, s.serveOutput))
	mux.Handle("/v1/", s.api(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.stats.Rejected++
		s.mu.Unlock()
		unknownEndpoint(w, r)
	}))
	mux.HandleFunc("/", unknownEndpoint)
	return withRequestID(&s.reqSeq, mux)
}

func unknownEndpoint(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "invalid_request_error", "unknown_endpoint", "no endpoint "+r.Method+" "+r.URL.Path, "")
}

// api wraps an API endpoint: faults first, as a proxy in front of the
// service fails whatever the request, then authentication.
func (s *Server) api(h http.HandlerFunc) http.HandlerFunc {
	return s.withFaults(false, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.stats.Requests++
		s.mu.Unlock()
		if !s.authorized(r) {
			s.reject(w, http.StatusUnauthorized, "authentication_error", "invalid_api_key",
				"missing or invalid API key: send \"Authorization: Bearer <key>\"", "")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
		h(w, r)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(s.cfg.apiKey)) == 1
}

// withRequestID gives every answer an X-Request-Id, as the service does, so
// that clients can show it in errors.
func withRequestID(seq *atomic.Uint64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req_"+strconv.FormatUint(seq.Add(1), 10))
		h.ServeHTTP(w, r)
	})
}

// Close stops the server: it stops accepting requests and waits for those in
// flight, as [httptest.Server.Close] does, then stops the render timers and
// the webhook senders, cancelling deliveries in flight, and waits for every
// goroutine it started. Close may be called more than once.
//
// Stats, Generation and Generations keep working after Close.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.ts.Close()
		s.mu.Lock()
		s.closed = true
		for _, g := range s.gens {
			s.stopTimerLocked(g)
		}
		s.mu.Unlock()
		s.timers.Wait()
		s.hooks.close()
		s.activity.reset()
	})
}

// Seed returns the seed the server's randomness derives from: the one given
// to [WithSeed], or the one it picked. Log it in a failing test and rerun
// with WithSeed to replay the same outcomes.
func (s *Server) Seed() int64 { return s.cfg.seed }

// RenderInput is what makes two renders the same render: the normalized
// inputs of a create request (defaults filled in). Stats counts renders per
// RenderInput to find duplicates.
type RenderInput struct {
	Model       string
	Prompt      string
	ImageURL    string
	Duration    creativeai.Duration
	AspectRatio string
}

// Stats are the server's counters, for assertions in tests.
type Stats struct {
	// Requests counts API requests that reached the server's checks, that
	// is every /v1/ request not stopped by an injected 500, 429 or dropped
	// connection.
	Requests int
	// Rejected counts API requests answered with a 4xx: bad credentials,
	// invalid bodies, idempotency conflicts, unknown ids.
	Rejected int
	// Creates counts accepted video creates: Renders + video replays.
	Creates int
	// Renders counts generations created; each is one render billed.
	Renders int
	// IdempotentReplays counts creates (videos and images) answered with an
	// earlier result because their Idempotency-Key had been seen with the
	// same body.
	IdempotentReplays int
	// DistinctInputs counts the distinct [RenderInput]s rendered.
	DistinctInputs int
	// DuplicateRenders counts renders of an input that had been rendered
	// before: Renders - DistinctInputs. A client that retries with a stable
	// Idempotency-Key and never resubmits keeps it at zero.
	DuplicateRenders int
	// RendersPerInput counts renders by input. It is a copy.
	RendersPerInput map[RenderInput]int
	// Completed, Failed and Failovers count renders that ended completed,
	// that ended failed, and that reported failover_used.
	Completed, Failed, Failovers int
	// Polls counts GET /v1/video/generations/{id} answered with a
	// generation; Lists counts list pages served.
	Polls, Lists int
	// Images counts images generated (n per request; replays excluded).
	Images int
	// Downloads counts output files served by GET (mp4 and png).
	Downloads int
	// ExpiredDownloads counts requests for an output past its expiry
	// (WithOutputTTL), answered 403.
	ExpiredDownloads int
	// Faults counts the faults injected, by kind.
	Faults FaultCounts
	// Deliveries counts webhook attempts, retries and duplicates included.
	Deliveries int
	// DeliveriesSucceeded counts attempts answered 2xx.
	DeliveriesSucceeded int
	// DeliveryFailures counts attempts answered otherwise or not at all
	// (connection error, timeout).
	DeliveryFailures int
	// DeliveriesAbandoned counts events given up after their last retry.
	DeliveriesAbandoned int
	// DuplicateDeliveries counts the extra copies of events sent under
	// [WithWebhookDuplicates].
	DuplicateDeliveries int
	// ReorderedDeliveries counts processing events held back under
	// [WithWebhookReorder].
	ReorderedDeliveries int
	// DeliveriesPending counts events queued, waiting for a retry, or in
	// flight.
	DeliveriesPending int
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := s.stats
	st.RendersPerInput = make(map[RenderInput]int, len(s.perInput))
	for in, n := range s.perInput {
		st.RendersPerInput[in] = n
	}
	st.DistinctInputs = len(s.perInput)
	st.DuplicateRenders = st.Renders - st.DistinctInputs
	s.mu.Unlock()
	s.hooks.addStats(&st)
	return st
}

// reject writes an error answer and counts it as rejected.
func (s *Server) reject(w http.ResponseWriter, status int, typ, code, msg, param string) {
	s.mu.Lock()
	s.stats.Rejected++
	s.mu.Unlock()
	writeError(w, status, typ, code, msg, param)
}

// apiError is the error body; its shape follows OpenAI's, which the
// service's OpenAI-compatible endpoints suggest.
type apiError struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    string `json:"code,omitempty"`
	Param   string `json:"param,omitempty"`
}

func writeError(w http.ResponseWriter, status int, typ, code, msg, param string) {
	writeJSON(w, status, struct {
		Error apiError `json:"error"`
	}{apiError{Message: msg, Type: typ, Code: code, Param: param}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value written is built by this package; failing to encode
		// one is a bug worth a loud failure in the test using it.
		panic("creativeaitest: encoding answer: " + err.Error())
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// digest hashes the seed and parts: the source of every id and every
// per-render random choice, so that they depend on what was asked, not on
// when.
func (s *Server) digest(parts ...string) [32]byte {
	h := sha256.New()
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], uint64(s.cfg.seed))
	h.Write(seed[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// newID returns prefix plus 24 hex digits derived from parts.
func (s *Server) newID(prefix string, parts ...string) string {
	d := s.digest(parts...)
	return prefix + hex.EncodeToString(d[:12])
}

// chance reports true with probability p, decided by the seed and parts.
func (s *Server) chance(p float64, parts ...string) bool {
	if p <= 0 {
		return false
	}
	d := s.digest(parts...)
	return rand.New(rand.NewChaCha8(d)).Float64() < p
}

// activity counts the work in progress (render timers scheduled, webhook
// deliveries queued or in flight) so that WaitIdle can wait for none.
type activity struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed while n == 0
}

func newActivity() *activity {
	a := &activity{idle: make(chan struct{})}
	close(a.idle)
	return a
}

func (a *activity) add(delta int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	was := a.n
	a.n += delta
	switch {
	case was == 0 && a.n > 0:
		a.idle = make(chan struct{})
	case was > 0 && a.n <= 0:
		a.n = 0
		close(a.idle)
	}
}

// reset forgets all work, for Close.
func (a *activity) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n > 0 {
		a.n = 0
		close(a.idle)
	}
}

func (a *activity) wait(ctx context.Context) error {
	a.mu.Lock()
	idle := a.idle
	a.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitIdle waits until no render is scheduled to progress and no webhook
// delivery is queued, waiting for a retry, or in flight; or until ctx ends.
// Under [WithManualRender] pending renders do not count, since only the test
// moves them. After Close it returns at once.
//
// It lets a test wait for "everything has happened" without sleeping.
func (s *Server) WaitIdle(ctx context.Context) error {
	return s.activity.wait(ctx)
}
