package creativeaitest

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"
)

// defaultRetryAfter is the delay a 429 asks for when Faults.RetryAfter is
// zero: long enough to notice that a client waited, short enough for tests.
const defaultRetryAfter = 10 * time.Millisecond

// Faults are the failures the Server injects, each a probability per request
// in [0, 1]; their sum must not exceed 1, since one draw decides which fault,
// if any, a request meets.
//
// Faults apply to the API endpoints (every /v1/ request, whatever its method,
// before authentication, as a proxy in front of the service would fail). They
// apply to downloads of output files only when Downloads is set.
type Faults struct {
	// Error500 answers 500 Internal Server Error before doing anything: no
	// generation is created.
	Error500 float64
	// Error502AfterCreate handles the request (a create makes its
	// generation and stores its Idempotency-Key), then answers 502 Bad
	// Gateway instead of the result: a client that retries with the same
	// key gets the same generation; one that sends no key, or a new key,
	// renders again. A request that fails validation keeps its 4xx.
	Error502AfterCreate float64
	// Error429 answers 429 Too Many Requests with Retry-After-Ms (RetryAfter
	// in milliseconds) and Retry-After (RetryAfter rounded up to whole
	// seconds), before doing anything.
	Error429 float64
	// DropConnection closes the connection without answering, before doing
	// anything.
	DropConnection float64
	// RetryAfter is the delay a 429 asks for; zero means 10 ms.
	RetryAfter time.Duration
	// Downloads extends the faults to GET and HEAD requests for output
	// files (output_url and image urls). Error502AfterCreate then answers a
	// plain 502.
	Downloads bool
}

func (f Faults) validate() error {
	sum := 0.0
	for _, p := range []struct {
		name string
		p    float64
	}{
		{"Error500", f.Error500},
		{"Error502AfterCreate", f.Error502AfterCreate},
		{"Error429", f.Error429},
		{"DropConnection", f.DropConnection},
	} {
		if !(p.p >= 0 && p.p <= 1) {
			return fmt.Errorf("creativeaitest: Faults.%s = %v: want a probability in [0, 1]", p.name, p.p)
		}
		sum += p.p
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("creativeaitest: the fault probabilities add up to %v: want at most 1", sum)
	}
	if f.RetryAfter < 0 {
		return fmt.Errorf("creativeaitest: Faults.RetryAfter = %v: want a non-negative delay", f.RetryAfter)
	}
	return nil
}

// FaultCounts counts the faults injected, by kind; see [Faults].
type FaultCounts struct {
	Error500            int
	Error502AfterCreate int
	Error429            int
	DropConnection      int
}

// Total returns the number of faults of every kind.
func (c FaultCounts) Total() int {
	return c.Error500 + c.Error502AfterCreate + c.Error429 + c.DropConnection
}

// SetFaults replaces the faults injected from now on; Faults{} turns them
// off. It is safe to call while requests are served. It panics if f is
// invalid, like [WithFaults].
func (s *Server) SetFaults(f Faults) {
	if err := f.validate(); err != nil {
		panic(err)
	}
	s.randMu.Lock()
	s.faults = f
	s.randMu.Unlock()
}

type faultKind int

const (
	noFault faultKind = iota
	fault500
	fault502
	fault429
	faultDrop
)

// drawFault picks the fault the next request meets. The draw comes from the
// seeded sequence, so a client sending one request at a time meets the same
// faults on every run.
func (s *Server) drawFault(download bool) (faultKind, time.Duration) {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	f := s.faults
	if download && !f.Downloads {
		return noFault, 0
	}
	if f.Error500+f.Error502AfterCreate+f.Error429+f.DropConnection == 0 {
		return noFault, 0
	}
	retryAfter := f.RetryAfter
	if retryAfter == 0 {
		retryAfter = defaultRetryAfter
	}
	u := s.rand.Float64()
	for _, k := range []struct {
		kind faultKind
		p    float64
	}{
		{fault500, f.Error500},
		{fault429, f.Error429},
		{faultDrop, f.DropConnection},
		{fault502, f.Error502AfterCreate},
	} {
		if u < k.p {
			return k.kind, retryAfter
		}
		u -= k.p
	}
	return noFault, 0
}

// withFaults wraps h with the fault injection of an endpoint.
func (s *Server) withFaults(download bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		kind, retryAfter := s.drawFault(download)
		switch kind {
		case noFault:
			h(w, r)
		case fault500:
			s.countFault(kind)
			writeError(w, http.StatusInternalServerError, "api_error", "internal_error", "injected fault: internal server error", "")
		case fault429:
			s.countFault(kind)
			ms := retryAfter.Milliseconds()
			w.Header().Set("Retry-After-Ms", strconv.FormatInt(ms, 10))
			w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(retryAfter.Seconds())), 10))
			writeError(w, http.StatusTooManyRequests, "rate_limit_error", "rate_limit_exceeded", "injected fault: too many requests, retry after "+retryAfter.String(), "")
		case faultDrop:
			s.countFault(kind)
			dropConnection(w)
		case fault502:
			// Do the work for real, then lose the answer, as a gateway
			// that timed out on a service that carried on would.
			rec := httptest.NewRecorder()
			h(rec, r)
			if rec.Code >= 300 {
				copyRecorded(w, rec)
				return
			}
			s.countFault(kind)
			writeError(w, http.StatusBadGateway, "api_error", "bad_gateway", "injected fault: bad gateway", "")
		}
	}
}

// dropConnection closes the client's connection without a byte of answer.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): aborting the handler resets the stream,
		// which the client sees the same way.
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// copyRecorded sends what a handler wrote into a recorder.
func copyRecorded(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

func (s *Server) countFault(kind faultKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case fault500:
		s.stats.Faults.Error500++
	case fault502:
		s.stats.Faults.Error502AfterCreate++
	case fault429:
		s.stats.Faults.Error429++
	case faultDrop:
		s.stats.Faults.DropConnection++
	}
}
