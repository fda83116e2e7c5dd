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
//  4. the product's videos are polled, with growing waits and a deadline,
//     until the new one is READY or FAILED.
//
// It never sends EXTERNAL_VIDEO or productCreateMedia.
//
// # Exactly once
//
// Shopify's media mutations take no idempotency key. Each job therefore has
// a key that stays the same across retries (VideoJob.Key); its MediaMarker
// is appended in brackets to the video's alt text and used as its file name.
// Before uploading, PublishVideo looks through the product's videos for the
// marker, so a retry, a crash between the attach and recording its result,
// or a productUpdate whose answer was lost never attaches the video twice.
//
// # The client
//
// Client implements genqlient's graphql.Client; the operations in
// operations/*.graphql are generated into generated.go by genqlient
// (go generate ./shopify). Requests carry X-Shopify-Access-Token. The client
// keeps a model of the app's cost bucket from every answer's
// extensions.cost.throttleStatus and holds requests back until the bucket
// can afford them; a THROTTLED answer (HTTP 200) is retried after
// (requested − available) / restoreRate seconds, HTTP 429 and 5xx honouring
// Retry-After. Mutations other than stagedUploadsCreate are not resent after
// a 5xx or a dropped connection, since they may have been applied; the
// Publisher checks for the marker instead. Waits end with the context.
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
// Measured with go test -run XXX -bench . -benchtime 3x -benchmem
// ./shopify on a 2-core AMD EPYC, against shopifytest (go1.26):
//
//   - API calls per published SKU (200 SKUs, video READY after one poll):
//     PublishVideos makes 4.02 calls per SKU with 1 productVariants call per
//     50 SKUs; publishing jobs one by one makes 5.00, with a lookup per SKU.
//   - 500 publishes back to back (not waiting for processing, so only pacing
//     lets the bucket refill) against a 1,000-point bucket refilling at 50
//     points per second: with pacing, 0 THROTTLED answers in 1,510 requests;
//     without, 501 THROTTLED answers in 2,011 requests. Both take 253 s of
//     virtual time: the bucket, not the client, sets the pace, and pacing
//     only stops the wasted requests. Time is simulated (VirtualClock),
//     with requests taking no time, which is the worst case for throttling.
//   - Publishing a 256 MiB video grows the heap by 0.3 MiB at its peak (0.5
//     MB allocated in all); the same publish over a transport that holds
//     bodies whole, as the workflow's script did, grows it by 828 MiB.
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
