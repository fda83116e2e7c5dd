// Package console is the operator console of a catalog run: an http.Handler
// over a jobs.Store that a partner mounts in its own server (the
// webhook-server program serves it with -console-addr).
//
// The page ("/") shows the jobs by [State] — queued, rendering, ready,
// awaiting review, rejected, published, delivery failed, failed, submit
// failed — each
// with the line buyers see (jobs.BuyerCopy); the cost of the run and of the
// day; and a table filtered by state, collection, target surface and part
// of a SKU, a page at a time. A job's page ("job?key=KEY") plays its video
// and shows its inputs, attempts, earlier generation ids, delivery fields
// and cost. The page polls the JSON API every Config.PollInterval while it
// is visible, so it stays current without reloading; it is plain
// html/template with a little JavaScript, embedded, with no build step.
//
// Actions: approve or reject videos awaiting review, one or many
// (store.Approve, store.Reject; see outbox.Config.Review: an approved video
// is published at the delivery workers' next poll, a rejection needs a
// reason), retry a failed delivery (store.RetryDelivery), replay failed and
// rejected jobs (store.Replay: the job becomes queued and not submitted;
// the next submit of its manifest, batch.Run, sends it again with a new
// Idempotency-Key — nothing is sent from the console), and export the
// failed jobs as a manifest CSV (ManifestColumns, which
// batch.NewManifestReader reads) or as export records in JSON Lines
// (jobs.NewRecordEncoder).
//
// # HTTP API
//
//	GET  /                       the page; state, collection, surface, sku, after, limit filter it
//	GET  /job?key=KEY            one job
//	GET  /api/page?…             {"summary": Summary, "rows": [Row], "next": "QUERY", "first": "QUERY"}
//	GET  /api/job?key=KEY        JobView
//	GET  /export?format=csv|jsonl&…   the failed jobs (or those of state=) as a download
//	POST /replay                 key=KEY… or scope=failed (with the filters); JSON with Accept: application/json
//	POST /approve                key=KEY… or scope=awaiting (with the filters), note=TEXT; {"approved":[…],"skipped":[…]}
//	POST /reject                 key=KEY… or scope=awaiting, note=REASON (required); {"rejected":[…],"skipped":[…]}
//	POST /retry-delivery         key=KEY…; {"retried":[…],"skipped":[…]}
//	GET|POST /login, POST /logout    the token form, when Config.Token is set
//	GET  /metrics                Config.Metrics, when set (see batch/console/consolemetrics)
//
// # Security
//
// With no Config.Token the console answers only requests addressed to a
// loopback host, and New refuses a non-loopback Config.Addr. With a token,
// every request carries it as "Authorization: Bearer TOKEN" or holds the
// HttpOnly, SameSite=Strict cookie the login form sets; both are compared
// in constant time. After ten wrong tokens, tries are refused (429) until
// one a second has come back, so guessing is slow. POSTs pass
// http.CrossOriginProtection.
//
// # Speed
//
// jobs.Store offers only List, a scan in tracking order, so the counts are
// one full read of the store (shared by every open page for a second) and
// a table page reads up to its last row and stops: pages are keyed by the
// last job shown (after=KEY), and the state filter is handed to the store.
// BENCHMARKS.md has the numbers at 100,000 jobs.
package console
