// Package batch takes a catalog of products through video rendering: it reads
// CSV manifests, submits bounded, rate-limited batches of renders, tracks
// every row in a durable job [Store], polls for renders whose webhooks never
// came, and delivers finished videos to their target surfaces through an
// outbox.
//
// # Manifests
//
// Package [manifest] streams a CSV manifest with the columns sku, image_url
// and video_prompt (required) and collection, target_surface, model,
// duration, aspect_ratio and still_prompt (optional). Header problems are a
// [*manifest.Error] before any row is read; a bad row is a
// [*manifest.RowError] naming the file, line and column, and the rows after
// it are still read. Run takes any sequence of [manifest.Row].
//
// # Submission
//
// [Run] submits rows with a bounded number of workers and a rate limiter.
// Each row has a key, [manifest.RowKey]: its SKU and a hash of its render
// inputs after defaults. The order of work for one row is
//
//  1. look the key up in the store (a row already tracked is skipped);
//  2. wait for the rate limiter;
//  3. [Store.Track] the row as pending, with no generation id;
//  4. call the API with an Idempotency-Key derived from the key and the
//     attempt ([IdempotencyKey]), the same on every retry and every rerun
//     (a row with a still_prompt first renders its still, records it on the
//     job at once, and waits for the limiter again before the clip);
//  5. [Store.RecordSubmission] with the answer or the error.
//
// A crash between 3 and 5 leaves a pending job without a generation id. The
// next run submits it again with the same Idempotency-Key, and the service
// answers with the render it may already have started, so no row is rendered
// twice and no render goes untracked. A run that is cancelled behaves the same
// way, except that any answer already received is still recorded. Under a
// deadline, the rate limiter refuses at once a call whose turn would come
// after it; Run then starts no new row and returns an error wrapping
// context.DeadlineExceeded, and a rerun goes on from there, reusing any still
// already rendered.
//
// Rows of job files written by the original Node.js workflow are keyed by
// SKU. A manifest row whose key is not tracked, but whose SKU is the key of
// such a job, is treated as tracked and skipped; with [Config.RetryFailed] a
// failed or submit_failed legacy job is replaced by a new, keyed job for the
// row, and the legacy line stays as the earlier record.
//
// # Spend and failures
//
// [Config.Budget] caps what a run and a calendar day spend: each row's
// estimated cost is reserved in the store ([jobs.Store.Reserve]) before its
// API calls, and a row over a cap is held back ([OutcomeHeld]) for a later
// run. The price reserved is recorded on the job, and cost totals sum the
// recorded prices ([jobs.Job.Cost]), so they stay right after
// [Config.Pricing] changes; [jobs.Store.DaySpend] reads a day's totals
// without listing jobs. Failed renders are classified transient, input or policy
// ([jobs.ClassifyFailure]); [Config.TransientRetry] replays transient ones
// on its own, [Config.RetryClasses] narrows [Config.RetryFailed], and
// [Config.PolicyBreaker] stops submitting when moderation refusals spike.
// [Config.Preflight] checks rows in batches before they are submitted (for
// Shopify: that the SKU names one product with room for the video); a row it
// refuses ends submit_failed with a "preflight: " error, unsent and unpaid.
//
// # Stores
//
// [Store] is the small interface every job store implements, with the job's
// state machine in [Job]'s methods. [NewMemoryStore] keeps jobs in memory;
// batch/jsonlstore keeps them in the JSON Lines job file (the default, and
// the original workflow's format); batch/sqlstore keeps them in SQLite or
// PostgreSQL; batch/storetest is the conformance suite they all pass.
//
// # Events and polling
//
// Webhook events (see package webhook) and polls ([Reconcile],
// [ReconcileLoop]) reach the store through [Store.Apply], which moves a job
// only forward and treats duplicates as no-ops.
//
// # Delivery
//
// A completed job with a target_surface enters the delivery outbox kept in
// the store. [Deliver] runs workers that claim due jobs with a lease, hand
// each to the [Sink] registered for its target_surface, and record the
// result, retrying with backoff; [DeliverOnce] drains what is due and
// returns. Without a [DeliverConfig.Fallback], workers claim only jobs
// whose surface has a sink, so a job for another surface stays pending for a
// process that has one. With [DeliverConfig.Review], the videos of chosen
// surfaces wait as awaiting_review until a person approves them
// (Store.Approve; see batch/outbox).
//
// # Memory
//
// Reading a manifest takes constant memory, apart from the set of row
// digests kept to report duplicate rows (about 40 bytes a row). Run keeps a
// second such set, for rows that repeat each other once defaults apply, and
// a RowResult per row for its Summary: about 200 bytes a row in all, some
// 20 MB for 100,000 rows. The Store adds what it keeps in memory; the JSONL
// and memory stores keep every job, about 300 bytes each besides the row's
// own text (its URL and prompts). Submitting 100,000 rows to the JSONL store
// thus holds about 65 MB. With the garbage collector's default headroom the
// peak heap is up to twice the live data (about 115 MB there, 140 MB
// resident; see BenchmarkRunMemory), so programs submitting much larger
// manifests may want a soft memory limit (GOMEMLIMIT or
// runtime/debug.SetMemoryLimit).
package batch
