// Package creativeaitest provides a simulator of the CreativeAI render API
// for tests and offline demos, in the spirit of [net/http/httptest].
//
// [NewServer] starts a [Server] on a loopback address. Point a client at
// Server.URL with Server.APIKey, or call [Server.Client] for a
// [creativeai.Client] already configured for it (with fast retries), and
// Close the server when done:
//
//	srv := creativeaitest.NewServer(creativeaitest.WithSeed(1))
//	defer srv.Close()
//	client := srv.Client()
//
// # What it simulates
//
//   - POST /v1/video/generations: Bearer authentication, validation
//     (prompt and an absolute image_url required; model, duration "5s" or 5
//     and aspect_ratio defaulted), 202 with a "vgen_…" generation in status
//     "pending". Idempotency-Key is honoured: the same key with the same body
//     returns the same generation without rendering again (header
//     Idempotent-Replayed: true); the same key with another body is a 422.
//   - GET /v1/video/generations/{id}: the generation as it stands (404 when
//     unknown).
//   - GET /v1/video/generations?status=&limit=&cursor=: generations newest
//     first, {"object":"list","data":[…],"has_more":…,"next_cursor":…}. The
//     service publishes no list endpoint; this one is modelled on comparable
//     APIs.
//   - POST /v1/images/generations: OpenAI-compatible stills,
//     {"created":…,"data":[{"url":…}]}, with image_url as a reference.
//   - Output files: each completed generation's output_url and each image's
//     url point at the simulator, which serves a deterministic fake mp4
//     (an ftyp box, then mdat; see [WithOutputSize]) or a png, with
//     Content-Length, ETag and Range support. They need no key.
//
// Errors have the body {"error":{"message":…,"type":…,"code":…,"param":…}}
// and every answer carries an X-Request-Id header.
//
// # Renders
//
// A render moves pending → processing → completed or failed on timers
// ([WithRenderTime]), or only when the test says so ([WithManualRender] with
// [Server.Advance], [Server.Complete] and [Server.Fail]). Failures and
// provider failovers happen at the rates set by [WithFailureRate] and
// [WithFailoverRate].
//
// # Webhooks
//
// A create with a webhook_url receives a POST for each status change (see
// [WithProcessingEvents]), with the generation as its JSON body and the
// headers the service sends:
//
//	Content-Type: application/json
//	X-CreativeAI-Event: video.generation.completed (or .failed, .processing)
//	X-CreativeAI-Delivery-Id: whd_… (one per event, the same on its retries)
//	X-CreativeAI-Signature: sha256=<hex HMAC-SHA256 of the raw body>
//
// The signature is keyed with Server.WebhookSecret, the API key unless
// [WithWebhookSecret] sets another, and its key is derived as
// webhook.NewVerifier derives it (a "whsec_" secret's decoded key), so a
// verifier given the same secret accepts every delivery.
// [WithStandardWebhooks] signs with the Standard Webhooks headers instead
// (webhook-id, webhook-timestamp, webhook-signature: v1,<base64>).
// Deliveries not answered 2xx are retried
// ([WithWebhookRetries]); they may be duplicated ([WithWebhookDuplicates])
// and a processing event may arrive after the terminal one
// ([WithWebhookReorder]), as receivers must expect from the service. A fixed
// pool of goroutines sends them ([WithWebhookConcurrency]); Close stops it.
//
// # Faults and counters
//
// [Faults] injects 500s, 502s after the work was done, 429s with
// Retry-After-Ms and Retry-After, and dropped connections, per request
// ([WithFaults], [Server.SetFaults]). [Server.Stats] counts renders per
// distinct input, duplicate renders, idempotent replays, polls, downloads,
// faults and webhook deliveries, so a test can assert that a client under
// faults never rendered a row twice. [Server.WaitIdle] waits until every
// render has ended and every delivery has been made, without sleeping.
//
// # Determinism
//
// Under [WithSeed] ids, render outcomes and timings, delivery ids and
// duplicates depend only on the seed and the requests, not on how
// concurrent clients interleave; injected faults follow the seeded sequence
// in the order requests arrive. Timestamps (created_at, completed_at) are
// the wall clock unless [WithClock] sets another.
//
// # Expiring outputs
//
// [WithOutputTTL] makes output_url stop working a while after the render
// completed, answering 403 (code output_expired) as an expired signed link
// does, so tests can show what a late download or delivery meets. Expiry is
// timed by [WithClock]'s clock.
package creativeaitest
