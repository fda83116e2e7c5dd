package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults of a [Handler].
const (
	// DefaultMaxBodyBytes caps a webhook body; a larger one is answered 413.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultHandlerTimeout bounds one call of the event handler.
	DefaultHandlerTimeout = 10 * time.Second
)

// EventHandler makes a verified event durable, typically by applying it to a
// job store. The [Handler] acknowledges the delivery (2xx) only after
// HandleEvent returned nil, and answers 503 otherwise so that the sender
// retries.
//
// HandleEvent is called concurrently, must respect ctx's deadline, and must
// be idempotent: the same event may arrive twice, and events may arrive out
// of order (a late "processing" after "completed").
type EventHandler interface {
	HandleEvent(ctx context.Context, e *Event) error
}

// EventHandlerFunc adapts a function to [EventHandler].
type EventHandlerFunc func(ctx context.Context, e *Event) error

// HandleEvent calls f(ctx, e).
func (f EventHandlerFunc) HandleEvent(ctx context.Context, e *Event) error { return f(ctx, e) }

// Result classifies how a [Handler] answered a request, for metrics.
type Result string

// The results of a request, with the status code each is answered with.
const (
	ResultAccepted         Result = "accepted"           // 200: the event handler returned nil
	ResultDuplicate        Result = "duplicate"          // 200: a delivery already accepted (see WithDedup)
	ResultMethodNotAllowed Result = "method_not_allowed" // 405
	ResultUnsupportedMedia Result = "unsupported_media"  // 415: a Content-Encoding the handler does not decode
	ResultTooLarge         Result = "too_large"          // 413
	ResultReadFailed       Result = "read_failed"        // 400: the body could not be read
	ResultUnauthorized     Result = "unauthorized"       // 401: missing, malformed or wrong signature, or stale timestamp
	ResultBadRequest       Result = "bad_request"        // 400: signed, but not a valid event
	ResultHandlerFailed    Result = "handler_failed"     // 503: the event handler returned an error
)

// DeliveryOutcome describes one request a [Handler] answered; see
// [WithObserver].
type DeliveryOutcome struct {
	// Result classifies the answer.
	Result Result
	// StatusCode is the status answered, or 0 when the event handler
	// panicked and net/http dropped the connection.
	StatusCode int
	// Scheme is the signature scheme the request was checked by, or "".
	Scheme Scheme
	// Event is the decoded event, or nil when the request did not get that
	// far. It must not be modified.
	Event *Event
	// Err says why the request was refused or the handler failed; nil for
	// accepted requests.
	Err error
	// Duration is the time from the request's arrival to its answer.
	Duration time.Duration
}

// Outcome is the former name of [DeliveryOutcome].
//
// Deprecated: use [DeliveryOutcome]; Outcome will be removed in the next
// release. (batch.Outcome is what a batch run did with a manifest row.)
type Outcome = DeliveryOutcome

// Handler is an [http.Handler] that receives webhook deliveries: it caps the
// body, verifies the signature on the raw bytes, decodes the event, passes
// it to an [EventHandler], and answers according to the contract:
//
//	request                                             answer
//	not POST                                            405, with Allow: POST
//	Content-Encoding other than identity (gzip, …)      415, with Accept-Encoding: identity
//	body over the limit (1 MiB by default)              413
//	signature missing, malformed or not matching,
//	  or Standard Webhooks timestamp out of tolerance   401
//	signed, but not JSON or without id/status           400
//	signed and valid, event handler returned nil        200 {"ok":true}
//	event handler failed or timed out                   503, so the sender retries
//
// The handler decodes no content coding: neither scheme says whether a
// signature covers the encoded or the decoded bytes, and a compressed body
// would defeat the size limit. An encoded delivery is answered 415 rather
// than 401 or 400, so the sender's operator sees the cause; a sender that
// compresses must be set not to.
//
// Mount it at any path of an existing mux. It is safe for concurrent use.
type Handler struct {
	verifier *Verifier
	handler  EventHandler
	maxBody  int64
	timeout  time.Duration
	logger   *slog.Logger
	observe  func(DeliveryOutcome)
	dedup    *deliveryCache
}

// handlerConfig collects the options of [NewHandler].
type handlerConfig struct {
	maxBody   int64
	timeout   time.Duration
	logger    *slog.Logger
	observe   func(DeliveryOutcome)
	dedupSize int
}

// HandlerOption configures a [Handler].
type HandlerOption func(*handlerConfig) error

// WithMaxBodyBytes sets the largest body accepted (default
// [DefaultMaxBodyBytes]); a larger one is answered 413. n must be positive.
func WithMaxBodyBytes(n int64) HandlerOption {
	return func(c *handlerConfig) error {
		if n <= 0 {
			return fmt.Errorf("WithMaxBodyBytes: limit must be positive, got %d", n)
		}
		c.maxBody = n
		return nil
	}
}

// WithHandlerTimeout bounds each call of the event handler (default
// [DefaultHandlerTimeout]). The deadline does not end when the sender hangs
// up, so an update under way is finished rather than abandoned. d must be
// positive.
func WithHandlerTimeout(d time.Duration) HandlerOption {
	return func(c *handlerConfig) error {
		if d <= 0 {
			return fmt.Errorf("WithHandlerTimeout: timeout must be positive, got %s", d)
		}
		c.timeout = d
		return nil
	}
}

// WithLogger sets the structured logger. By default, and when l is nil,
// nothing is logged (as by the creativeai client); [WithObserver] still
// sees every request. Accepted deliveries are logged at debug level,
// refused ones at warn, handler failures at error. Logs carry ids,
// statuses and reasons, never secrets, signatures or bodies.
func WithLogger(l *slog.Logger) HandlerOption {
	return func(c *handlerConfig) error {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		c.logger = l
		return nil
	}
}

// WithObserver registers a function called once per request, after the
// answer is written, for counting outcomes. It is called concurrently and
// should return quickly. A nil f observes nothing.
func WithObserver(f func(DeliveryOutcome)) HandlerOption {
	return func(c *handlerConfig) error {
		c.observe = f
		return nil
	}
}

// WithDedup remembers the last size accepted deliveries and acknowledges a
// repeat of one without calling the event handler again. It only saves
// work: the event handler must stay idempotent, because the memory is
// bounded, per process, and does not cover deliveries handled concurrently.
// A delivery is matched by its delivery id, generation id and status, so a
// reused delivery id never hides a different update. size must be positive.
func WithDedup(size int) HandlerOption {
	return func(c *handlerConfig) error {
		if size <= 0 {
			return fmt.Errorf("WithDedup: size must be positive, got %d", size)
		}
		c.dedupSize = size
		return nil
	}
}

// NewHandler returns a handler that accepts deliveries v verifies and passes
// their events to h. It reports an error when v or h is nil or an option is
// invalid; a nil option is skipped.
func NewHandler(v *Verifier, h EventHandler, opts ...HandlerOption) (*Handler, error) {
	if v == nil {
		return nil, errors.New("webhook: NewHandler: nil *Verifier")
	}
	if h == nil {
		return nil, errors.New("webhook: NewHandler: nil EventHandler")
	}
	cfg := handlerConfig{
		maxBody: DefaultMaxBodyBytes,
		timeout: DefaultHandlerTimeout,
		logger:  slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, fmt.Errorf("webhook: NewHandler: %w", err)
		}
	}
	hd := &Handler{
		verifier: v,
		handler:  h,
		maxBody:  cfg.maxBody,
		timeout:  cfg.timeout,
		logger:   cfg.logger,
		observe:  cfg.observe,
	}
	if cfg.dedupSize > 0 {
		hd.dedup = newDeliveryCache(cfg.dedupSize)
	}
	return hd, nil
}

// Response bodies are fixed, so they are encoded once.
var (
	bodyOK               = []byte(`{"ok":true}` + "\n")
	bodyDuplicate        = []byte(`{"ok":true,"duplicate":true}` + "\n")
	bodyMethodNotAllowed = []byte(`{"ok":false,"error":"method not allowed: use POST"}` + "\n")
	bodyUnsupportedMedia = []byte(`{"ok":false,"error":"unsupported Content-Encoding: send the body unencoded"}` + "\n")
	bodyTooLarge         = []byte(`{"ok":false,"error":"body too large"}` + "\n")
	bodyReadFailed       = []byte(`{"ok":false,"error":"could not read body"}` + "\n")
	bodyUnauthorized     = []byte(`{"ok":false,"error":"invalid signature"}` + "\n")
	bodyHandlerFailed    = []byte(`{"ok":false,"error":"event not stored; retry later"}` + "\n")
)

// bufPool recycles request body buffers. Buffers grown past maxPooledBuffer
// are dropped so that one large delivery does not pin memory.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBuffer = 64 << 10

// ServeHTTP answers one webhook delivery; see [Handler] for the contract.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out := DeliveryOutcome{}
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			// net/http recovers the panic and drops the connection, so the
			// sender retries; it is still counted and logged as a failure.
			out.Result, out.StatusCode, out.Err = ResultHandlerFailed, 0, fmt.Errorf("event handler panicked: %v", p)
			out.Duration = time.Since(start)
			h.report(r, &out)
			panic(p)
		}
		out.Duration = time.Since(start)
		h.report(r, &out)
	}()

	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		out.Err = fmt.Errorf("method %s not allowed", r.Method)
		h.reply(w, &out, ResultMethodNotAllowed, http.StatusMethodNotAllowed, bodyMethodNotAllowed)
		return
	}
	if enc, ok := encoded(r.Header); ok {
		// RFC 9110 section 15.5.16: say which codings are acceptable.
		w.Header().Set("Accept-Encoding", "identity")
		out.Err = fmt.Errorf("body sent with Content-Encoding %q; only unencoded bodies are accepted", enc)
		h.reply(w, &out, ResultUnsupportedMedia, http.StatusUnsupportedMediaType, bodyUnsupportedMedia)
		return
	}
	if r.ContentLength > h.maxBody {
		out.Err = fmt.Errorf("Content-Length %d exceeds the %d-byte limit", r.ContentLength, h.maxBody)
		h.reply(w, &out, ResultTooLarge, http.StatusRequestEntityTooLarge, bodyTooLarge)
		return
	}

	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBuffer {
			bufPool.Put(buf)
		}
	}()
	if r.ContentLength > 0 {
		// One allocation of the right size instead of repeated growth;
		// ReadFrom wants room for one more read to see EOF.
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	body := r.Body
	if body == nil {
		// Client requests built by hand may have no body at all.
		body = http.NoBody
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, body, h.maxBody)); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			out.Err = fmt.Errorf("body exceeds the %d-byte limit", h.maxBody)
			h.reply(w, &out, ResultTooLarge, http.StatusRequestEntityTooLarge, bodyTooLarge)
			return
		}
		out.Err = fmt.Errorf("reading body: %w", err)
		h.reply(w, &out, ResultReadFailed, http.StatusBadRequest, bodyReadFailed)
		return
	}
	raw := buf.Bytes()

	scheme, err := h.verifier.verify(r.Header, raw)
	out.Scheme = scheme
	if err != nil {
		out.Err = err
		h.reply(w, &out, ResultUnauthorized, http.StatusUnauthorized, bodyUnauthorized)
		return
	}

	ev, err := ParseEvent(raw, r.Header)
	if err != nil {
		out.Err = err
		// The sender is authenticated, so it may learn what was wrong.
		msg, _ := json.Marshal(struct {
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}{Error: err.Error()})
		h.reply(w, &out, ResultBadRequest, http.StatusBadRequest, append(msg, '\n'))
		return
	}
	out.Event = ev

	if h.dedup != nil && h.dedup.contains(ev) {
		h.reply(w, &out, ResultDuplicate, http.StatusOK, bodyDuplicate)
		return
	}

	// The sender hanging up must not abandon an update half-way: the
	// deadline is ours alone.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.timeout)
	err = h.handler.HandleEvent(ctx, ev)
	cancel()
	if err != nil {
		out.Err = err
		h.reply(w, &out, ResultHandlerFailed, http.StatusServiceUnavailable, bodyHandlerFailed)
		return
	}
	if h.dedup != nil {
		h.dedup.add(ev)
	}
	h.reply(w, &out, ResultAccepted, http.StatusOK, bodyOK)
}

// encoded reports whether the body carries a content coding other than
// identity, and names it. Content-Encoding lists codings in the order they
// were applied, possibly over several header lines.
func encoded(h http.Header) (string, bool) {
	for _, v := range h["Content-Encoding"] {
		for c := range strings.SplitSeq(v, ",") {
			// Optional whitespace in HTTP lists is spaces and tabs only.
			if c = strings.Trim(c, " \t"); c != "" && !strings.EqualFold(c, "identity") {
				return c, true
			}
		}
	}
	return "", false
}

// reply writes the answer and records it in out.
func (h *Handler) reply(w http.ResponseWriter, out *DeliveryOutcome, res Result, code int, body []byte) {
	out.Result, out.StatusCode = res, code
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	// A failed write means the sender has gone; it will retry.
	_, _ = w.Write(body)
}

// report logs the outcome and passes it to the observer.
func (h *Handler) report(r *http.Request, out *DeliveryOutcome) {
	level := slog.LevelWarn
	switch out.Result {
	case ResultAccepted, ResultDuplicate:
		level = slog.LevelDebug
	case ResultHandlerFailed:
		level = slog.LevelError
	}
	ctx := r.Context()
	if h.logger.Enabled(ctx, level) {
		attrs := make([]slog.Attr, 0, 10)
		attrs = append(attrs,
			slog.String("result", string(out.Result)),
			slog.Int("status", out.StatusCode),
			slog.Duration("duration", out.Duration),
			slog.String("remote_addr", r.RemoteAddr),
		)
		if out.Scheme != "" {
			attrs = append(attrs, slog.String("scheme", string(out.Scheme)))
		}
		if e := out.Event; e != nil {
			attrs = append(attrs,
				slog.String("delivery_id", e.DeliveryID),
				slog.String("event_type", e.Type),
				slog.String("generation_id", e.ID),
				slog.String("generation_status", string(e.Status)),
			)
		}
		if out.Err != nil {
			attrs = append(attrs, slog.String("error", out.Err.Error()))
		}
		h.logger.LogAttrs(ctx, level, "webhook delivery", attrs...)
	}
	if h.observe != nil {
		h.observe(*out)
	}
}
