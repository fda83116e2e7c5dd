package jobs_test

import (
	"fmt"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// ExampleBuyerCopy_For turns job states into the line a buyer sees, with one
// line overridden.
func ExampleBuyerCopy_For() {
	lines := jobs.DefaultBuyerCopy()
	lines.Statuses[jobs.StatusPending] = "In the queue - usually under a minute"

	fmt.Println(lines.For(jobs.StatusPending, ""))
	fmt.Println(lines.For(jobs.StatusCompleted, jobs.DeliveryDelivered))
	fmt.Println(lines.For("upscaling", ""))
	// Output:
	// In the queue - usually under a minute
	// Video live - published to its destination
	// Update from provider (upscaling) - we'll keep watching
}

// ExampleStatus_Advances applies only updates that move a job forward, so a
// late "processing" webhook cannot undo "completed".
func ExampleStatus_Advances() {
	current := jobs.StatusCompleted
	for _, update := range []jobs.Status{jobs.StatusProcessing, jobs.StatusFailed, "upscaling"} {
		fmt.Println(update, current.Advances(update))
	}
	fmt.Println(jobs.StatusPending, jobs.StatusPending.Advances(jobs.StatusProcessing))
	// Output:
	// processing false
	// failed false
	// upscaling false
	// pending true
}
