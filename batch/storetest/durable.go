package storetest

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// durableCases lists the subtests RunDurable adds.
var durableCases = []testCase{
	{"Durable/EveryState", testDurableEveryState},
	{"Durable/DeferredEvents", testDurableDeferred},
	{"Durable/ConcurrentApply", testDurableConcurrent},
	{"Durable/ReopenTwice", testDurableReopenTwice},
}

// everyState builds jobs in every state the store can hold and returns the
// jobs as listed.
func (h *harness) everyState() []jobs.Job {
	h.Helper()
	h.track(newJob("pending"))
	h.trackSubmitted("submitted", "vgen_submitted")
	h.trackSubmitted("processing", "vgen_processing")
	h.apply(event("vgen_processing", creativeai.StatusProcessing))
	h.trackSubmitted("odd", "vgen_odd")
	h.apply(event("vgen_odd", "upscaling"))
	h.track(newJob("submit_failed"))
	h.recordSubmission("submit_failed", jobs.Submission{Error: "HTTP 422: bad image"})
	h.trackSubmitted("replayed", "vgen_r1")
	h.apply(creativeai.Generation{ID: "vgen_r1", Status: creativeai.StatusFailed, Error: "provider timeout"})
	h.replay("replayed")
	h.recordSubmission("replayed", jobs.Submission{
		Generation: &creativeai.Generation{ID: "vgen_r2", Status: creativeai.StatusProcessing},
		StillURL:   "https://cdn.example.com/still.png",
	})
	h.trackSubmitted("failed", "vgen_failed")
	h.apply(creativeai.Generation{ID: "vgen_failed", Status: creativeai.StatusFailed, Error: "nsfw filter"})
	h.clock.Advance(time.Second)
	h.completedJob("outbox")
	h.completedJob("delivered")
	h.completedJob("retrying")
	h.completedJob("undeliverable")
	for _, c := range h.claim("w", 10, h.clock.Now()) {
		switch c.Key {
		case "delivered":
			h.recordDelivery(c.Key, jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryDelivered, Ref: "gid://shopify/MediaImage/7"})
		case "retrying":
			h.recordDelivery(c.Key, jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryPending, Error: "HTTP 503", NextAt: h.clock.Now().Add(time.Hour)})
		case "undeliverable":
			h.recordDelivery(c.Key, jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryFailed, Error: "no product for SKU"})
		}
	}
	return h.list(jobs.Filter{})
}

// checkSame checks that the store holds exactly want, in order, and finds
// each job by its current and earlier generation ids.
func (h *harness) checkSame(what string, want []jobs.Job) {
	h.Helper()
	h.diff(what+": List", want, h.list(jobs.Filter{}))
	for _, w := range want {
		h.diff(what+": Get("+w.Key+")", w, h.get(w.Key))
		for _, id := range append([]string{w.GenerationID}, w.PreviousGenerationIDs...) {
			if id == "" {
				continue
			}
			got, err := h.s.GetByGenerationID(h.ctx, id)
			if err != nil || got.Key != w.Key {
				h.Errorf("%s: GetByGenerationID(%s) = %q, %v; want %s", what, id, got.Key, err, w.Key)
			}
		}
	}
}

func testDurableEveryState(h *harness) {
	want := h.everyState()
	h.reopen()
	h.checkSame("after reopen", want)

	// The reopened store goes on from where it was.
	now := h.clock.Advance(time.Hour)
	got := keys(h.claim("w2", 10, now))
	slices.Sort(got)
	h.diff("due after reopen", []string{"outbox", "retrying"}, got)
	h.complete("vgen_processing")
	if _, err := h.s.Replay(h.ctx, "failed"); err != nil {
		h.Errorf("Replay after reopen: %v", err)
	}
	if _, created, err := h.s.Track(h.ctx, newJob("pending")); err != nil || created {
		h.Errorf("Track of a reopened key: created = %v, %v; want false", created, err)
	}
}

func testDurableDeferred(h *harness) {
	// Kept events: one applied before the reopen, two waiting across it.
	h.apply(event("vgen_used", "upscaling"))
	h.track(newJob("used"))
	h.submit("used", "vgen_used")
	h.apply(event("vgen_used", creativeai.StatusProcessing))
	h.apply(event("vgen_later", creativeai.StatusProcessing))
	h.apply(completed("vgen_later"))
	h.apply(event("vgen_other", creativeai.StatusFailed))
	want := h.list(jobs.Filter{})
	h.reopen()
	h.checkSame("after reopen", want)

	h.track(newJob("later"))
	now := h.clock.Advance(time.Second)
	got := h.submit("later", "vgen_later")
	if got.Status != jobs.StatusCompleted || !got.DeliveryNextAt.Equal(now) {
		h.Errorf("events kept across reopen: Status = %q, DeliveryNextAt = %v; want completed at %v", got.Status, got.DeliveryNextAt, now)
	}
	// The event applied before the reopen does not come back.
	if got := h.submit("used", "vgen_used"); got.ProviderStatus != "" || got.Status != jobs.StatusProcessing {
		h.Errorf("event applied before reopen applied again: Status = %q, ProviderStatus = %q", got.Status, got.ProviderStatus)
	}
	h.reopen()
	h.track(newJob("other"))
	if got := h.submit("other", "vgen_other"); got.Status != jobs.StatusFailed {
		h.Errorf("event kept across two reopens: Status = %q, want failed", got.Status)
	}
	if got := h.get("later"); got.Status != jobs.StatusCompleted {
		h.Errorf("later: Status = %q after second reopen", got.Status)
	}
}

func testDurableConcurrent(h *harness) {
	const jobList, workers = 80, 8
	for i := range jobList {
		h.trackSubmitted(fmt.Sprintf("job-%02d", i), fmt.Sprintf("vgen_%02d", i))
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < jobList; i += workers {
				id := fmt.Sprintf("vgen_%02d", i)
				for _, gen := range []creativeai.Generation{event(id, creativeai.StatusProcessing), completed(id)} {
					if _, err := h.s.Apply(h.ctx, gen); err != nil {
						h.Errorf("Apply(%s): %v", id, err)
					}
				}
			}
		})
	}
	wg.Wait()
	want := h.list(jobs.Filter{})
	h.reopen()
	h.checkSame("after reopen", want)
	if n := len(h.list(jobs.Filter{Statuses: []jobs.Status{jobs.StatusCompleted}})); n != jobList {
		h.Errorf("%d completed jobs after reopen, want %d", n, jobList)
	}
}

func testDurableReopenTwice(h *harness) {
	h.everyState()
	h.reopen()
	h.clock.Advance(time.Second)
	h.complete("vgen_submitted")
	h.trackSubmitted("new", "vgen_new")
	want := h.list(jobs.Filter{})
	h.reopen()
	h.checkSame("after second reopen", want)
}
