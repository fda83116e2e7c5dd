package backoff_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/creativeai-run/catalogvideo/internal/backoff"
)

// With Jitter 0 the delays are exact: they double from Initial until Max
// caps them.
func ExamplePolicy_Delay() {
	p := backoff.Policy{Initial: time.Second, Max: 10 * time.Second, Multiplier: 2}
	for attempt := range 6 {
		fmt.Printf("retry %d after %v\n", attempt+1, p.Delay(attempt))
	}
	// Output:
	// retry 1 after 1s
	// retry 2 after 2s
	// retry 3 after 4s
	// retry 4 after 8s
	// retry 5 after 10s
	// retry 6 after 10s
}

// A server may ask for a delay in milliseconds (Retry-After-Ms), seconds, or
// as an HTTP date; a date is measured from now. Cap keeps an absurd request
// within the policy.
func ExampleRetryAfter() {
	now := time.Date(2026, time.March, 11, 8, 0, 0, 0, time.UTC)
	headers := []http.Header{
		{"Retry-After-Ms": {"250"}},
		{"Retry-After": {"3"}},
		{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}},
		{"Retry-After": {"86400"}},
		{"Retry-After": {"soon"}},
	}
	p := backoff.Policy{Max: time.Minute}
	for _, h := range headers {
		d, ok := backoff.RetryAfter(h, now)
		fmt.Println(d, ok, p.Cap(d))
	}
	// Output:
	// 250ms true 250ms
	// 3s true 3s
	// 1m30s true 1m0s
	// 24h0m0s true 1m0s
	// 0s false 0s
}
