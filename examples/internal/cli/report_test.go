package cli

import (
	"os"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

func sampleJobs() []jobs.Job {
	return []jobs.Job{
		{SKU: "SKU-1001", GenerationID: "vgen_a", Status: jobs.StatusCompleted, TargetSurface: SurfaceShopifyPDP,
			Delivery: jobs.DeliveryDelivered, DeliveryRef: "gid://shopify/Video/1"},
		{SKU: "SKU-1002", GenerationID: "vgen_b", Status: jobs.StatusProcessing, StillURL: "https://cdn.example.com/still.png"},
		{SKU: "SKU-1003", GenerationID: "vgen_c", Status: jobs.StatusPending, ProviderStatus: "queued_for_gpu"},
		{SKU: "SKU-1004", Status: jobs.StatusSubmitFailed, Error: "HTTP 400", FailureClass: jobs.FailureInput},
		{SKU: "SKU-1005", GenerationID: "vgen_e2", PreviousGenerationIDs: []string{"vgen_e1"}, Status: jobs.StatusCompleted,
			TargetSurface: "cms", Delivery: jobs.DeliveryFailed, DeliveryError: "no delivery sink for target_surface \"cms\""},
	}
}

func ExampleWriteStatusTable() {
	_ = WriteStatusTable(os.Stdout, sampleJobs()[:4], jobs.DefaultBuyerCopy())
	// Output:
	// SKU       STATUS                    FAILURE  BUYER STATUS                                                         GENERATION  DELIVERY
	// SKU-1001  completed                 -        Video live - published to its destination                            vgen_a      delivered gid://shopify/Video/1
	// SKU-1002  processing                -        Rendering video - we'll deliver it by webhook automatically          vgen_b      -
	// SKU-1003  pending (queued_for_gpu)  -        Update from provider (queued_for_gpu) - we'll keep watching          vgen_c      -
	// SKU-1004  submit_failed             input    Not submitted - fix the row or retry the batch; nothing was charged  -           -
}

func ExampleWriteCostSummary() {
	jobList := sampleJobs()
	// SKU-1002 was reserved when a clip cost 50 cents and a still 30; the
	// other jobs predate recorded prices and are priced at today's.
	jobList[1].PriceCents, jobList[1].StillCents, jobList[1].StillPaid, jobList[1].SpendDay = 80, 30, true, "2026-11-30"
	_ = WriteCostSummary(os.Stdout, jobList, creativeai.Pricing{Clip: 36, Still: 21})
	// Output:
	// SKU       CLIPS  STILLS  COST
	// SKU-1001  1      0       $0.36
	// SKU-1002  1      1       $0.80
	// SKU-1003  1      0       $0.36
	// SKU-1004  0      0       $0.00
	// SKU-1005  2      0       $0.72
	// total     5      1       $2.24
	// Prices: as recorded on each job; 3 jobs tracked before prices were recorded at $0.36 per clip, $0.21 per still.
}

func TestWriteCounts(t *testing.T) {
	var b strings.Builder
	jobList := append(sampleJobs(), jobs.Job{SKU: "X", Status: "mystery"},
		jobs.Job{SKU: "R", Status: jobs.StatusCompleted, Delivery: jobs.DeliveryRejected},
		jobs.Job{SKU: "W", Status: jobs.StatusCompleted, Delivery: jobs.DeliveryAwaitingReview})
	if err := WriteCounts(&b, jobList); err != nil {
		t.Fatal(err)
	}
	want := "8 jobs: 4 completed, 1 processing, 1 pending, 1 submit_failed, 1 mystery; delivery: 1 delivered, 1 awaiting_review, 1 rejected, 1 failed\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestDeliveryText(t *testing.T) {
	tests := []struct {
		job  jobs.Job
		want string
	}{
		{jobs.Job{Status: jobs.StatusPending}, "-"},
		{jobs.Job{Status: jobs.StatusCompleted}, "none (no target_surface)"},
		{jobs.Job{Status: jobs.StatusCompleted, Delivery: jobs.DeliveryPending}, "pending"},
		{jobs.Job{Status: jobs.StatusCompleted, Delivery: jobs.DeliveryPending, DeliveryAttempts: 2, DeliveryError: "HTTP 503"}, "pending (attempt 2: HTTP 503)"},
		{jobs.Job{Status: jobs.StatusCompleted, Delivery: jobs.DeliveryDelivered, DeliveryRef: "gid://shopify/Video/9"}, "delivered gid://shopify/Video/9"},
		{jobs.Job{Status: jobs.StatusCompleted, Delivery: jobs.DeliveryFailed, DeliveryError: "SKU not found"}, "failed: SKU not found"},
		{jobs.Job{Status: jobs.StatusCompleted, Delivery: jobs.DeliveryAwaitingReview}, "awaiting review (jobs approve or reject)"},
		{jobs.Job{Status: jobs.StatusCompleted, Delivery: jobs.DeliveryRejected, ReviewNote: "logo cropped"}, "rejected: logo cropped"},
	}
	for _, tt := range tests {
		if got := DeliveryText(&tt.job); got != tt.want {
			t.Errorf("DeliveryText(%+v) = %q, want %q", tt.job, got, tt.want)
		}
	}
}
