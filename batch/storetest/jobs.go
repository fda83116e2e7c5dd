package storetest

import (
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// cases lists the subtests Run runs, in order.
var cases = []testCase{
	{"Track/Creates", testTrackCreates},
	{"Track/KeepsExisting", testTrackKeepsExisting},
	{"Track/RejectsEmptyKey", testTrackRejectsEmptyKey},
	{"Track/RejectsUnknownStatus", testTrackRejectsUnknownStatus},
	{"RecordSubmission/Accepted", testSubmissionAccepted},
	{"RecordSubmission/AnswerStatus", testSubmissionAnswerStatus},
	{"RecordSubmission/Failed", testSubmissionFailed},
	{"RecordSubmission/Conflict", testSubmissionConflict},
	{"RecordSubmission/NotFound", testSubmissionNotFound},
	{"Apply/MovesForward", testApplyMovesForward},
	{"Apply/Monotonic", testApplyMonotonic},
	{"Apply/Failed", testApplyFailed},
	{"Apply/NoTargetSurface", testApplyNoTargetSurface},
	{"Apply/UnknownStatus", testApplyUnknownStatus},
	{"Apply/InvalidEvent", testApplyInvalidEvent},
	{"Apply/Deferred", testApplyDeferred},
	{"Apply/DeferredMostAdvancedWins", testApplyDeferredMostAdvanced},
	{"Apply/DeferredRule", testApplyDeferredRule},
	{"Apply/DeferredWaitsForItsID", testApplyDeferredWaitsForItsID},
	{"Apply/DeferredConsumedOnce", testApplyDeferredConsumedOnce},
	{"Apply/PreviousAttempt", testApplyPreviousAttempt},
	{"Replay/SubmitFailed", testReplaySubmitFailed},
	{"Replay/Failed", testReplayFailed},
	{"Replay/NotReplayable", testReplayNotReplayable},
	{"Get/NotFound", testGetNotFound},
	{"GetByGenerationID", testGetByGenerationID},
	{"List/Order", testListOrder},
	{"List/Filters", testListFilters},
	{"List/ReentrantAndBreak", testListReentrant},
	{"ClaimDeliveries/OnlyDue", testClaimOnlyDue},
	{"ClaimDeliveries/Lease", testClaimLease},
	{"ClaimDeliveries/Limit", testClaimLimit},
	{"ClaimDeliveries/ZeroNowUsesClock", testClaimZeroNow},
	{"ClaimDeliveries/Invalid", testClaimInvalid},
	{"ClaimDeliveries/Concurrent", testClaimConcurrent},
	{"ClaimDeliveries/TargetSurfaces", testClaimTargetSurfaces},
	{"ClaimDeliveries/EarliestDueFirst", testClaimEarliestDueFirst},
	{"RecordDelivery/Delivered", testDeliveryDelivered},
	{"RecordDelivery/RetryThenFail", testDeliveryRetryThenFail},
	{"RecordDelivery/LeaseLost", testDeliveryLeaseLost},
	{"RecordDelivery/Invalid", testDeliveryInvalid},
	{"Concurrent/Apply", testConcurrentApply},
	{"Concurrent/SubmissionAndEvent", testConcurrentSubmissionAndEvent},
	{"ContextCanceled", testContextCanceled},
	{"Closed", testClosed},
}

func testTrackCreates(h *harness) {
	in := newJob("a")
	in.Status = ""
	got := h.track(in)
	want := newJob("a")
	want.CreatedAt, want.UpdatedAt = Epoch, Epoch
	h.diff("Track", want, got)
	h.diff("Get", want, h.get("a"))
}

func testTrackKeepsExisting(h *harness) {
	first := h.track(newJob("a"))
	h.clock.Advance(time.Second)
	other := newJob("a")
	other.SKU, other.VideoPrompt = "SKU-other", "another prompt"
	got, created, err := h.s.Track(h.ctx, other)
	if err != nil {
		h.Fatal(err)
	}
	if created {
		h.Error("Track of an existing key: created = true")
	}
	h.diff("Track of an existing key", first, got)
	h.diff("Get", first, h.get("a"))
	h.diff("List", []jobs.Job{first}, h.list(jobs.Filter{}))
}

func testTrackRejectsEmptyKey(h *harness) {
	_, _, err := h.s.Track(h.ctx, jobs.Job{SKU: "SKU-1"})
	h.wantErr("Track of a job without a key", err, jobs.ErrInvalid)
	h.diff("List", []jobs.Job(nil), h.list(jobs.Filter{}))
}

// testTrackRejectsUnknownStatus pins that every store refuses a status the
// record format does not define, instead of storing a job no state
// machine rule applies to.
func testTrackRejectsUnknownStatus(h *harness) {
	j := newJob("a")
	j.Status = "queued"
	_, _, err := h.s.Track(h.ctx, j)
	h.wantErr("Track of a job with status queued", err, jobs.ErrInvalid)
	h.diff("List", []jobs.Job(nil), h.list(jobs.Filter{}))
}

// testApplyDeferredRule pins jobs.SupersedesDeferred's outcome for events
// that arrive before their job: of two terminal events the first stands, a
// known status beats an unknown one, and among unknown statuses the latest
// is kept, in every store alike.
func testApplyDeferredRule(h *harness) {
	for _, tc := range []struct {
		events       []creativeai.Generation
		status       jobs.Status
		providerSays string
	}{
		{[]creativeai.Generation{event("vgen_f", creativeai.StatusFailed), completed("vgen_f")}, jobs.StatusFailed, ""},
		{[]creativeai.Generation{event("vgen_k", creativeai.StatusProcessing), event("vgen_k", "upscaling")}, jobs.StatusProcessing, ""},
		{[]creativeai.Generation{event("vgen_u", "queued_for_gpu"), event("vgen_u", "upscaling")}, jobs.StatusPending, "upscaling"},
	} {
		id := tc.events[0].ID
		for _, gen := range tc.events {
			h.apply(gen)
		}
		h.track(newJob(id))
		got := h.submit(id, id)
		if got.Status != tc.status || got.ProviderStatus != tc.providerSays {
			h.Errorf("%s: after kept events %v: status %q, provider_status %q; want %q, %q",
				id, tc.events, got.Status, got.ProviderStatus, tc.status, tc.providerSays)
		}
	}
}

func testSubmissionAccepted(h *harness) {
	h.track(newJob("a"))
	now := h.clock.Advance(time.Second)
	got := h.recordSubmission("a", jobs.Submission{
		Generation: &creativeai.Generation{ID: "vgen_a", Status: creativeai.StatusPending},
		StillURL:   "https://cdn.example.com/still-a.png",
	})
	want := newJob("a")
	want.GenerationID = "vgen_a"
	want.StillURL = "https://cdn.example.com/still-a.png"
	want.CreatedAt, want.UpdatedAt = Epoch, now
	h.diff("RecordSubmission", want, got)
	h.diff("Get", want, h.get("a"))

	// A rerun that records the same answer again is not a conflict.
	again := h.submit("a", "vgen_a")
	h.diff("RecordSubmission again", jobs.Job{Key: "a", GenerationID: "vgen_a", Status: jobs.StatusPending},
		jobs.Job{Key: again.Key, GenerationID: again.GenerationID, Status: again.Status})
}

func testSubmissionAnswerStatus(h *harness) {
	h.track(newJob("a"))
	got := h.recordSubmission("a", jobs.Submission{Generation: &creativeai.Generation{ID: "vgen_a", Status: creativeai.StatusProcessing}})
	if got.Status != jobs.StatusProcessing {
		h.Errorf("submission answered processing: Status = %q", got.Status)
	}
	h.track(newJob("b"))
	got = h.recordSubmission("b", jobs.Submission{Generation: &creativeai.Generation{ID: "vgen_b", Status: "queued"}})
	if got.Status != jobs.StatusPending || got.ProviderStatus != "queued" {
		h.Errorf("submission answered an unknown status: Status = %q, ProviderStatus = %q; want pending, queued", got.Status, got.ProviderStatus)
	}
}

func testSubmissionFailed(h *harness) {
	h.track(newJob("a"))
	now := h.clock.Advance(time.Second)
	got := h.recordSubmission("a", jobs.Submission{Error: "HTTP 422: image_url unreachable"})
	want := newJob("a")
	want.Status = jobs.StatusSubmitFailed
	want.Error = "HTTP 422: image_url unreachable"
	want.FailureClass = jobs.FailureInput // the text names the image URL
	want.CreatedAt, want.UpdatedAt = Epoch, now
	h.diff("RecordSubmission", want, got)
	h.diff("Get", want, h.get("a"))
}

func testSubmissionConflict(h *harness) {
	before := h.trackSubmitted("a", "vgen_a")
	h.clock.Advance(time.Second)
	if _, err := h.s.RecordSubmission(h.ctx, "a", jobs.Submission{Generation: &creativeai.Generation{ID: "vgen_other", Status: creativeai.StatusPending}}); err == nil {
		h.Error("RecordSubmission of a second generation for the same attempt: no error")
	}
	if _, err := h.s.RecordSubmission(h.ctx, "a", jobs.Submission{Error: "timeout"}); err == nil {
		h.Error("RecordSubmission of a failure after the attempt was accepted: no error")
	}
	if _, err := h.s.RecordSubmission(h.ctx, "a", jobs.Submission{Generation: &creativeai.Generation{Status: creativeai.StatusPending}}); err == nil {
		h.Error("RecordSubmission of a generation without an id: no error")
	}
	h.diff("Get after rejected submissions", before, h.get("a"))
	if _, err := h.s.GetByGenerationID(h.ctx, "vgen_other"); err == nil {
		h.Error("GetByGenerationID finds the rejected generation")
	}
}

func testSubmissionNotFound(h *harness) {
	_, err := h.s.RecordSubmission(h.ctx, "missing", jobs.Submission{Generation: &creativeai.Generation{ID: "vgen_x", Status: creativeai.StatusPending}})
	h.wantErr("RecordSubmission of an unknown key", err, jobs.ErrNotFound)
}

func testApplyMovesForward(h *harness) {
	want := h.trackSubmitted("a", "vgen_a")

	now := h.clock.Advance(time.Second)
	r := h.apply(event("vgen_a", creativeai.StatusProcessing))
	want.Status, want.UpdatedAt = jobs.StatusProcessing, now
	h.diff("Apply processing", jobs.ApplyResult{Job: want, Changed: true}, r)

	now = h.clock.Advance(time.Second)
	r = h.apply(completed("vgen_a"))
	want.Status = jobs.StatusCompleted
	want.OutputURL = "https://cdn.creativeai.run/output/vgen_a.mp4"
	want.FailoverUsed = true
	want.CompletedAt = Epoch.Add(-time.Minute)
	want.Delivery = jobs.DeliveryPending
	want.DeliveryNextAt = now
	want.UpdatedAt = now
	h.diff("Apply completed", jobs.ApplyResult{Job: want, Changed: true}, r)
	h.diff("Get", want, h.get("a"))
}

func testApplyMonotonic(h *harness) {
	h.trackSubmitted("a", "vgen_a")
	done := h.complete("vgen_a")
	h.clock.Advance(time.Second)
	late := []creativeai.Generation{
		event("vgen_a", creativeai.StatusProcessing),
		event("vgen_a", creativeai.StatusPending),
		completed("vgen_a"),
		{ID: "vgen_a", Status: creativeai.StatusCompleted, OutputURL: "https://cdn.creativeai.run/output/other.mp4"},
		{ID: "vgen_a", Status: creativeai.StatusFailed, Error: "provider timeout"},
		event("vgen_a", "upscaling"),
	}
	for _, gen := range late {
		r := h.apply(gen)
		h.diff("Apply "+string(gen.Status)+" after completed", jobs.ApplyResult{Job: done}, r)
	}
	h.diff("Get", done, h.get("a"))
}

func testApplyFailed(h *harness) {
	want := h.trackSubmitted("a", "vgen_a")
	now := h.clock.Advance(time.Second)
	r := h.apply(creativeai.Generation{ID: "vgen_a", Status: creativeai.StatusFailed, Error: "provider timeout after retry budget"})
	want.Status = jobs.StatusFailed
	want.Error = "provider timeout after retry budget"
	want.FailureClass = jobs.FailureTransient
	want.CompletedAt = now // the event carries no completion time
	want.UpdatedAt = now
	h.diff("Apply failed", jobs.ApplyResult{Job: want, Changed: true}, r)

	h.clock.Advance(time.Second)
	r = h.apply(completed("vgen_a"))
	h.diff("Apply completed after failed", jobs.ApplyResult{Job: want}, r)
	h.diff("Get", want, h.get("a"))
}

func testApplyNoTargetSurface(h *harness) {
	j := newJob("a")
	j.TargetSurface = ""
	h.track(j)
	h.submit("a", "vgen_a")
	got := h.complete("vgen_a")
	if got.Delivery != "" || !got.DeliveryNextAt.IsZero() {
		h.Errorf("completed job without a target surface: Delivery = %q, DeliveryNextAt = %v; want none", got.Delivery, got.DeliveryNextAt)
	}
	if c := h.claim("w", 10, h.clock.Now()); len(c) != 0 {
		h.Errorf("claimed %v; want nothing", keys(c))
	}
}

func testApplyUnknownStatus(h *harness) {
	want := h.trackSubmitted("a", "vgen_a")
	now := h.clock.Advance(time.Second)
	odd := event("vgen_a", "upscaling")
	odd.OutputURL = "https://cdn.creativeai.run/partial.mp4"
	r := h.apply(odd)
	want.ProviderStatus = "upscaling"
	want.UpdatedAt = now
	h.diff("Apply unknown status", jobs.ApplyResult{Job: want, Changed: true}, r)

	h.clock.Advance(time.Second)
	r = h.apply(odd)
	h.diff("Apply the same unknown status again", jobs.ApplyResult{Job: want}, r)

	now = h.clock.Advance(time.Second)
	r = h.apply(event("vgen_a", creativeai.StatusProcessing))
	want.Status, want.ProviderStatus, want.UpdatedAt = jobs.StatusProcessing, "", now
	h.diff("Apply processing after unknown status", jobs.ApplyResult{Job: want, Changed: true}, r)
	h.diff("Get", want, h.get("a"))
}

func testApplyInvalidEvent(h *harness) {
	_, err := h.s.Apply(h.ctx, creativeai.Generation{Status: creativeai.StatusCompleted})
	h.wantErr("Apply without an id", err, jobs.ErrNoGenerationID)
}

func testApplyDeferred(h *harness) {
	r := h.apply(completed("vgen_early"))
	h.diff("Apply for an unknown id", jobs.ApplyResult{Deferred: true}, r)
	if _, err := h.s.GetByGenerationID(h.ctx, "vgen_early"); err == nil {
		h.Error("GetByGenerationID finds a generation no job has")
	}

	h.track(newJob("a"))
	now := h.clock.Advance(time.Second)
	got := h.submit("a", "vgen_early")
	want := newJob("a")
	want.GenerationID = "vgen_early"
	want.Status = jobs.StatusCompleted
	want.OutputURL = "https://cdn.creativeai.run/output/vgen_early.mp4"
	want.FailoverUsed = true
	want.CompletedAt = Epoch.Add(-time.Minute)
	want.Delivery = jobs.DeliveryPending
	want.DeliveryNextAt = now
	want.CreatedAt, want.UpdatedAt = Epoch, now
	h.diff("RecordSubmission applies the kept event", want, got)
	h.diff("Get", want, h.get("a"))

	h.clock.Advance(time.Second)
	r = h.apply(completed("vgen_early"))
	h.diff("the kept event delivered again", jobs.ApplyResult{Job: want}, r)
}

func testApplyDeferredMostAdvanced(h *harness) {
	for _, order := range [][]creativeai.Generation{
		{event("vgen_1", creativeai.StatusProcessing), completed("vgen_1"), event("vgen_1", creativeai.StatusProcessing), event("vgen_1", creativeai.StatusPending)},
		{completed("vgen_2"), event("vgen_2", creativeai.StatusProcessing), completed("vgen_2")},
		{event("vgen_3", creativeai.StatusProcessing), event("vgen_3", "upscaling"), event("vgen_3", creativeai.StatusProcessing)},
	} {
		id := order[0].ID
		for _, gen := range order {
			if r := h.apply(gen); !r.Deferred || r.Changed {
				h.Errorf("Apply(%s %s) before its job: Deferred = %v, Changed = %v; want true, false", id, gen.Status, r.Deferred, r.Changed)
			}
		}
		h.track(newJob(id))
		got := h.submit(id, id)
		wantStatus := jobs.StatusCompleted
		if id == "vgen_3" {
			wantStatus = jobs.StatusProcessing
		}
		if got.Status != wantStatus {
			h.Errorf("%s: status after the kept events = %q, want %q", id, got.Status, wantStatus)
		}
		if wantStatus == jobs.StatusCompleted && got.OutputURL == "" {
			h.Errorf("%s: completed without the event's output URL", id)
		}
		h.diff(id+" Get", got, h.get(id))
	}
}

func testApplyDeferredWaitsForItsID(h *harness) {
	h.apply(completed("vgen_b"))
	h.trackSubmitted("a", "vgen_a")
	h.track(newJob("b"))
	if got := h.recordSubmission("b", jobs.Submission{Error: "HTTP 502"}); got.Status != jobs.StatusSubmitFailed {
		h.Fatalf("Status = %q, want submit_failed", got.Status)
	}
	if got := h.get("a"); got.Status != jobs.StatusPending {
		h.Errorf("another job's kept event changed a: Status = %q", got.Status)
	}
	h.replay("b")
	if got := h.submit("b", "vgen_b"); got.Status != jobs.StatusCompleted {
		h.Errorf("the kept event was not applied when its id was recorded: Status = %q", got.Status)
	}
}

func testApplyDeferredConsumedOnce(h *harness) {
	h.apply(event("vgen_a", "upscaling"))
	h.track(newJob("a"))
	if got := h.submit("a", "vgen_a"); got.ProviderStatus != "upscaling" {
		h.Fatalf("kept unknown status not applied: ProviderStatus = %q", got.ProviderStatus)
	}
	h.apply(event("vgen_a", creativeai.StatusProcessing))
	// A rerun records the same answer again; the event was already applied
	// and must not come back.
	if got := h.submit("a", "vgen_a"); got.ProviderStatus != "" || got.Status != jobs.StatusProcessing {
		h.Errorf("kept event applied twice: Status = %q, ProviderStatus = %q", got.Status, got.ProviderStatus)
	}
}

func testApplyPreviousAttempt(h *harness) {
	h.trackSubmitted("a", "vgen_1")
	h.apply(event("vgen_1", creativeai.StatusFailed))
	h.replay("a")
	cur := h.submit("a", "vgen_2")
	h.clock.Advance(time.Second)
	for _, gen := range []creativeai.Generation{completed("vgen_1"), event("vgen_1", creativeai.StatusProcessing), event("vgen_1", "upscaling")} {
		r := h.apply(gen)
		h.diff("Apply for the previous attempt's generation", jobs.ApplyResult{Job: cur}, r)
	}
	h.diff("Get", cur, h.get("a"))
	// Applying the current generation still works.
	if got := h.complete("vgen_2"); got.OutputURL != "https://cdn.creativeai.run/output/vgen_2.mp4" {
		h.Errorf("OutputURL = %q", got.OutputURL)
	}
}

func testReplaySubmitFailed(h *harness) {
	h.track(newJob("a"))
	h.recordSubmission("a", jobs.Submission{Error: "HTTP 502"})
	now := h.clock.Advance(time.Second)
	got := h.replay("a")
	want := newJob("a")
	want.CreatedAt, want.UpdatedAt = Epoch, now
	h.diff("Replay of submit_failed (same attempt, no history)", want, got)
	h.diff("Get", want, h.get("a"))
}

func testReplayFailed(h *harness) {
	h.trackSubmitted("a", "vgen_1")
	h.apply(creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusFailed, Error: "provider timeout", FailoverUsed: true})
	now := h.clock.Advance(time.Second)
	got := h.replay("a")
	want := newJob("a")
	want.Attempt = 1
	want.PreviousGenerationIDs = []string{"vgen_1"}
	want.CreatedAt, want.UpdatedAt = Epoch, now
	h.diff("Replay of failed", want, got)
	h.diff("Get", want, h.get("a"))

	h.submit("a", "vgen_2")
	h.apply(event("vgen_2", creativeai.StatusFailed))
	got = h.replay("a")
	if got.Attempt != 2 || len(got.PreviousGenerationIDs) != 2 || got.PreviousGenerationIDs[1] != "vgen_2" {
		h.Errorf("second replay: Attempt = %d, PreviousGenerationIDs = %v; want 2, [vgen_1 vgen_2]", got.Attempt, got.PreviousGenerationIDs)
	}
}

func testReplayNotReplayable(h *harness) {
	h.track(newJob("pending"))
	h.trackSubmitted("processing", "vgen_p")
	h.apply(event("vgen_p", creativeai.StatusProcessing))
	h.trackSubmitted("completed", "vgen_c")
	h.complete("vgen_c")
	for _, key := range []string{"pending", "processing", "completed"} {
		before := h.get(key)
		_, err := h.s.Replay(h.ctx, key)
		h.wantErr("Replay of "+key, err, jobs.ErrNotReplayable)
		h.diff("Get after refused replay", before, h.get(key))
	}
	_, err := h.s.Replay(h.ctx, "missing")
	h.wantErr("Replay of an unknown key", err, jobs.ErrNotFound)
}

func testGetNotFound(h *harness) {
	_, err := h.s.Get(h.ctx, "missing")
	h.wantErr("Get of an unknown key", err, jobs.ErrNotFound)
	_, err = h.s.GetByGenerationID(h.ctx, "vgen_missing")
	h.wantErr("GetByGenerationID of an unknown id", err, jobs.ErrNotFound)
	h.track(newJob("a")) // not submitted: its empty generation id must not match
	_, err = h.s.GetByGenerationID(h.ctx, "")
	h.wantErr("GetByGenerationID of the empty id", err, jobs.ErrNotFound)
}

func testGetByGenerationID(h *harness) {
	h.trackSubmitted("a", "vgen_1")
	h.trackSubmitted("b", "vgen_b")
	h.apply(event("vgen_1", creativeai.StatusFailed))
	h.replay("a")
	want := h.submit("a", "vgen_2")
	for _, id := range []string{"vgen_1", "vgen_2"} {
		got, err := h.s.GetByGenerationID(h.ctx, id)
		if err != nil {
			h.Fatalf("GetByGenerationID(%s): %v", id, err)
		}
		h.diff("GetByGenerationID("+id+")", want, got)
	}
	if got, err := h.s.GetByGenerationID(h.ctx, "vgen_b"); err != nil || got.Key != "b" {
		h.Errorf("GetByGenerationID(vgen_b) = %s, %v; want b", got.Key, err)
	}
}

func testListOrder(h *harness) {
	for _, k := range []string{"m", "z", "a", "k"} {
		h.track(newJob(k))
		h.clock.Advance(time.Second)
	}
	h.submit("a", "vgen_a") // updating a job does not move it
	h.complete("vgen_a")
	h.diff("List order", []string{"m", "z", "a", "k"}, keys(h.list(jobs.Filter{})))
	h.diff("List jobs", []jobs.Job{h.get("m"), h.get("z"), h.get("a"), h.get("k")}, h.list(jobs.Filter{}))
}

func testListFilters(h *harness) {
	h.track(newJob("pending")) // updated at Epoch, not submitted
	h.clock.Advance(time.Second)
	h.trackSubmitted("submitted", "vgen_s") // Epoch+1s
	h.clock.Advance(time.Second)
	h.trackSubmitted("processing", "vgen_p") // Epoch+2s
	h.apply(event("vgen_p", creativeai.StatusProcessing))
	h.clock.Advance(time.Second)
	h.track(newJob("submit_failed")) // Epoch+3s
	h.recordSubmission("submit_failed", jobs.Submission{Error: "HTTP 500"})
	h.clock.Advance(time.Second)
	h.trackSubmitted("completed", "vgen_c") // Epoch+4s
	h.complete("vgen_c")

	for _, tc := range []struct {
		name string
		f    jobs.Filter
		want []string
	}{
		{"zero", jobs.Filter{}, []string{"pending", "submitted", "processing", "submit_failed", "completed"}},
		{"one status", jobs.Filter{Statuses: []jobs.Status{jobs.StatusPending}}, []string{"pending", "submitted"}},
		{"two statuses", jobs.Filter{Statuses: []jobs.Status{jobs.StatusCompleted, jobs.StatusProcessing}}, []string{"processing", "completed"}},
		{"status nobody has", jobs.Filter{Statuses: []jobs.Status{jobs.StatusFailed}}, nil},
		{"updated before", jobs.Filter{UpdatedBefore: Epoch.Add(2 * time.Second)}, []string{"pending", "submitted"}},
		{"submitted", jobs.Filter{Submitted: true}, []string{"submitted", "processing", "completed"}},
		{"updated since", jobs.Filter{UpdatedSince: Epoch.Add(2 * time.Second)}, []string{"processing", "submit_failed", "completed"}},
		{"updated in a window", jobs.Filter{UpdatedSince: Epoch.Add(time.Second), UpdatedBefore: Epoch.Add(3 * time.Second)}, []string{"submitted", "processing"}},
		{"all fields", jobs.Filter{
			Statuses:      []jobs.Status{jobs.StatusPending, jobs.StatusProcessing},
			UpdatedBefore: Epoch.Add(3 * time.Second),
			UpdatedSince:  Epoch.Add(2 * time.Second),
			Submitted:     true,
		}, []string{"processing"}},
	} {
		h.diff("List "+tc.name, tc.want, keys(h.list(tc.f)))
	}
}

func testListReentrant(h *harness) {
	for _, k := range []string{"a", "b", "c"} {
		h.trackSubmitted(k, "vgen_"+k)
	}
	var seen []string
	for j, err := range h.s.List(h.ctx, jobs.Filter{Statuses: []jobs.Status{jobs.StatusPending}}) {
		if err != nil {
			h.Fatal(err)
		}
		seen = append(seen, j.Key)
		// What the reconcile loop does: apply an answer for each listed job.
		h.apply(event(j.GenerationID, creativeai.StatusProcessing))
		if j.Key == "b" {
			break
		}
	}
	h.diff("keys seen before break", []string{"a", "b"}, seen)
	h.diff("statuses", []jobs.Status{jobs.StatusProcessing, jobs.StatusProcessing, jobs.StatusPending},
		[]jobs.Status{h.get("a").Status, h.get("b").Status, h.get("c").Status})
}
