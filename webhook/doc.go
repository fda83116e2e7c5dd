// Package webhook receives CreativeAI render events: it verifies their
// signatures, decodes them, and serves them through an [http.Handler] that
// acknowledges a delivery only once the update is durable.
//
// # Receiving events
//
// A program builds a [Verifier] from its signing secrets, wraps an
// [EventHandler] that applies each event to its job store (package
// webhook/webhookjobs has the one for the SDK's job stores), and mounts the
// [Handler] at any path of its own mux:
//
//	v, err := webhook.NewVerifier([]string{os.Getenv("CREATIVEAI_WEBHOOK_SECRET")})
//	if err != nil { … } // an unusable secret is refused here, saying why
//	h, err := webhook.NewHandler(v, webhookjobs.EventHandler(store, nil))
//	if err != nil { … }
//	mux.Handle("/webhooks/creativeai", h)
//
// [Handler] lists every answer the sender acts on, such as 401 for a bad
// signature and 415 for a Content-Encoding the handler does not decode.
// The handler answers 2xx only after the event handler returned nil, and
// 503 when it failed, so the sender retries until the update is stored.
// Deliveries may repeat and arrive out of order; the event handler must be
// idempotent and let statuses only move forward (the job stores of
// package batch/jobs do). [WithDedup] saves repeated work but is never needed for
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
// [NewVerifier] refuses secrets that cannot be what a sender signs with:
// blank, surrounded by whitespace, a pasted signature ("v1,…"), a "whsec_"
// key that does not decode or decodes to fewer than [MinSecretBytes] bytes,
// or any secret shorter than that.
//
// # Testing receivers
//
// [Sign], [SignStandard] and [GenerateTestSignedPayload] sign bodies as the
// sender does, so programs can test their own receivers with realistic
// deliveries. The simulator in package creativeai/creativeaitest signs its
// deliveries the same way, in either scheme.
package webhook
