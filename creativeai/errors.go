package creativeai

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/creativeai-run/catalogvideo/internal/backoff"
)

const (
	// maxErrorBody bounds how much of an error response is read and kept in
	// APIError.Body; the rest is discarded.
	maxErrorBody = 64 << 10
	// maxPlainMessage bounds a text/plain error body used as the message.
	maxPlainMessage = 512
	// redacted replaces the API key wherever it would otherwise appear.
	redacted = "[REDACTED]"
)

// APIError is an answer from the service with a status other than 2xx. Use
// [errors.As] to reach it, or the helpers [IsRateLimited], [IsNotFound],
// [IsUnauthorized] and [IsRetryable].
//
// The service does not publish its error format, so the body is read
// leniently: {"error":{"message","type","code"}}, {"error":"..."} and
// {"message":"..."} all fill Message, Type and Code where present. The API
// key is replaced by "[REDACTED]" in every field, should the service echo it.
type APIError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Type and Code classify the error, when the body says so.
	Type, Code string
	// Message is the service's explanation, when the body has one.
	Message string
	// RequestID is the service's id for the request (X-Request-Id).
	RequestID string
	// RetryAfter is the delay the service asked for (Retry-After or
	// Retry-After-Ms), as sent: the retry loop caps it, this field does not.
	RetryAfter time.Duration
	// Body is the start of the raw body, at most 64 KiB.
	Body []byte
	// Method and Path identify the request that failed, such as
	// "POST" and "/v1/video/generations".
	Method, Path string
}

// Error describes the failure in one line: the request, the status, the
// service's code and message, and the request id.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("creativeai: ")
	if e.Method != "" {
		b.WriteString(e.Method + " " + e.Path + ": ")
	}
	b.WriteString(strconv.Itoa(e.StatusCode))
	if text := http.StatusText(e.StatusCode); text != "" {
		b.WriteString(" " + text)
	}
	if code := cmp.Or(e.Code, e.Type); code != "" {
		b.WriteString(": " + code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request id " + e.RequestID + ")")
	}
	return b.String()
}

// IsRateLimited reports whether err is, or wraps, an answer with status 429.
func IsRateLimited(err error) bool { return hasStatus(err, http.StatusTooManyRequests) }

// IsNotFound reports whether err is, or wraps, an answer with status 404.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsUnauthorized reports whether err is, or wraps, an answer with status 401:
// the API key is missing, wrong or revoked.
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsIdempotencyConflict reports whether err is, or wraps, the answer that an
// Idempotency-Key was already used for a different request. Retrying with the
// same key can never succeed; only a new key can, and it starts a new render.
//
// The service does not document idempotency keys. This recognises the answer
// comparable APIs give (Stripe's "idempotency_error", a 400, 409 or 422 whose
// type or code names idempotency), which the simulator gives too.
func IsIdempotencyConflict(err error) bool {
	var e *APIError
	return errors.As(err, &e) && isIdempotencyConflict(e)
}

func isIdempotencyConflict(e *APIError) bool {
	switch e.StatusCode {
	case http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity:
		return strings.Contains(strings.ToLower(e.Type+" "+e.Code), "idempotency")
	}
	return false
}

func hasStatus(err error, code int) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == code
}

// IsRetryable reports whether err is a transient failure of the kind the
// client's retry loop retries: a connection error, or status 408, 409, 429 or
// 5xx, but not an idempotency-key conflict ([IsIdempotencyConflict]) even when
// it comes as a 409. Callers use it to decide whether to replay a request
// later.
//
// An error that is only the end of the caller's context is not retryable; one
// that also carries a retryable answer, received before the context ended
// during the wait for a retry, is. Replaying a POST is safe only with the
// same idempotency key, except after a 429.
func IsRetryable(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return retryableAnswer(apiErr)
	}
	var te *transportError
	return errors.As(err, &te) && te.retryable
}

// transportError is a failure to get an answer at all: a refused or dropped
// connection, a timeout, a TLS problem. Its message is scrubbed of the API key
// (a custom RoundTripper may echo request headers in its errors); Unwrap
// reaches the original error for errors.Is and errors.As.
type transportError struct {
	msg       string
	err       error
	retryable bool
}

func (e *transportError) Error() string { return e.msg }
func (e *transportError) Unwrap() error { return e.err }

func (c *Client) newTransportError(req *http.Request, err error) error {
	// *url.Error repeats the whole URL; the method and path say enough and
	// keep the message short.
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return &transportError{
		msg:       c.redact(fmt.Sprintf("creativeai: %s %s: %v", req.Method, req.URL.Path, err)),
		err:       err,
		retryable: retryableTransport(err),
	}
}

// retryableTransport reports whether a request that failed with err may
// succeed if sent again. Certificate problems will not go away by retrying.
func retryableTransport(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var (
		verifyErr *tls.CertificateVerificationError
		authErr   x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		certErr   x509.CertificateInvalidError
	)
	return !errors.As(err, &verifyErr) && !errors.As(err, &authErr) &&
		!errors.As(err, &hostErr) && !errors.As(err, &certErr)
}

// redact replaces the API key in s.
func (c *Client) redact(s string) string {
	key := c.cfg.apiKey.value
	s = strings.ReplaceAll(s, key, redacted)
	if esc := url.QueryEscape(key); esc != key {
		s = strings.ReplaceAll(s, esc, redacted)
	}
	return s
}

// newAPIError reads the (bounded) body of a failed answer, closes it, and
// builds the error.
func (c *Client) newAPIError(req *http.Request, resp *http.Response) *APIError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	// Drain a little more so short overruns do not cost the connection, but
	// never read an unbounded body.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()

	e := &APIError{
		StatusCode: resp.StatusCode,
		RequestID:  requestID(resp.Header),
		Method:     req.Method,
		Path:       req.URL.Path,
	}
	if d, ok := backoff.RetryAfter(resp.Header, time.Now()); ok {
		e.RetryAfter = d
	}
	if key := c.cfg.apiKey.value; bytes.Contains(body, []byte(key)) {
		body = bytes.ReplaceAll(body, []byte(key), []byte(redacted))
	}
	if len(body) > 0 {
		e.Body = body
	}
	parseErrorBody(e, body, resp.Header.Get("Content-Type"))
	e.Type, e.Code, e.Message = c.redact(e.Type), c.redact(e.Code), c.redact(e.Message)
	return e
}

// requestID returns the service's request id: X-Request-Id, or the
// Request-Id header some APIs use instead.
func requestID(h http.Header) string {
	return cmp.Or(h.Get("X-Request-Id"), h.Get("Request-Id"))
}

// parseErrorBody fills Type, Code and Message from the shapes comparable APIs
// use. A body it does not understand leaves them empty; it is still in Body.
func parseErrorBody(e *APIError, body []byte, contentType string) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return
	}
	if body[0] != '{' {
		if mt, _, _ := mime.ParseMediaType(contentType); mt == "text/plain" && utf8.Valid(body) {
			e.Message = truncate(strings.TrimSpace(string(body)), maxPlainMessage)
		}
		return
	}
	var env struct {
		Error   json.RawMessage `json:"error"`
		Message json.RawMessage `json:"message"`
		Detail  json.RawMessage `json:"detail"`
		Type    json.RawMessage `json:"type"`
		Code    json.RawMessage `json:"code"`
	}
	if json.Unmarshal(body, &env) != nil {
		return
	}
	e.Message = cmp.Or(jsonText(env.Message), jsonText(env.Detail))
	e.Type = jsonText(env.Type)
	e.Code = jsonText(env.Code)
	inner := bytes.TrimSpace(env.Error)
	switch {
	case len(inner) > 0 && inner[0] == '{':
		var obj struct {
			Message json.RawMessage `json:"message"`
			Type    json.RawMessage `json:"type"`
			Code    json.RawMessage `json:"code"`
		}
		if json.Unmarshal(inner, &obj) == nil {
			e.Message = cmp.Or(jsonText(obj.Message), e.Message)
			e.Type = cmp.Or(jsonText(obj.Type), e.Type)
			e.Code = cmp.Or(jsonText(obj.Code), e.Code)
		}
	case len(inner) > 0:
		// {"error":"..."} is a message on its own, or a code beside a
		// top-level "message".
		if s := jsonText(inner); e.Message == "" {
			e.Message = s
		} else if e.Code == "" {
			e.Code = s
		}
	}
}

// jsonText returns a JSON string's value, or a number's or boolean's text;
// anything else gives "".
func jsonText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return strings.TrimSpace(s)
	case '{', '[', 'n':
		return ""
	default:
		return string(raw)
	}
}

// truncate shortens s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
