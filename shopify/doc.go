// Package shopify publishes rendered product videos to a Shopify store
// through the Admin GraphQL API: it finds each product by the exact SKU of
// one of its variants and attaches the mp4 as Shopify-hosted VIDEO media.
//
// # Why not the workflow page's call
//
// The original workflow attached videos with productCreateMedia and
// mediaContentType EXTERNAL_VIDEO. Neither works: EXTERNAL_VIDEO accepts only
// YouTube and Vimeo URLs, and productCreateMedia is deprecated. This package
// stages the file instead:
//
//  1. stagedUploadsCreate(input: [{resource: VIDEO, filename, mimeType:
//     "video/mp4", fileSize, httpMethod: POST}]) returns an upload URL, form
//     parameters and a resourceUrl;
//  2. the mp4 is streamed from the render's output_url into a multipart POST
//     to that URL, parameters first and the file last, with an exact
//     Content-Length and without holding the file in memory (a body without
//     Content-Length is first spooled to a temporary file);
//  3. productUpdate(product: {id}, media: [{originalSource: resourceUrl,
//     mediaContentType: VIDEO, alt}]) appends it to the product;
//  4. the videos are polled, with growing waits and a deadline, until each
//     is READY or FAILED.
//
// It never sends EXTERNAL_VIDEO or productCreateMedia.
//
// # Exactly once
//
// Shopify's media mutations take no idempotency key. Each job therefore has
// a key that stays the same across retries (VideoJob.Key); its MediaMarker
// starts the file name the video is staged under (VideoFilename), which
// Shopify keeps as the video's filename, so the video carries it from the
// moment it is attached and shoppers never see it (alt text, which screen
// readers read aloud, is written from a template without it; see
// WithAltTemplate). Before uploading, PublishVideo looks through the
// product's videos for the marker (also in the bracketed alt text of videos
// attached by earlier versions), so a retry, a crash between the attach and
// recording its result, or a productUpdate whose answer was lost never
// attaches the video twice.
//
// # Merchandising
//
// Once a video is READY it is moved to its gallery slot (Placement: "slot
// N", default 2, right after the hero image, or "last") with
// productReorderMedia, whose asynchronous job is polled with job(id:); the
// gallery is read back and the slot recorded (PublishResult.Slot). A job
// for a SKU that already has a video from this SDK (told by a tag of the
// SKU in the file name) replaces it: a Snapshot of the product's media
// order is written to a product metafield first, and the old video is
// detached with fileUpdate only after the new one is READY and in its
// slot, so a failure leaves the product as it was or with both videos,
// never with none. Jobs of one SKU are published one after the other,
// oldest first (VideoJob.CreatedAt, then the key), so each replaces the
// one before and the newest stays; an older job that comes after a newer
// one's video was published leaves it (PublishResult.Superseded).
// Publisher.Rollback restores the snapshot. The result's DeliveryRef is
// what shopifysink records on the job.
//
// # Batches
//
// At catalog scale the limit is Shopify's cost bucket, so the publisher
// works jobs in batches (PublishBatch): one productVariants lookup per 50
// SKUs (answers are cached for WithSKUCacheTTL, so a retried delivery does
// not look up again), one duplicate check per 10 products
// (nodes(ids:) with each product's newest videos), one stagedUploadsCreate
// per 10 files, one productUpdate per video that reads back only the
// newest video, and status polls of up to 50 videos per nodes(ids:) call,
// the first poll timed by the processing time seen so far. Publish, the
// per-job entry point a delivery outbox calls, coalesces concurrent calls
// arriving within a short window (WithCoalescing, DefaultCoalesceWindow)
// into one batch, so an outbox with several workers gets batches without
// knowing about them.
//
// # Bulk operations
//
// When a batch has at least DefaultBulkThreshold (25) videos to attach
// (WithBulkThreshold changes it; 0 turns bulk off), PublishBatch attaches
// them with Shopify's bulk import instead of a productUpdate each: a JSONL
// file of productUpdate variables, one line per video, is uploaded through
// stagedUploadsCreate(resource: BULK_MUTATION_VARIABLES);
// bulkOperationRunMutation runs the line mutation (bulkAttachVideo) once per
// line without drawing on the cost bucket per line; the operation is polled
// with node(id:) until it ends; and its result file, one line per input
// line with __lineNumber, says per job whether the line applied, was
// refused (the job fails with productUpdate's userErrors) or failed. A job
// whose line has no clear answer is looked for by its marker and, if its
// video is not on the product, attached with productUpdate. Shopify runs
// one bulk mutation per store at a time: a Publisher runs one at a time,
// and before starting one reads the store's current bulk mutation
// (currentBulkOperation(type: MUTATION)); one still running (another
// process's) is waited for, up to the processing timeout, before attaching
// one by one. A bulk operation whose start went unanswered, or that has
// not ended by the timeout, fails its jobs with a retryable error rather
// than attaching them one by one, since its lines may still apply. Its
// lines may apply after the retry's duplicate check, too: so a current
// bulk mutation the Publisher did not see end (nor runs now) is waited for
// and the jobs checked again before any line is sent, or, with bulk
// operations on, before a batch too small for one (or finding this
// Publisher's bulk operation running) is attached one by one; a video it
// attached is reused, never attached a second time.
//
// # Preflight
//
// A Preflighter (NewPreflighter) checks, before a video is rendered and
// paid for, that its Publisher could publish it: a variant has the SKU
// exactly, of one product; the product has room for another medium (a
// video replacing one the SDK put there counts as zero); the clip is no
// longer than MaxVideoDuration. A pass of DefaultPreflightBulkThreshold
// (8) SKUs or more reads them with a bulk query (bulkOperationRunQuery,
// about 10 points and a point per poll whatever its size: 1.75 points per
// row at 8 rows, 0.06 at 500); a smaller pass, or one whose bulk query
// cannot start or fails, makes one productVariants search per
// SKUsPerLookup SKUs, about three cost points per row. The store's
// cap on hosted videos and 3D models is not checked: the Admin API exposes
// neither the cap nor a count (see Preflighter.Preflight).
//
// # The client
//
// Client implements genqlient's graphql.Client; the operations in
// operations/*.graphql are generated into generated.go by genqlient
// (go generate ./shopify). Requests carry X-Shopify-Access-Token. The
// client sends a request only when its model of the app's cost bucket can
// pay the request's requested cost. The model is reset from every answer's
// extensions.cost.throttleStatus, minus the points reserved for requests
// still queued or in flight and the charges of answers that arrived while
// the request was out (answers overtake each other), and refills at
// restoreRate less what other processes on the same store are seen to take
// (the shortfall between the level an answer reports and what this
// client's own spending explains), so two servers sharing a store pace to
// one bucket; never below half of restoreRate, so that neither is starved
// by the other. With others taking a tenth of the refill or more, a
// request also leaves room for the dearest requested cost seen, since they
// send whole requests, not their average rate. A process that starts to a
// bucket over half full leaves half of it until its answers have measured
// whether others draw on it, so processes started together do not each
// spend the whole bucket. The first request of an operation never answered
// is priced at the whole bucket, and the others of that operation wait for
// its answer. A paced request's wait moves as answers to other requests
// arrive, by what they show the model got wrong: sooner when the bucket
// proves richer (a request charged less than it asked for; with others on
// the bucket, once this client's queued requests are all paid for), and
// later when it proves poorer (alone, by all of it, as the next answer
// undoes the error; with others, by what exceeds the margin left). Waits
// carry random jitter (WithPacingJitter) so processes do not send in
// lockstep. A THROTTLED answer (HTTP 200) is retried after
// (requested − available) / restoreRate seconds plus jitter, HTTP 429 and
// 5xx honouring Retry-After. MAX_COST_EXCEEDED fails at once with a
// *MaxCostExceededError, before sending when the cost is already known.
// Mutations other than stagedUploadsCreate are not resent after a 5xx or
// a dropped connection, since they may have been applied; the Publisher
// checks for the marker instead. Waits end with the context.
//
// SKU lookup (LookupSKUs) asks for up to 50 SKUs per productVariants call
// (sku:"A" OR sku:"B" …, values quoted and escaped) and compares each SKU in
// code, because Shopify's search is not exact; a SKU no variant has and a
// SKU carried by variants of several products are reported as
// *SKUNotFoundError and *AmbiguousSKUError.
//
// # Errors
//
// Errors are typed: *GraphQLErrors (each entry a *GraphQLError with its
// extensions.code), *UserErrors (each a *UserError with field and message),
// *HTTPError, and *PermanentError for what retrying cannot fix, carrying
// Shopify's code where Shopify gave one: PRODUCT_MEDIA_LIMIT_EXCEEDED when
// the product already holds as many media as allowed (checked from the
// product's mediaCount before uploading, since productUpdate's userErrors
// carry no code), or the media error code of a video that FAILED processing,
// such as VIDEO_VALIDATION_ERROR. IsPermanent tells permanent failures from
// retryable ones through a Permanent() bool method, which a delivery outbox
// can check with errors.As without importing this package; see
// Publisher.Publish for the three-line adapter.
//
// # Cost and memory
//
// BENCHMARKS.md has the figures and the commands that produced them: points
// per video, THROTTLED answers and time against the bucket's limit for
// 1,000 videos from one and two processes (examples/internal/shopifyload),
// calls per SKU, and the heap while publishing a 256 MiB video (streamed,
// +0.3 MiB; held in memory, +828 MiB).
//
// # API version
//
// The client calls DefaultAPIVersion, 2026-10, unless WithAPIVersion or
// WithEndpoint says otherwise. schema.graphql is the project's own subset of
// the Admin schema, written from Shopify's reference for that version: only
// the types, fields and enum values the operations use, each present in
// both 2026-10 and 2025-01. The tests validate the operations against it,
// and, when Shopify's published 2025-01 schema is found in a shared/shopify
// directory beside the repository, against that schema too (also checking
// that the subset matches it and that no deprecated field is used). Package
// shopifytest serves the same subset and validates every request against
// it.
package shopify
