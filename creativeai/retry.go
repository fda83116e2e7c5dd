package creativeai

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/creativeai-run/catalogvideo/internal/backoff"
)

// RetryPolicy says how often and how patiently a failed request is sent
// again.
//
// What is retried: connection errors, and answers 408, 409, 429 and 5xx,
// except an idempotency-key conflict (see [IsIdempotencyConflict]), which
// waiting never resolves and which is returned at once. A GET is always retried; a POST only when it carries an idempotency key (see
// [WithIdempotencyKey]), or after a 429, which the service answers before
// doing any work. The wait before each retry is the server's Retry-After-Ms
// or Retry-After (seconds or an HTTP date) when present, capped at MaxDelay;
// otherwise it grows exponentially from InitialDelay, capped at MaxDelay, with
// up to 25% random jitter so that clients that failed together do not retry
// together. Waits end early when the request's context does.
type RetryPolicy struct {
	// MaxRetries is how many times one request may be sent again after its
	// first attempt; 0 disables retries. The default is 3.
	MaxRetries int
	// InitialDelay is the wait before the first retry (default 500ms; zero
	// means the default).
	InitialDelay time.Duration
	// MaxDelay caps every wait, including one the server asked for (default
	// 30s; zero means the default).
	MaxDelay time.Duration
}

// retryJitter is the fraction of each computed delay that is randomised.
const retryJitter = 0.25

// DefaultRetryPolicy returns the policy a client uses unless told otherwise:
// 3 retries, waits from 500ms doubling up to 30s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 3, InitialDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second}
}

func (p RetryPolicy) validate() error {
	switch {
	case p.MaxRetries < 0:
		return fmt.Errorf("creativeai: RetryPolicy.MaxRetries is %d, want 0 or more", p.MaxRetries)
	case p.InitialDelay < 0:
		return fmt.Errorf("creativeai: RetryPolicy.InitialDelay is %v, want 0 or more", p.InitialDelay)
	case p.MaxDelay < 0:
		return fmt.Errorf("creativeai: RetryPolicy.MaxDelay is %v, want 0 or more", p.MaxDelay)
	case p.MaxDelay > 0 && p.InitialDelay > p.MaxDelay:
		return fmt.Errorf("creativeai: RetryPolicy.InitialDelay (%v) exceeds MaxDelay (%v)", p.InitialDelay, p.MaxDelay)
	}
	return nil
}

// backoffPolicy is the retry timing for p.
func (p RetryPolicy) backoffPolicy() backoff.Policy {
	return backoff.Policy{
		Initial:    p.InitialDelay,
		Max:        p.MaxDelay,
		Multiplier: 2,
		Jitter:     retryJitter,
	}
}

// retryableAnswer reports whether the failed answer e may succeed when the
// request is sent again: its status is transient and it is not an
// idempotency-key conflict, which stays a conflict however long one waits.
func retryableAnswer(e *APIError) bool {
	return retryableStatus(e.StatusCode) && !isIdempotencyConflict(e)
}

// retryableStatus reports whether an answer with this status may succeed
// when the request is sent again.
func retryableStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusConflict, code == http.StatusTooManyRequests:
		return true
	default:
		return code >= 500 && code <= 599
	}
}

// do sends req until it succeeds, fails for good, or the retry policy is
// spent, and decodes a 2xx answer into out. It returns the last response
// (body closed) whenever there was one, also with an *APIError.
func (c *Client) do(ctx context.Context, req *http.Request, out any) (*Response, error) {
	policy := c.cfg.retry
	timing := policy.backoffPolicy()
	// Sending a GET twice is harmless. A POST may have created a generation
	// before its answer was lost, so only a key the service deduplicates on
	// makes a second attempt safe.
	idempotent := req.Method == http.MethodGet || req.Header.Get("Idempotency-Key") != ""

	for attempt := 0; ; attempt++ {
		if attempt > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("creativeai: %s %s: rewinding body for retry: %w", req.Method, req.URL.Path, err)
			}
			req.Body = body
		}

		resp, err := c.cfg.httpClient.Do(req)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, fmt.Errorf("creativeai: %s %s: %w", req.Method, req.URL.Path, ctxErr)
			}
			terr := c.newTransportError(req, err)
			if !idempotent || !IsRetryable(terr) || attempt >= policy.MaxRetries {
				return nil, terr
			}
			delay := timing.Delay(attempt)
			c.logRetry(ctx, req, attempt, 0, "", terr, delay)
			if err := backoff.Sleep(ctx, delay); err != nil {
				return nil, fmt.Errorf("%w; retry abandoned: %w", terr, err)
			}
			continue
		}

		r := &Response{Response: resp, RequestID: requestID(resp.Header), Attempts: attempt + 1}
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			if err := decodeResponse(resp, out); err != nil {
				return r, fmt.Errorf("creativeai: %s %s: decoding %d response: %w", req.Method, req.URL.Path, resp.StatusCode, err)
			}
			return r, nil
		}

		apiErr := c.newAPIError(req, resp)
		retry := retryableAnswer(apiErr) &&
			(idempotent || resp.StatusCode == http.StatusTooManyRequests)
		if !retry || attempt >= policy.MaxRetries {
			return r, apiErr
		}
		delay := timing.Delay(attempt)
		if ra, ok := backoff.RetryAfter(resp.Header, time.Now()); ok {
			delay = timing.Cap(ra)
		}
		c.logRetry(ctx, req, attempt, resp.StatusCode, apiErr.RequestID, nil, delay)
		if err := backoff.Sleep(ctx, delay); err != nil {
			return r, fmt.Errorf("%w; retry abandoned: %w", apiErr, err)
		}
	}
}

// logRetry records one retry decision. It logs no bodies, and err's message
// is already scrubbed of the key.
func (c *Client) logRetry(ctx context.Context, req *http.Request, attempt, status int, reqID string, err error, delay time.Duration) {
	l := c.cfg.logger
	if !l.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("path", req.URL.Path),
		slog.Int("attempt", attempt+1),
		slog.Duration("delay", delay),
	}
	if status != 0 {
		attrs = append(attrs, slog.Int("status", status))
	}
	if reqID != "" {
		attrs = append(attrs, slog.String("request_id", reqID))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	l.LogAttrs(ctx, slog.LevelInfo, "creativeai: retrying request", attrs...)
}
