package shopifytest

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/creativeai-run/catalogvideo/shopify"
)

// DefaultToken is the access token the server accepts unless WithToken sets
// another.
const DefaultToken = "shpat_shopifytest"

// Server is a fake Shopify Admin GraphQL API on a local httptest server.
type Server struct {
	// URL is the server's base URL, such as http://127.0.0.1:41234.
	URL string
	// GraphQLURL is the Admin GraphQL endpoint:
	// URL + "/admin/api/{version}/graphql.json".
	GraphQLURL string

	ts     *httptest.Server
	schema *ast.Schema
	cfg    config

	mu      sync.Mutex
	bucket  *bucket
	rng     *rand.Rand
	faults  []*Fault
	stats   Stats
	reqSeq  int64
	nextNum int64

	products  map[string]*product
	order     []*product
	variants  []*variant
	uploads   map[string]*upload
	videos    map[string]*sourceVideo
	mediaByID map[string]*media
	bulkOps   map[string]*bulkOp
	jobs      map[string]*reorderJob
	bulkBusy  *bulkOp // the bulk mutation running, one per store
	bulkQuery *bulkOp // the bulk query running, one per store
	// latestBulk is the most recent bulk operation of each type (QUERY,
	// MUTATION), running or not: currentBulkOperation's answer.
	latestBulk map[string]*bulkOp
}

type config struct {
	token       string
	version     string
	capacity    float64
	restoreRate float64
	clock       shopify.Clock
	readyPolls  int
	readyAfter  time.Duration
	failCode    string
	failMessage string
	mediaLimit  int
	random      RandomFaults
	bulkReads   int
	bulkAfter   time.Duration
}

// Option configures a Server.
type Option func(*config)

// WithToken sets the access token the server accepts.
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithAPIVersion sets the version in GraphQLURL (the server answers on any
// version). The default is shopify.DefaultAPIVersion.
func WithAPIVersion(v string) Option { return func(c *config) { c.version = v } }

// WithBucket sets the cost bucket: capacity points, refilled at
// restoreRate points per second. The default is Shopify's long-standing
// 1,000 points at 50 per second.
func WithBucket(capacity, restoreRate float64) Option {
	return func(c *config) { c.capacity, c.restoreRate = capacity, restoreRate }
}

// WithClock sets the clock the bucket refills by and processing times are
// measured with; give the client the same one. The default is the system
// clock.
func WithClock(clock shopify.Clock) Option { return func(c *config) { c.clock = clock } }

// WithReadyAfterPolls makes a video READY once it has been read in n
// requests after the one that created it (default 1).
func WithReadyAfterPolls(n int) Option { return func(c *config) { c.readyPolls = n } }

// WithReadyAfter makes a video READY once d has passed on the server's
// clock since it was attached, instead of counting polls.
func WithReadyAfter(d time.Duration) Option { return func(c *config) { c.readyAfter = d } }

// WithBulkDuration makes a bulk operation COMPLETED once d has passed on
// the server's clock since it started; by default it completes when read
// in a request after the one that started it.
func WithBulkDuration(d time.Duration) Option { return func(c *config) { c.bulkAfter = d } }

// WithProcessingFailure makes every video attached from now on FAILED when
// its processing ends, with a media error of the given code (such as
// VIDEO_VALIDATION_ERROR) and message. See also Server.FailProcessing.
func WithProcessingFailure(code, message string) Option {
	return func(c *config) { c.failCode, c.failMessage = code, message }
}

// WithMediaLimit sets how many media a product may hold (default 250);
// productUpdate refuses media beyond it.
func WithMediaLimit(n int) Option { return func(c *config) { c.mediaLimit = n } }

// RandomFaults makes a share of GraphQL requests fail, for soak tests. Each
// rate is a probability in [0, 1].
type RandomFaults struct {
	// ServerError is the share answered 502 without being executed.
	ServerError float64
	// LostResponse is the share executed and then answered 502, as when a
	// response is lost on the way back.
	LostResponse float64
	// TooManyRequests is the share answered 429 with Retry-After: 1.
	TooManyRequests float64
	// Seed makes the sequence of faults repeatable.
	Seed uint64
}

// WithRandomFaults injects faults at random into GraphQL requests.
func WithRandomFaults(f RandomFaults) Option { return func(c *config) { c.random = f } }

// FaultUpload and FaultVideo are Fault.Field values that target the staged
// upload endpoint and the video source instead of a GraphQL root field.
const (
	FaultUpload = "#upload"
	FaultVideo  = "#video"
)

// Fault is an injected failure for the next requests that match.
type Fault struct {
	// Field is the root field a GraphQL request must select to match, such
	// as "productUpdate"; FaultUpload or FaultVideo for those endpoints;
	// empty for any GraphQL request.
	Field string
	// Status is the HTTP status to answer, such as 502 or 429.
	Status int
	// RetryAfter is the Retry-After header to send, if any.
	RetryAfter string
	// AfterExecute runs the operation first and then answers Status, as when
	// a response is lost after Shopify applied a mutation.
	AfterExecute bool
	// Times is how many matching requests fail (default 1).
	Times int
	// Skip is how many matching requests pass before the fault applies,
	// to fail the second call of a kind, say.
	Skip int
}

// Stats counts what the server has seen.
type Stats struct {
	// Requests counts GraphQL requests that carried the right token and a
	// JSON body, whatever their outcome.
	Requests int
	// Calls counts GraphQL requests per root field they select (valid or
	// not), such as "productVariants" or "productCreateMedia".
	Calls map[string]int
	// Invalid counts requests refused by parsing or validation.
	Invalid int
	// Throttled counts THROTTLED answers.
	Throttled int
	// PointsDebited sums the actual cost of every request that ran: what
	// the cost bucket paid.
	PointsDebited float64
	// Faults counts injected faults served.
	Faults int
	// Uploads counts completed staged uploads.
	Uploads int
	// UploadedBytes sums the sizes of the files those uploads carried.
	UploadedBytes int64
	// ExternalVideoRequests counts CreateMediaInput entries with
	// mediaContentType EXTERNAL_VIDEO.
	ExternalVideoRequests int
	// ExternalVideoRejected counts those refused for not being YouTube or
	// Vimeo URLs.
	ExternalVideoRejected int
	// MediaCreated counts media added by productUpdate.
	MediaCreated int
	// BulkOperations counts bulk mutations started; BulkLines counts the
	// lines they were given; BulkCancels counts bulkOperationCancel calls
	// that began a cancelation.
	BulkOperations int
	BulkLines      int
	BulkCancels    int
	// BulkQueries counts bulk queries started (bulkOperationRunQuery).
	BulkQueries int
	// Reorders counts productReorderMedia jobs started.
	Reorders int
	// MediaRemoved counts media detached from products by fileUpdate
	// (referencesToRemove); MediaReferenced counts media attached by it
	// (referencesToAdd).
	MediaRemoved    int
	MediaReferenced int
}

// projectSchema parses shopify.Schema once; servers only read it.
var projectSchema = sync.OnceValues(func() (*ast.Schema, error) {
	return gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: shopify.Schema})
})

// NewServer starts a fake Admin API. Close it when done.
func NewServer(opts ...Option) *Server {
	cfg := config{
		token:       DefaultToken,
		version:     shopify.DefaultAPIVersion,
		capacity:    1000,
		restoreRate: 50,
		readyPolls:  1,
		bulkReads:   1,
		mediaLimit:  shopify.DefaultMaxProductMedia,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	schema, err := projectSchema()
	if err != nil {
		panic("shopifytest: the embedded schema does not load: " + err.Error())
	}
	s := &Server{
		schema:   schema,
		cfg:      cfg,
		bucket:   newBucket(cfg.capacity, cfg.restoreRate, time.Time{}),
		rng:      rand.New(rand.NewPCG(cfg.random.Seed, 0x5eed)),
		stats:    Stats{Calls: make(map[string]int)},
		nextNum:  1000,
		products: make(map[string]*product),
		uploads:  make(map[string]*upload),
		videos:   make(map[string]*sourceVideo),

		mediaByID:  make(map[string]*media),
		bulkOps:    make(map[string]*bulkOp),
		latestBulk: make(map[string]*bulkOp),
		jobs:       make(map[string]*reorderJob),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/admin/api/{version}/graphql.json", s.serveGraphQL)
	mux.HandleFunc("/staged-uploads/{id}", s.serveUpload)
	mux.HandleFunc("/videos/{name}", s.serveVideo)
	mux.HandleFunc("/bulk-results/{id}", s.serveBulkResult)
	s.bucket.at = s.now()
	s.ts = httptest.NewServer(mux)
	s.URL = s.ts.URL
	s.GraphQLURL = s.URL + "/admin/api/" + cfg.version + "/graphql.json"
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

// HTTPClient returns an HTTP client suited to the server.
func (s *Server) HTTPClient() *http.Client { return s.ts.Client() }

// Client returns a shopify.Client for the server: its endpoint, token and
// clock, then opts. It panics if opts are invalid.
func (s *Server) Client(opts ...shopify.Option) *shopify.Client {
	base := []shopify.Option{
		shopify.WithEndpoint(s.GraphQLURL),
		shopify.WithHTTPClient(s.HTTPClient()),
	}
	if s.cfg.clock != nil {
		base = append(base, shopify.WithClock(s.cfg.clock))
	}
	c, err := shopify.NewClient("", s.cfg.token, append(base, opts...)...)
	if err != nil {
		panic("shopifytest: " + err.Error())
	}
	return c
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Calls = make(map[string]int, len(s.stats.Calls))
	for k, v := range s.stats.Calls {
		st.Calls[k] = v
	}
	return st
}

// Calls returns how many GraphQL requests selected the root field.
func (s *Server) Calls(field string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.Calls[field]
}

// InjectFault queues a fault for the next matching requests.
func (s *Server) InjectFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// FailProcessing makes videos attached from now on end FAILED with a media
// error of the given code and message; an empty code makes them succeed
// again.
func (s *Server) FailProcessing(code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.failCode, s.cfg.failMessage = code, message
}

// takeFault returns the first queued fault for field, using it up. Callers
// hold s.mu.
func (s *Server) takeFault(fields ...string) *Fault {
	for i, f := range s.faults {
		match := f.Field == "" && !strings.HasPrefix(fields[0], "#")
		for _, name := range fields {
			match = match || f.Field == name
		}
		if !match {
			continue
		}
		if f.Skip > 0 {
			f.Skip--
			continue
		}
		f.Times--
		if f.Times == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		s.stats.Faults++
		return f
	}
	return nil
}

// randomFault draws a fault from the RandomFaults rates. Callers hold s.mu.
func (s *Server) randomFault() *Fault {
	r := s.cfg.random
	if r.ServerError+r.LostResponse+r.TooManyRequests <= 0 {
		return nil
	}
	x := s.rng.Float64()
	var f *Fault
	switch {
	case x < r.ServerError:
		f = &Fault{Status: http.StatusBadGateway}
	case x < r.ServerError+r.LostResponse:
		f = &Fault{Status: http.StatusBadGateway, AfterExecute: true}
	case x < r.ServerError+r.LostResponse+r.TooManyRequests:
		f = &Fault{Status: http.StatusTooManyRequests, RetryAfter: "1"}
	default:
		return nil
	}
	s.stats.Faults++
	return f
}

func writeFault(w http.ResponseWriter, f *Fault) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	msg := http.StatusText(f.Status)
	if f.Status == http.StatusTooManyRequests {
		msg = "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
	}
	_, _ = w.Write([]byte(`{"errors":"` + msg + `"}`))
}

// now reads the server's clock.
func (s *Server) now() time.Time {
	if s.cfg.clock != nil {
		return s.cfg.clock.Now()
	}
	return time.Now()
}
