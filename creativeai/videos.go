package creativeai

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-querystring/query"

	"github.com/creativeai-run/catalogvideo/internal/backoff"
)

const videoGenerationsPath = "v1/video/generations"

// VideoService creates and follows video generations
// (/v1/video/generations).
type VideoService service

// VideoRequest is the body of a video generation.
type VideoRequest struct {
	// Model picks the renderer, such as "kling-v3", "seedance-1.5-pro",
	// "veo-3.1", or "auto" to let the service choose.
	Model string `json:"model,omitempty"`
	// Prompt describes the motion, such as "slow camera push, clean white
	// sweep".
	Prompt string `json:"prompt,omitempty"`
	// ImageURL is the product still to animate.
	ImageURL string `json:"image_url,omitempty"`
	// Duration is the clip length; it is sent as "5s".
	Duration Duration `json:"duration,omitempty"`
	// AspectRatio is "16:9", "9:16", "1:1", ...
	AspectRatio string `json:"aspect_ratio,omitempty"`
	// WebhookURL receives the signed completion event; leave it empty to
	// poll with Get or Wait instead.
	WebhookURL string `json:"webhook_url,omitempty"`
}

func (r *VideoRequest) validate() error {
	switch {
	case r == nil:
		return errNilRequest
	case strings.TrimSpace(r.Prompt) == "" && strings.TrimSpace(r.ImageURL) == "":
		return errors.New("creativeai: VideoRequest needs a Prompt or an ImageURL")
	case r.Duration < 0:
		return fmt.Errorf("creativeai: VideoRequest.Duration is %d, want 0 (service default) or more", r.Duration)
	}
	// A mistyped webhook URL would lose every completion event silently.
	if r.WebhookURL != "" {
		if err := checkAbsURL(r.WebhookURL); err != nil {
			return fmt.Errorf("creativeai: VideoRequest.WebhookURL: %w", err)
		}
	}
	return nil
}

// checkAbsURL reports whether s is an absolute http or https URL.
func checkAbsURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// Create submits a video generation (POST /v1/video/generations). The
// service answers 202 Accepted with the generation, usually "pending"; 200
// and 201 are accepted too.
//
// Pass [WithIdempotencyKey] so that the call is retried safely after a
// connection error or 5xx: without a key, only a 429 is retried, because the
// service may have started a render whose answer was lost.
func (s *VideoService) Create(ctx context.Context, req *VideoRequest, opts ...RequestOption) (*Generation, *Response, error) {
	if err := req.validate(); err != nil {
		return nil, nil, err
	}
	g := new(Generation)
	resp, err := s.client.call(ctx, http.MethodPost, videoGenerationsPath, nil, req, g, opts)
	if err != nil {
		return nil, resp, err
	}
	if g.ID == "" {
		return nil, resp, fmt.Errorf("creativeai: POST /%s: %d response has no generation id", videoGenerationsPath, resp.StatusCode)
	}
	return g, resp, nil
}

// Get fetches the current state of a generation
// (GET /v1/video/generations/{id}). A generation the service does not know
// gives an error for which [IsNotFound] reports true.
func (s *VideoService) Get(ctx context.Context, id string) (*Generation, *Response, error) {
	if err := checkID(id); err != nil {
		return nil, nil, err
	}
	g := new(Generation)
	resp, err := s.client.call(ctx, http.MethodGet, videoGenerationsPath+"/"+url.PathEscape(id), nil, nil, g, nil)
	if err != nil {
		return nil, resp, err
	}
	return g, resp, nil
}

// checkID rejects ids that would not name one generation in a URL path.
func checkID(id string) error {
	switch {
	case id == "":
		return errors.New("creativeai: empty generation id")
	case id == "." || id == "..":
		return fmt.Errorf("creativeai: invalid generation id %q", id)
	case !validHeaderValue(id):
		return errors.New("creativeai: generation id contains control characters")
	}
	return nil
}

// WaitOptions tunes [VideoService.Wait]. The zero value polls every 5 s at
// first, backing off to 30 s.
type WaitOptions struct {
	// Interval is the wait before the second poll (default 5s, the interval
	// the service documents).
	Interval time.Duration
	// MaxInterval caps the wait between polls, which grows by half after each
	// poll that brings no change (default 30s, or Interval if larger).
	MaxInterval time.Duration
	// OnStatus, if set, is called with the generation each time its status
	// differs from the previous poll's, including the first poll.
	OnStatus func(*Generation)
}

const (
	defaultWaitInterval    = 5 * time.Second
	defaultWaitMaxInterval = 30 * time.Second
)

// Wait polls a generation until it is completed or failed and returns it. A
// failed render is not an error: its reason is in the generation's Error.
//
// Renders take from seconds to minutes, so the wait between polls grows
// while nothing changes, from Interval up to MaxInterval, and drops back to
// Interval on a status change. A poll that fails transiently even after the
// client's own retries (see [IsRetryable]) does not end the wait; any other
// error, such as an unknown id, does. Wait returns as soon as ctx ends, with
// an error wrapping ctx.Err().
func (s *VideoService) Wait(ctx context.Context, id string, opts *WaitOptions) (*Generation, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	var o WaitOptions
	if opts != nil {
		o = *opts
	}
	if o.Interval < 0 || o.MaxInterval < 0 {
		return nil, fmt.Errorf("creativeai: WaitOptions intervals must not be negative (Interval %v, MaxInterval %v)", o.Interval, o.MaxInterval)
	}
	if o.Interval == 0 {
		o.Interval = defaultWaitInterval
	}
	if o.MaxInterval == 0 {
		o.MaxInterval = defaultWaitMaxInterval
	}
	o.MaxInterval = max(o.MaxInterval, o.Interval)

	var (
		last     Status
		seen     bool
		interval = o.Interval
		lastErr  error
	)
	for {
		g, _, err := s.Get(ctx, id)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, fmt.Errorf("creativeai: waiting for generation %s: %w", id, ctx.Err())
		case err != nil && !IsRetryable(err):
			return nil, fmt.Errorf("creativeai: waiting for generation %s: %w", id, err)
		case err != nil:
			lastErr = err
		default:
			lastErr = nil
			if !seen || g.Status != last {
				seen, last = true, g.Status
				interval = o.Interval
				if o.OnStatus != nil {
					o.OnStatus(g)
				}
			}
			if g.Status.Terminal() {
				return g, nil
			}
		}

		if err := backoff.Sleep(ctx, interval); err != nil {
			if lastErr != nil {
				return nil, fmt.Errorf("creativeai: waiting for generation %s: %w (last poll: %w)", id, err, lastErr)
			}
			return nil, fmt.Errorf("creativeai: waiting for generation %s: %w", id, err)
		}
		interval = min(interval+interval/2, o.MaxInterval)
	}
}

// ListOptions filters and pages [VideoService.List].
type ListOptions struct {
	// Status keeps only generations in this status.
	Status Status `url:"status,omitempty"`
	// Limit is the page size; the service picks one when it is 0.
	Limit int `url:"limit,omitempty"`
	// Cursor starts the listing after a page another listing ended with.
	Cursor string `url:"cursor,omitempty"`
}

// listPage is one page of List.
type listPage struct {
	Data       []*Generation `json:"data"`
	HasMore    *bool         `json:"has_more"`
	NextCursor string        `json:"next_cursor"`
}

// List iterates over generations (GET /v1/video/generations), fetching
// pages as the loop asks for more. Iteration stops at the first error, which
// is yielded with a nil generation.
//
// The list endpoint is not in the service's public documentation; this
// method is modelled on comparable APIs: a page is
// {"data":[...],"has_more":bool,"next_cursor":"..."}, and the next page is
// requested with cursor=next_cursor. Treat it as best effort and prefer
// tracking the ids Create returns.
func (s *VideoService) List(ctx context.Context, opts *ListOptions) iter.Seq2[*Generation, error] {
	return func(yield func(*Generation, error) bool) {
		var o ListOptions
		if opts != nil {
			o = *opts
		}
		if o.Limit < 0 {
			yield(nil, fmt.Errorf("creativeai: ListOptions.Limit is %d, want 0 or more", o.Limit))
			return
		}
		seen := map[string]bool{}
		for {
			q, err := query.Values(o)
			if err != nil {
				yield(nil, fmt.Errorf("creativeai: encoding list options: %w", err))
				return
			}
			var page listPage
			if _, err := s.client.call(ctx, http.MethodGet, videoGenerationsPath, q, nil, &page, nil); err != nil {
				yield(nil, err)
				return
			}
			for _, g := range page.Data {
				if g == nil {
					continue
				}
				if !yield(g, nil) {
					return
				}
			}
			next := page.NextCursor
			switch {
			case page.HasMore != nil && !*page.HasMore:
				return
			case next == "" && page.HasMore == nil:
				return
			case next == "":
				yield(nil, errors.New("creativeai: list page has has_more=true but no next_cursor"))
				return
			}
			// A server that hands back a cursor it already gave would loop
			// forever.
			if seen[next] || next == o.Cursor {
				yield(nil, fmt.Errorf("creativeai: list page repeats cursor %q", next))
				return
			}
			seen[next] = true
			o.Cursor = next
		}
	}
}
