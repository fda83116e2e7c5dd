// Package catalogvideo turns product hero images into short product videos at
// catalog scale: it submits bounded, rate-limited batches of renders to the
// CreativeAI video API, receives signed webhooks as each render finishes,
// keeps SKU-level traceability in a durable job store, and publishes every
// finished video to its target surface, such as a Shopify product page.
//
// This package holds only documentation; the work is done by its
// subpackages.
//
// # The flow of one SKU
//
//  1. A manifest row (sku, image_url, video_prompt, collection,
//     target_surface, and optional model, duration, aspect_ratio,
//     still_prompt) is read by manifest.NewReader (package batch/manifest); a bad header or row
//     is reported with its line number before anything is sent.
//  2. batch.Run records the row in the job batch.Store before submitting
//     it, then calls POST /v1/video/generations with a bounded number of
//     workers, a rate limiter, and an Idempotency-Key derived from the row, so
//     a rerun after a crash never renders a row twice.
//  3. The render service calls back. webhook.Handler verifies the signature
//     on the raw body and hands the event to the store, answering 2xx only
//     once the update is durable. Statuses only move forward.
//  4. Where webhooks cannot arrive, batch.Reconcile polls and applies the
//     answers through the same path.
//  5. A completed job enters the delivery outbox kept in the store; delivery
//     workers (batch.Deliver) route it by target_surface to a batch.Sink,
//     retrying with backoff.
//  6. The Shopify publisher (shopify.Publisher) finds the product by exact
//     SKU, stages the mp4 upload, attaches it as VIDEO media, and never
//     attaches the same job's video twice.
//
// # Packages
//
//   - [github.com/creativeai-run/catalogvideo/creativeai]: the typed client
//     for the render API, its statuses, buyer-facing status copy, and per-SKU
//     cost math.
//   - [github.com/creativeai-run/catalogvideo/creativeai/creativeaitest]: a
//     simulator of the render API for tests and offline demos, in the spirit
//     of net/http/httptest.
//   - [github.com/creativeai-run/catalogvideo/webhook]: signature
//     verification and an http.Handler for render events.
//   - [github.com/creativeai-run/catalogvideo/batch]: manifests, submission,
//     the job store interface, polling fallback, and the delivery outbox;
//     batch/jsonlstore (the default job file), batch/sqlstore (SQLite and
//     PostgreSQL), and batch/storetest (the conformance suite every store
//     passes).
//   - [github.com/creativeai-run/catalogvideo/shopify]: a genqlient-generated
//     Admin GraphQL client and the video publisher; shopify/shopifytest is a
//     fake Admin API for tests.
//
// The import graph is a tree: webhook and batch import creativeai, shopify
// imports neither, and programs wire them together through small interfaces.
// The programs in examples/ show the wiring end to end; `go run
// ./examples/catalog` runs the whole flow offline on the simulators.
package catalogvideo
