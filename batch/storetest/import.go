package storetest

import (
	"slices"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// importCases check a store given jobs that another store has taken part of
// the way, as `jobs import` does when moving a job file to a database: Track
// of a new key keeps the record exactly as given, and every later method
// carries on from that state as if this store had made it.
var importCases = []testCase{
	{"Import/AsGiven", testImportAsGiven},
	{"Import/Outbox", testImportOutbox},
	{"Import/Events", testImportEvents},
}

// Times of the imported records: all before the suite's clock starts, so a
// time the store stamped itself cannot pass for one it was given.
var (
	importCreated   = Epoch.Add(-48 * time.Hour)
	importCompleted = Epoch.Add(-47 * time.Hour)
	importUpdated   = Epoch.Add(-46 * time.Hour)
)

// importedRecords returns records in every state an export holds, with
// every field a store keeps set on at least one of them, in export order.
func importedRecords() []jobs.Job {
	// delivered completed on its second attempt and was published.
	delivered := newJob("delivered")
	delivered.GenerationID = "vgen_delivered_2"
	delivered.Status = jobs.StatusCompleted
	delivered.OutputURL = "https://cdn.creativeai.run/output/vgen_delivered_2.mp4"
	delivered.FailoverUsed = true
	delivered.CompletedAt = importCompleted
	delivered.StillPrompt = "studio still on a white sweep"
	delivered.StillURL = "https://cdn.creativeai.run/images/still-delivered.png"
	delivered.Attempt = 1
	delivered.PreviousGenerationIDs = []string{"vgen_delivered_1"}
	delivered.Delivery = jobs.DeliveryDelivered
	delivered.DeliveryAttempts = 2
	delivered.DeliveryRef = "gid://shopify/MediaVideo/7"

	// due waits in the outbox for a retry that is already due.
	due := completedRecord("due")
	due.Delivery = jobs.DeliveryPending
	due.DeliveryAttempts = 1
	due.DeliveryError = "HTTP 503"
	due.DeliveryNextAt = Epoch.Add(-time.Minute)

	// later waits for a retry an hour after the clock's start.
	later := completedRecord("later")
	later.Delivery = jobs.DeliveryPending
	later.DeliveryAttempts = 3
	later.DeliveryError = "THROTTLED"
	later.DeliveryNextAt = Epoch.Add(time.Hour)

	undeliverable := completedRecord("undeliverable")
	undeliverable.Delivery = jobs.DeliveryFailed
	undeliverable.DeliveryAttempts = 8
	undeliverable.DeliveryError = "no product has SKU SKU-undeliverable"

	failed := newJob("failed")
	failed.GenerationID = "vgen_failed"
	failed.Status = jobs.StatusFailed
	failed.Error = "provider timeout"
	failed.CompletedAt = importCompleted

	// rendering is processing, with a status the SDK does not know beside it.
	rendering := newJob("rendering")
	rendering.GenerationID = "vgen_rendering"
	rendering.Status = jobs.StatusProcessing
	rendering.ProviderStatus = "upscaling"

	submitFailed := newJob("submit_failed")
	submitFailed.Status = jobs.StatusSubmitFailed
	submitFailed.Error = "HTTP 422: image_url is not reachable"

	jobList := []jobs.Job{delivered, due, later, undeliverable, failed, rendering, submitFailed}
	for i := range jobList {
		jobList[i].CreatedAt, jobList[i].UpdatedAt = importCreated, importUpdated
	}
	return jobList
}

// completedRecord returns a record of a completed render of its first
// attempt, before any delivery state is set.
func completedRecord(key string) jobs.Job {
	j := newJob(key)
	j.GenerationID = "vgen_" + key
	j.Status = jobs.StatusCompleted
	j.OutputURL = "https://cdn.creativeai.run/output/vgen_" + key + ".mp4"
	j.CompletedAt = importCompleted
	return j
}

// importAll tracks every record, checking that each is kept as given.
func (h *harness) importAll() []jobs.Job {
	h.Helper()
	records := importedRecords()
	for _, want := range records {
		h.diff("Track of "+want.Key+" (a full record)", want, h.track(want))
	}
	return records
}

// byKey returns the record with the given key.
func byKey(jobList []jobs.Job, key string) jobs.Job {
	for _, j := range jobList {
		if j.Key == key {
			return j
		}
	}
	panic("storetest: no record " + key)
}

func testImportAsGiven(h *harness) {
	records := h.importAll()
	for _, want := range records {
		h.diff("Get of "+want.Key, want, h.get(want.Key))
	}
	h.diff("List", records, h.list(jobs.Filter{}))
	h.diff("List of completed jobs", []jobs.Job{records[0], records[1], records[2], records[3]},
		h.list(jobs.Filter{Statuses: []jobs.Status{jobs.StatusCompleted}}))

	// An earlier attempt's generation still finds its job.
	got, err := h.s.GetByGenerationID(h.ctx, "vgen_delivered_1")
	if err != nil {
		h.Fatalf("GetByGenerationID(vgen_delivered_1): %v", err)
	}
	h.diff("GetByGenerationID of the previous attempt", records[0], got)

	// Importing again finds every key present and changes nothing.
	h.clock.Advance(time.Second)
	for _, rec := range records {
		again := rec
		again.Status, again.DeliveryRef = jobs.StatusPending, ""
		stored, created, err := h.s.Track(h.ctx, again)
		if err != nil {
			h.Fatalf("second Track(%s): %v", rec.Key, err)
		}
		if created {
			h.Errorf("second Track(%s): created = true for a key already present", rec.Key)
		}
		h.diff("second Track of "+rec.Key, rec, stored)
	}
	h.diff("List after importing again", records, h.list(jobs.Filter{}))
}

func testImportOutbox(h *harness) {
	records := h.importAll()

	// Only the pending delivery whose retry is due is claimed: not the
	// delivered or failed ones, nor the one due later.
	claimed := h.claim("w", 10, h.clock.Now())
	h.diff("claimed at the start", []jobs.Job{byKey(records, "due")}, claimed)

	now := h.clock.Advance(time.Second)
	got := h.recordDelivery("due", jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryDelivered, Ref: "gid://shopify/MediaVideo/8"})
	want := byKey(records, "due")
	want.Delivery, want.DeliveryRef, want.DeliveryError = jobs.DeliveryDelivered, "gid://shopify/MediaVideo/8", ""
	want.DeliveryAttempts, want.DeliveryNextAt, want.UpdatedAt = 2, time.Time{}, now
	h.diff("RecordDelivery continuing the imported attempts", want, got)
	h.diff("Get after RecordDelivery", want, h.get("due"))

	// The retry set for later falls due at its time, and not before.
	if got := h.claim("w", 10, Epoch.Add(time.Hour-time.Second)); len(got) != 0 {
		h.Errorf("claimed %v before the imported retry time", keys(got))
	}
	h.clock.Advance(time.Hour)
	h.diff("claimed once the retry is due", []jobs.Job{byKey(records, "later")}, h.claim("w", 10, h.clock.Now()))
}

func testImportEvents(h *harness) {
	records := h.importAll()
	now := h.clock.Advance(time.Second)

	// Events for finished jobs are duplicates or stale: nothing changes,
	// whether for the current attempt or an earlier one.
	for _, gen := range []creativeai.Generation{
		completed("vgen_delivered_2"),
		event("vgen_delivered_2", creativeai.StatusProcessing),
		completed("vgen_delivered_1"),
		event("vgen_failed", creativeai.StatusCompleted),
	} {
		r := h.apply(gen)
		want := byKey(records, "delivered")
		if gen.ID == "vgen_failed" {
			want = byKey(records, "failed")
		}
		h.diff("Apply("+gen.ID+" "+string(gen.Status)+") to an imported job", jobs.ApplyResult{Job: want}, r)
	}

	// The render in progress completes and enters the outbox.
	r := h.apply(completed("vgen_rendering"))
	want := byKey(records, "rendering")
	want.Status, want.ProviderStatus = jobs.StatusCompleted, ""
	want.OutputURL, want.FailoverUsed, want.CompletedAt = "https://cdn.creativeai.run/output/vgen_rendering.mp4", true, Epoch.Add(-time.Minute)
	want.Delivery, want.DeliveryNextAt, want.UpdatedAt = jobs.DeliveryPending, now, now
	h.diff("Apply(completed) to the imported render in progress", jobs.ApplyResult{Job: want, Changed: true}, r)
	h.diff("claimed after it completed", []string{"due", "rendering"}, slices.Sorted(slices.Values(keys(h.claim("w", 10, now)))))

	// A failed render replays as its next attempt.
	got := h.replay("failed")
	wantFailed := byKey(records, "failed")
	wantFailed.Status, wantFailed.GenerationID, wantFailed.Error, wantFailed.CompletedAt = jobs.StatusPending, "", "", time.Time{}
	wantFailed.Attempt, wantFailed.PreviousGenerationIDs, wantFailed.UpdatedAt = 1, []string{"vgen_failed"}, now
	h.diff("Replay of the imported failed job", wantFailed, got)

	// A submission that failed replays with its attempt.
	got = h.replay("submit_failed")
	wantSF := byKey(records, "submit_failed")
	wantSF.Status, wantSF.Error, wantSF.UpdatedAt = jobs.StatusPending, "", now
	h.diff("Replay of the imported submit_failed job", wantSF, got)
}
