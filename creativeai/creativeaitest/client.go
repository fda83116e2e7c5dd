package creativeaitest

import (
	"fmt"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// FastRetryPolicy returns the retry policy [Server.Client] uses: many
// retries with millisecond waits, so that a client meeting injected faults
// gets through quickly. Programs and tests that build their own client for
// a Server can pass it to [creativeai.WithRetryPolicy].
//
// With the fault rates of a typical fault test (18% of requests failing), a
// request exhausts its 10 retries about once in 10⁸ tries.
func FastRetryPolicy() creativeai.RetryPolicy {
	return creativeai.RetryPolicy{MaxRetries: 10, InitialDelay: time.Millisecond, MaxDelay: 50 * time.Millisecond}
}

// Client returns a [creativeai.Client] configured for the server: its URL
// and API key, an HTTP client whose idle connections Close shuts, and
// [FastRetryPolicy]. opts are applied after those, so they may override
// them.
//
// Client panics if an option is invalid, like [NewServer].
func (s *Server) Client(opts ...creativeai.Option) *creativeai.Client {
	base := []creativeai.Option{
		creativeai.WithBaseURL(s.URL),
		creativeai.WithHTTPClient(s.ts.Client()),
		creativeai.WithRetryPolicy(FastRetryPolicy()),
	}
	c, err := creativeai.NewClient(s.APIKey, append(base, opts...)...)
	if err != nil {
		panic(fmt.Sprintf("creativeaitest: Server.Client: %v", err))
	}
	return c
}
