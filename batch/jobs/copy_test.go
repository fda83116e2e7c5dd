package jobs

import (
	"strings"
	"testing"
)

func TestBuyerCopy(t *testing.T) {
	c := DefaultBuyerCopy()
	tests := []struct {
		s    Status
		d    DeliveryState
		want string
	}{
		{StatusPending, "", "Queued with provider - render slot reserved"},
		{StatusProcessing, "", "Rendering video - we'll deliver it by webhook automatically"},
		{StatusCompleted, "", "Video ready - safe to publish to PDP, ads, or email"},
		{StatusFailed, "", "Render failed - retry or fall back to polling/debug flow"},
		{StatusSubmitFailed, "", "Not submitted - fix the row or retry the batch; nothing was charged"},
		{StatusCompleted, DeliveryPending, "Video ready - publishing to its destination"},
		{StatusCompleted, DeliveryDelivered, "Video live - published to its destination"},
		{StatusCompleted, DeliveryFailed, "Video ready but publishing failed - our team has the error and can retry"},
		{StatusCompleted, DeliveryAwaitingReview, "Video ready - waiting for approval before it is published"},
		{StatusCompleted, DeliveryRejected, "Video held back in review - it will be rendered again"},
		// A delivery state only speaks for a completed render.
		{StatusProcessing, DeliveryDelivered, "Rendering video - we'll deliver it by webhook automatically"},
		{StatusCompleted, "unknown_delivery", "Video ready - safe to publish to PDP, ads, or email"},
		{"queued_for_gpu", "", "Update from provider (queued_for_gpu) - we'll keep watching"},
	}
	for _, tt := range tests {
		if got := c.For(tt.s, tt.d); got != tt.want {
			t.Errorf("For(%q, %q) = %q, want %q", tt.s, tt.d, got, tt.want)
		}
	}
}

func TestBuyerCopyOverrides(t *testing.T) {
	c := DefaultBuyerCopy()
	c.Statuses[StatusPending] = "In line"
	c.Unknown = ""
	if got := c.For(StatusPending, ""); got != "In line" {
		t.Errorf("override not used: %q", got)
	}
	if got := c.For("mystery", ""); got != "mystery" {
		t.Errorf("without an Unknown format, For = %q, want the raw status", got)
	}
	// Each call returns a fresh table.
	if DefaultBuyerCopy().For(StatusPending, "") == "In line" {
		t.Error("DefaultBuyerCopy shares its maps between calls")
	}
}

func TestDefaultBuyerCopyCoversEveryState(t *testing.T) {
	c := DefaultBuyerCopy()
	for _, s := range allStatuses {
		if strings.TrimSpace(c.Statuses[s]) == "" {
			t.Errorf("no line for status %q", s)
		}
	}
	for _, d := range []DeliveryState{DeliveryPending, DeliveryDelivered, DeliveryFailed} {
		if strings.TrimSpace(c.Deliveries[d]) == "" {
			t.Errorf("no line for delivery state %q", d)
		}
	}
}

// TestBuyerStatusNotSubmitted checks that a pending job the service has
// not been sent (held by a budget, say) is not shown as queued with the
// provider, and that copy without the line falls back to the pending one.
func TestBuyerStatusNotSubmitted(t *testing.T) {
	c := DefaultBuyerCopy()
	held := Job{Key: "k", SKU: "A", Status: StatusPending}
	sent := Job{Key: "k", SKU: "A", Status: StatusPending, GenerationID: "vgen_1"}
	if got := held.BuyerStatus(c); got != c.NotSubmitted || got == c.Statuses[StatusPending] {
		t.Errorf("held job: %q, want the not-submitted line %q", got, c.NotSubmitted)
	}
	if got := sent.BuyerStatus(c); got != c.Statuses[StatusPending] {
		t.Errorf("sent job: %q, want the pending line", got)
	}
	c.NotSubmitted = ""
	if got := held.BuyerStatus(c); got != c.Statuses[StatusPending] {
		t.Errorf("held job without a not-submitted line: %q, want the pending line", got)
	}
}
