package storetest

import (
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// reviewCases pin the review gate (jobs.Store.Approve and Reject, and
// RecordDelivery in state awaiting_review) and RetryDelivery.
var reviewCases = []testCase{
	{"Review/HoldThenApprove", testReviewHoldThenApprove},
	{"Review/ApproveAhead", testReviewApproveAhead},
	{"Review/ApproveWhileClaimed", testReviewApproveWhileClaimed},
	{"Review/RejectThenReplay", testReviewRejectThenReplay},
	{"Review/Refused", testReviewRefused},
	{"RetryDelivery", testRetryDelivery},
}

// hold claims the completed job key and records it as held for review, as
// a delivery worker does for a surface under review.
func (h *harness) hold(key string) jobs.Job {
	h.Helper()
	if got := h.claim("reviewer-gate", 1, h.clock.Now()); len(got) != 1 || got[0].Key != key {
		h.Fatalf("claimed %v; want [%s]", keys(got), key)
	}
	return h.recordDelivery(key, jobs.DeliveryResult{Owner: "reviewer-gate", State: jobs.DeliveryAwaitingReview})
}

func (h *harness) approve(key, note string) jobs.Job {
	h.Helper()
	j, err := h.s.Approve(h.ctx, key, note)
	if err != nil {
		h.Fatalf("Approve(%s): %v", key, err)
	}
	return j
}

func testReviewHoldThenApprove(h *harness) {
	want := h.completedJob("a")
	now := h.clock.Advance(time.Second)
	got := h.hold("a")
	want.Delivery, want.DeliveryNextAt, want.UpdatedAt = jobs.DeliveryAwaitingReview, time.Time{}, now
	h.diff("RecordDelivery awaiting_review (no attempt counted)", want, got)
	h.diff("Get", want, h.get("a"))
	if c := h.claim("w", 10, now.Add(time.Hour)); len(c) != 0 {
		h.Errorf("a job awaiting review was claimed: %v", keys(c))
	}

	now = h.clock.Advance(time.Minute)
	got = h.approve("a", "colours match the PDP")
	want.Delivery, want.DeliveryNextAt, want.UpdatedAt = jobs.DeliveryPending, now, now
	want.ApprovedAt, want.ReviewNote = now, "colours match the PDP"
	h.diff("Approve", want, got)
	h.diff("Get after Approve", want, h.get("a"))
	c := h.claim("w", 10, now)
	h.diff("claim after Approve", []jobs.Job{want}, c)
	// The approved job passes the gate: a worker delivers it.
	got = h.recordDelivery("a", jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryDelivered, Ref: "m"})
	if got.Delivery != jobs.DeliveryDelivered || got.DeliveryAttempts != 1 || !got.ApprovedAt.Equal(now) {
		h.Errorf("delivered: %s after %d attempts, approved at %v; want delivered after 1, approved at %v", got.Delivery, got.DeliveryAttempts, got.ApprovedAt, now)
	}
}

// testReviewApproveAhead pins that an approval given while the job still
// renders is kept, and a later hold lets the job straight through.
func testReviewApproveAhead(h *harness) {
	h.trackSubmitted("a", "vgen_a")
	t0 := h.clock.Now()
	got := h.approve("a", "")
	if got.Status != jobs.StatusPending || got.Delivery != "" || !got.ApprovedAt.Equal(t0) {
		h.Errorf("Approve while rendering: status %s, delivery %q, approved at %v; want pending, none, %v", got.Status, got.Delivery, got.ApprovedAt, t0)
	}
	now := h.clock.Advance(time.Minute)
	h.complete("vgen_a")
	got = h.hold("a")
	if got.Delivery != jobs.DeliveryPending || !got.DeliveryNextAt.Equal(now) || got.DeliveryAttempts != 0 {
		h.Errorf("hold of an approved job: delivery %s due %v after %d attempts; want pending, due %v, 0 attempts", got.Delivery, got.DeliveryNextAt, got.DeliveryAttempts, now)
	}
	// The hold released the lease: the job is claimed again at once.
	h.diff("claim after the hold", []string{"a"}, keys(h.claim("w", 10, now)))
}

// testReviewApproveWhileClaimed pins that an approval given between a
// worker's claim and its hold is not lost to the hold.
func testReviewApproveWhileClaimed(h *harness) {
	h.completedJob("a")
	now := h.clock.Now()
	h.diff("claim", []string{"a"}, keys(h.claim("gate", 1, now)))
	h.approve("a", "ok")
	got := h.recordDelivery("a", jobs.DeliveryResult{Owner: "gate", State: jobs.DeliveryAwaitingReview})
	if got.Delivery != jobs.DeliveryPending || !got.Approved() {
		h.Errorf("hold after the approval: delivery %s, approved %v; want pending, approved", got.Delivery, got.Approved())
	}
	h.diff("claim by another worker", []string{"a"}, keys(h.claim("w", 1, now)))
}

func testReviewRejectThenReplay(h *harness) {
	h.completedJob("a")
	held := h.hold("a")
	_, err := h.s.Reject(h.ctx, "a", "")
	h.wantErr("Reject without a reason", err, jobs.ErrInvalid)
	h.diff("Get after the refused rejection", held, h.get("a"))

	now := h.clock.Advance(time.Second)
	got, err := h.s.Reject(h.ctx, "a", "logo is cropped")
	if err != nil {
		h.Fatal(err)
	}
	want := held
	want.Delivery, want.ReviewNote, want.UpdatedAt = jobs.DeliveryRejected, "logo is cropped", now
	h.diff("Reject", want, got)
	h.diff("Get after Reject", want, h.get("a"))
	if c := h.claim("w", 10, now.Add(time.Hour)); len(c) != 0 {
		h.Errorf("a rejected job was claimed: %v", keys(c))
	}

	now = h.clock.Advance(time.Second)
	got = h.replay("a")
	want = newJob("a")
	want.Attempt, want.PreviousGenerationIDs = 1, []string{"vgen_a"}
	want.ReviewNote = "logo is cropped"
	want.CreatedAt, want.UpdatedAt = Epoch, now
	h.diff("Replay of a rejected job", want, got)
	h.diff("Get after Replay", want, h.get("a"))

	// The new attempt is reviewed afresh.
	h.submit("a", "vgen_a2")
	h.complete("vgen_a2")
	if got := h.hold("a"); got.Delivery != jobs.DeliveryAwaitingReview {
		h.Errorf("new attempt after replay: delivery %s, want awaiting_review", got.Delivery)
	}
}

func testReviewRefused(h *harness) {
	_, err := h.s.Approve(h.ctx, "missing", "")
	h.wantErr("Approve of an unknown key", err, jobs.ErrNotFound)
	_, err = h.s.Reject(h.ctx, "missing", "no")
	h.wantErr("Reject of an unknown key", err, jobs.ErrNotFound)
	_, err = h.s.RetryDelivery(h.ctx, "missing")
	h.wantErr("RetryDelivery of an unknown key", err, jobs.ErrNotFound)

	nowhere := newJob("no-surface")
	nowhere.TargetSurface = ""
	h.track(nowhere)
	h.trackSubmitted("failed", "vgen_f")
	h.apply(event("vgen_f", creativeai.StatusFailed))
	h.completedJob("delivered")
	h.claim("w", 1, h.clock.Now())
	h.recordDelivery("delivered", jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryDelivered, Ref: "m"})
	h.trackSubmitted("rendering", "vgen_r")
	h.completedJob("pending")
	for _, key := range []string{"no-surface", "failed", "delivered"} {
		before := h.get(key)
		_, err := h.s.Approve(h.ctx, key, "")
		h.wantErr("Approve of "+key, err, jobs.ErrNotAwaitingReview)
		h.diff("Get after the refused approval", before, h.get(key))
	}
	for _, key := range []string{"rendering", "pending", "delivered"} {
		before := h.get(key)
		_, err := h.s.Reject(h.ctx, key, "no")
		h.wantErr("Reject of "+key, err, jobs.ErrNotAwaitingReview)
		_, err = h.s.RetryDelivery(h.ctx, key)
		h.wantErr("RetryDelivery of "+key, err, jobs.ErrNotDeliveryFailed)
		h.diff("Get after the refused changes", before, h.get(key))
	}
}

func testRetryDelivery(h *harness) {
	h.completedJob("a")
	h.claim("w", 1, h.clock.Now())
	failed := h.recordDelivery("a", jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryFailed, Error: "gave up after 8 attempts: HTTP 503"})
	now := h.clock.Advance(time.Hour)
	got, err := h.s.RetryDelivery(h.ctx, "a")
	if err != nil {
		h.Fatal(err)
	}
	want := failed
	want.Delivery, want.DeliveryNextAt, want.DeliveryAttempts, want.DeliveryError, want.UpdatedAt = jobs.DeliveryPending, now, 0, "", now
	h.diff("RetryDelivery", want, got)
	h.diff("claim after RetryDelivery", []jobs.Job{want}, h.claim("w2", 1, now))
}

// durableReviewCases are the review gate's RunDurable subtests.
var durableReviewCases = []testCase{
	{"Durable/Review", testDurableReview},
}

// testDurableReview pins that review decisions survive a reopen: a job
// awaiting review, one approved ahead, one rejected and one whose failed
// delivery was retried.
func testDurableReview(h *harness) {
	h.completedJob("awaiting")
	h.hold("awaiting")
	h.completedJob("rejected")
	h.hold("rejected")
	if _, err := h.s.Reject(h.ctx, "rejected", "wrong colourway"); err != nil {
		h.Fatal(err)
	}
	h.trackSubmitted("ahead", "vgen_ahead")
	h.approve("ahead", "pre-approved by merchandising")
	h.completedJob("retried")
	h.claim("w", 1, h.clock.Now())
	h.recordDelivery("retried", jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryFailed, Error: "product not found"})
	if _, err := h.s.RetryDelivery(h.ctx, "retried"); err != nil {
		h.Fatal(err)
	}
	want := h.list(jobs.Filter{})
	h.reopen()
	h.diff("List after reopen", want, h.list(jobs.Filter{}))
	h.approve("awaiting", "")
	h.diff("claim after reopen and approval", []string{"awaiting", "retried"}, keys(h.claim("w2", 10, h.clock.Now())))
}

// testSharedApprove pins that an approval given through one store releases
// a job the other holds for review, and one given while the other's worker
// holds the lease is not lost and leaves the job claimable at once.
func testSharedApprove(a, b *harness) {
	a.completedJob("x")
	a.hold("x")
	if c := a.claim("wa", 10, a.clock.Now()); len(c) != 0 {
		a.Fatalf("a claimed %v awaiting review", keys(c))
	}
	b.approve("x", "looks right")
	got := a.claim("wa", 10, a.clock.Now())
	if len(got) != 1 || !got[0].Approved() || got[0].ReviewNote != "looks right" {
		a.Fatalf("a claimed %+v after b approved; want x, approved", got)
	}
	a.recordDelivery("x", jobs.DeliveryResult{Owner: "wa", State: jobs.DeliveryDelivered, Ref: "m"})

	a.completedJob("y")
	now := a.clock.Now()
	if c := a.claim("gate", 1, now); len(c) != 1 {
		a.Fatalf("a claimed %v; want [y]", keys(c))
	}
	b.approve("y", "")
	a.recordDelivery("y", jobs.DeliveryResult{Owner: "gate", State: jobs.DeliveryAwaitingReview})
	// The hold recorded no attempt, yet b sees the lease end.
	b.diff("b claims the approved job after a's hold", []string{"y"}, keys(b.claim("wb", 1, now)))
}
