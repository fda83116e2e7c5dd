// Package shopifytest is a fake Shopify Admin GraphQL API for tests and
// offline demos, in the manner of net/http/httptest.
//
// NewServer starts it on a loopback port. It parses every request and
// validates it with gqlparser against the schema package shopify uses
// (shopify.Schema); a request that does not parse or validate — including
// one naming productCreateMedia, which that schema leaves out — is answered
// as Shopify answers it, HTTP 200 with errors, and counted. Requests without
// the right X-Shopify-Access-Token get 401.
//
// The server keeps products, variants and media in memory (AddProduct) and
// implements what the publisher calls: productVariants with sku:"…" OR
// sku:"…" searches (matching ignores case, as Shopify's search does, so
// clients must compare SKUs exactly), product with its media (media_type
// and id filters, ID order, cursors) and mediaCount, stagedUploadsCreate,
// and productUpdate with media. It serves the staged upload targets itself:
// a multipart POST must carry every parameter before the file, and a file
// whose size differs from the staged fileSize is refused; the file is
// counted as it streams in and never held in memory. Videos attached from a
// completed upload move from PROCESSING to READY after a number of polls
// (WithReadyAfterPolls) or a time (WithReadyAfter), or to FAILED with a
// media error (WithProcessingFailure). productUpdate refuses media beyond
// the product's limit (WithMediaLimit) and EXTERNAL_VIDEO sources that are
// not YouTube or Vimeo URLs, with userErrors. AddVideo serves a generated
// mp4-like file of any size as a render's output_url. AddImages,
// RemoveImages and SetSKU edit the catalog as a merchant would (fill a
// product up to the media limit, make room again, give a variant another
// SKU).
//
// For merchandising it implements productReorderMedia as Shopify does,
// asynchronously: the mutation checks the moves and answers a Job, and the
// gallery keeps its order until the job is read with job(id:) in a later
// request, when the moves apply in order (media sort by POSITION, the
// gallery order, or by ID, creation order). fileUpdate changes alt text
// and product references: referencesToRemove detaches media from a
// product and keeps the file (node(id:) still finds it), referencesToAdd
// appends it again within the media limit. metafieldsSet (all or none,
// JSON values checked) and Product.metafield keep product metafields.
// AddVideoMedia puts an already processed video on a product.
//
// Requests are charged to a cost bucket (WithBucket, 1,000 points refilling
// at 50 per second by default) the way Shopify documents it: a request runs
// only when the bucket holds its requested cost (connections priced by
// first:, nodes(ids:) by the IDs given), else it is answered THROTTLED;
// after it runs the bucket is debited its actual cost (connections counted
// by the nodes they returned); a request dearer than the whole bucket is
// answered MAX_COST_EXCEEDED; and every answer reports the bucket in
// extensions.cost.throttleStatus. A mutation costs 10 plus the connections
// its payload selects (an assumption: Shopify does not say how payloads
// count). Stats.PointsDebited sums what the bucket paid. The server also
// answers node(id:) and nodes(ids:) for products, media and bulk
// operations, and currentBulkOperation(type:) with the latest bulk
// operation of the type.
//
// Bulk mutations work as Shopify's bulk import does: a JSONL file of
// variables staged with stagedUploadsCreate(resource:
// BULK_MUTATION_VARIABLES) and uploaded, then bulkOperationRunMutation with
// the target's key as stagedUploadPath. The mutation must validate and
// select at most one connection; one bulk mutation runs per store at a time
// (OPERATION_IN_PROGRESS otherwise). The operation reports RUNNING until
// it is read in a later request (WithBulkDuration: until a time has passed)
// and then COMPLETED with a url serving the result JSONL, one line per
// input line with its answer and __lineNumber; its lines take effect only
// then, without charging the bucket, so a client that stops waiting sees
// them land later, as on Shopify. bulkOperationCancel makes a running
// operation CANCELING, and CANCELED at its next read with the first half of
// its lines applied and no result file. Bulk queries
// (bulkOperationRunQuery) run the same way: the query must validate and
// select one connection (productVariants) without pagination arguments;
// one bulk query runs per store at a time, beside a bulk mutation
// (OPERATION_IN_PROGRESS otherwise); the mutation costs 10 points; and the
// result JSONL holds one line per node, its objects inline. Nested
// connections, which Shopify writes as lines with a __parentId, are
// refused (userErrors INVALID). Give the server
// and the client the same VirtualClock to run throttling and processing
// waits without sleeping. InjectFault and WithRandomFaults inject 5xx, 429
// and lost responses; Stats counts calls per root field, throttles, uploads
// and rejected media; Stats.BulkQueries counts bulk queries started.
//
// The fake is faithful where the publisher's correctness depends on it and
// simple elsewhere: error messages are modelled on Shopify's but not copied,
// costs are estimates, and search supports only the terms listed above.
package shopifytest
