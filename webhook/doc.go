// Package webhook receives CreativeAI render events: it verifies their
// signatures, decodes them, and serves them through an [http.Handler] that
// acknowledges a delivery only once the update is durable.
//
// # Receiving events
//
// A program builds a [Verifier] from its signing secrets, wraps an
// [EventHandler] that applies each event to its job store, and mounts the
// [Handler] at any path of its own mux:
//
//	v, err := webhook.NewVerifier([]string{os.Getenv("CREATIVEAI_WEBHOOK_SECRET")})
//	if err != nil { … }
//	mux.Handle("/webhooks/creativeai", webhook.NewHandler(v, store))
//
// The handler answers 2xx only after the event handler returned nil, and
// 503 when it failed, so the sender retries until the update is stored.
// Deliveries may repeat and arrive out of order; the event handler must be
// idempotent and let statuses only move forward (the job stores in package
// batch do). [WithDedup] saves repeated work but is never needed for
// correctness.
//
// # Signatures
//
// Two schemes are accepted, from one list of secrets (see [Verifier]):
//
//   - CreativeAI: X-CreativeAI-Signature: sha256=<hex>, an HMAC-SHA256 of
//     the raw body keyed with the secret's bytes.
//   - Standard Webhooks: webhook-id, webhook-timestamp and
//     webhook-signature (v1,<base64> entries), an HMAC-SHA256 of
//     "id.timestamp.body" keyed with a "whsec_" secret, with a timestamp
//     tolerance of five minutes either way.
//
// Signatures are checked on the raw body, in constant time, against every
// configured secret, so a secret can be rotated without losing deliveries.
//
// # Testing receivers
//
// [Sign], [SignStandard] and [GenerateTestSignedPayload] sign bodies as the
// sender does, so programs can test their own receivers with realistic
// deliveries.
package webhook
