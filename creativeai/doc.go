// Package creativeai is a typed client for the CreativeAI render API: video
// generations from a product still, refreshed stills, the statuses a render
// moves through, buyer-facing status copy, and per-SKU cost math.
//
// # Client
//
// [NewClient] takes the API key and validated options; [NewClientFromEnv]
// reads CREATIVEAI_API_KEY and CREATIVEAI_BASE_URL instead. The environment is
// read nowhere else. A Client is safe for concurrent use; share one.
//
//	client, err := creativeai.NewClient(os.Getenv("CREATIVEAI_API_KEY"))
//	gen, _, err := client.Videos.Create(ctx, &creativeai.VideoRequest{
//		Model:    "kling-v3",
//		Prompt:   "5-second product hero shot, slow camera push",
//		ImageURL: "https://cdn.example.com/catalog/mug-hero.jpg",
//		Duration: 5,
//	}, creativeai.WithIdempotencyKey("SKU-1001/v1"))
//	done, err := client.Videos.Wait(ctx, gen.ID, nil)
//
// The API key is never part of an error, a log line or a formatted Client.
//
// # Retries and idempotency
//
// Connection errors and answers 408, 409, 429 and 5xx are retried with the
// [RetryPolicy] (by default 3 retries, 500ms doubling to 30s with jitter),
// honouring Retry-After and Retry-After-Ms up to the policy's cap. A GET is
// always retried. A POST is retried only when it carries an Idempotency-Key
// ([WithIdempotencyKey]), except after a 429: without a key, a retry after a
// lost answer could render and bill the same clip twice. Derive the key from
// what the request is for (the SKU and its inputs), so that it stays the same
// on every retry and every rerun. An idempotency-key conflict
// ([IsIdempotencyConflict]) is returned at once, even as a 409: resending the
// same key cannot resolve it.
//
// The service does not document idempotency keys; the client sends them as
// comparable APIs (Stripe, OpenAI) expect, and the simulator in
// [github.com/creativeai-run/catalogvideo/creativeai/creativeaitest] honours
// them.
//
// # Errors
//
// An answer other than 2xx is an [*APIError] with the status, the service's
// type, code and message, the request id and a bounded copy of the body. Use
// [IsRateLimited], [IsNotFound], [IsUnauthorized] and [IsRetryable] to
// classify it; errors that end with the context wrap ctx.Err().
//
// # Renders
//
// A generation is "pending", then "processing", then "completed" (with an
// output_url to copy out promptly, since such URLs expire) or "failed". The
// service's documentation disagrees with itself on several wire forms, so
// [Generation] decodes them all; [Status] keeps a value the service sends
// that this package does not know, so callers can record it as it came.
// Completion arrives by webhook when a WebhookURL is given;
// [VideoService.Wait] polls instead.
//
// [Pricing] holds the price of one generation and totals what a batch costs.
// This package speaks the API only: the job workflow built on it (the order
// in which a job's states may follow each other, submit_failed, delivery
// states and buyer-facing copy) lives in package batch/jobs.
//
// # Testing
//
// Package creativeaitest runs a simulator of the API on a loopback address,
// like net/http/httptest: point a client at it, or use its Client method, to
// test code that renders without network access or credits.
package creativeai
