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
//  2. batch.Run records the row in the job store (jobs.Store) before submitting
//     it, then calls POST /v1/video/generations with a bounded number of
//     workers, a rate limiter, and an Idempotency-Key derived from the row, so
//     a rerun after a crash never renders a row twice.
//  3. The render service calls back. webhook.Handler verifies the signature
//     on the raw body and hands the event to the store, answering 2xx only
//     once the update is durable. Statuses only move forward.
//  4. Where webhooks cannot arrive, batch.Reconcile polls and applies the
//     answers through the same path.
//  5. A completed job enters the delivery outbox kept in the store; delivery
//     workers (outbox.Deliver) archive its video into storage the merchant
//     owns when an archive is configured (batch/archive: SHA-256 and size
//     recorded on the job), then route it by target_surface to an
//     outbox.Sink, retrying with backoff.
//  6. The Shopify publisher (shopify.Publisher) finds the product by exact
//     SKU, stages the mp4 upload, attaches it as VIDEO media, and never
//     attaches the same job's video twice.
//
// # Packages
//
// The import graph points one way; TestImportRules (imports_test.go) fails
// when a change breaks it.
//
//	creativeai                the render API as the service speaks it: requests,
//	                          generations, statuses, errors, retries, prices
//	creativeai/creativeaitest a simulator of the render API (like net/http/httptest)
//	webhook        → creativeai   signature verification and the http.Handler
//	webhook/webhookjobs → webhook, batch/jobs   applies verified events to a job store
//	batch/jobs     → creativeai   the leaf: Job, its state machine, job statuses,
//	                          buyer copy, the Store contract, Clock, export records
//	batch/memstore → batch/jobs   the memory store and the journal plumbing
//	batch/jsonlstore → batch/jobs, batch/memstore   the job file (the default)
//	batch/sqlstore → batch/jobs   SQLite and PostgreSQL on a *sql.DB you own
//	batch/storetest → batch/jobs  the conformance suite every store passes
//	batch/outbox   → batch/jobs, batch/archive   the delivery outbox: Deliver, Sink, Open
//	batch/archive  → batch/jobs   keeps every video: Archiver streams output_url into a
//	                          Bucket with SHA-256; archivetest is an in-memory Bucket;
//	                          archive/blobarchive adapts gocloud.dev/blob (programs only)
//	batch          → batch/jobs, creativeai   manifests, Run, Reconcile, Export
//	batch/console  → batch, batch/jobs   the operator console, an http.Handler
//	batch/console/consolemetrics → batch/console, prometheus   its /metrics
//	shopify                   Admin GraphQL client and the video publisher;
//	                          shopify/shopifytest is a fake Admin API
//	examples/...              the programs, which wire the packages together
//
// Stores import the leaf and never an engine; nothing under batch imports
// webhook or shopify, and shopify imports neither batch nor creativeai. The
// record format, the webhook HTTP contract and the programs' flags are
// documented in batch/jobs, webhook and each program's -h respectively.
// `go run ./examples/catalog` runs the whole flow offline on the
// simulators.
package catalogvideo
