package jobs_test

import (
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// TestJobCost prices jobs at what is recorded on them, whatever the pricing
// of today, and jobs without recorded prices at today's.
func TestJobCost(t *testing.T) {
	today := creativeai.Pricing{Clip: 70, Still: 45}
	reserved := func(j jobs.Job) jobs.Job {
		j.PriceCents, j.StillCents, j.SpendDay = 80, 30, "2026-11-30"
		return j
	}
	tests := []struct {
		name string
		job  jobs.Job
		want creativeai.Cents
	}{
		{"reserved, not sent", reserved(jobs.Job{Status: jobs.StatusPending}), 0},
		{"reserved, still rendered, clip not sent", reserved(jobs.Job{Status: jobs.StatusPending, StillURL: "s", StillPaid: true}), 30},
		{"accepted, rendering", reserved(jobs.Job{Status: jobs.StatusProcessing, GenerationID: "g"}), 80},
		{"completed", reserved(jobs.Job{Status: jobs.StatusCompleted, GenerationID: "g"}), 80},
		{"failed, not billed, still rendered", reserved(jobs.Job{Status: jobs.StatusFailed, GenerationID: "g", NotBilled: true, StillPaid: true}), 30},
		{"clip refused after the still", reserved(jobs.Job{Status: jobs.StatusSubmitFailed, StillPaid: true}), 30},
		{"clip refused, no still rendered", reserved(jobs.Job{Status: jobs.StatusSubmitFailed}), 0},
		{"replayed: earlier charge and a new attempt in flight", jobs.Job{Status: jobs.StatusProcessing, GenerationID: "g2",
			PreviousGenerationIDs: []string{"g1"}, PriceCents: 50, SpendDay: "2026-11-30",
			EarlierCharges: []jobs.Charge{{Day: "2026-11-29", Cents: 80}}}, 130},
		{"legacy, completed with a still", jobs.Job{Status: jobs.StatusCompleted, GenerationID: "g", StillURL: "s"}, 115},
		{"legacy, replayed", jobs.Job{Status: jobs.StatusCompleted, GenerationID: "g2", PreviousGenerationIDs: []string{"g1"}}, 140},
		{"legacy, never accepted", jobs.Job{Status: jobs.StatusSubmitFailed}, 0},
	}
	for _, tt := range tests {
		if got := tt.job.Cost(today); got != tt.want {
			t.Errorf("%s: Cost = %s, want %s", tt.name, got, tt.want)
		}
	}
}
