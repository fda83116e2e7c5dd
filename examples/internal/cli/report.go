package cli

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/creativeai-run/catalogvideo/batch/console"
	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// WriteStatusTable prints one row per job: SKU, status, the failure class
// of a failed or submit_failed job (transient, input or policy; see
// jobs.FailureClass), the buyer-facing line, generation id, and delivery
// state (with the sink's reference or error).
func WriteStatusTable(w io.Writer, jobList []jobs.Job, copy *jobs.BuyerCopy) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SKU\tSTATUS\tFAILURE\tBUYER STATUS\tGENERATION\tDELIVERY")
	for i := range jobList {
		j := &jobList[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n",
			j.SKU, StatusText(j), cmp.Or(string(j.FailureClass), "-"), j.BuyerStatus(copy), cmp.Or(j.GenerationID, "-"), DeliveryText(j))
	}
	return tw.Flush()
}

// StatusText is the job's status, with an unknown provider status beside it.
func StatusText(j *jobs.Job) string {
	if j.ProviderStatus != "" {
		return fmt.Sprintf("%s (%s)", j.Status, j.ProviderStatus)
	}
	return string(j.Status)
}

// DeliveryText describes where a job's delivery stands, such as
// "delivered gid://shopify/MediaImage/1", "pending (attempt 2: HTTP 503)"
// or "rejected: logo cropped".
func DeliveryText(j *jobs.Job) string {
	switch j.Delivery {
	case "":
		if j.Status == jobs.StatusCompleted && j.TargetSurface == "" {
			return "none (no target_surface)"
		}
		return "-"
	case jobs.DeliveryDelivered:
		return joinNonEmpty("delivered", j.DeliveryRef)
	case jobs.DeliveryFailed:
		return joinNonEmpty("failed:", j.DeliveryError)
	case jobs.DeliveryAwaitingReview:
		return "awaiting review (jobs approve or reject)"
	case jobs.DeliveryRejected:
		return joinNonEmpty("rejected:", j.ReviewNote)
	default:
		if j.DeliveryError != "" {
			return fmt.Sprintf("pending (attempt %d: %s)", j.DeliveryAttempts, j.DeliveryError)
		}
		return "pending"
	}
}

func joinNonEmpty(a, b string) string {
	if b == "" {
		return a
	}
	return a + " " + b
}

// JobUnits counts what a job has been charged for so far, as the console
// counts it (see console.Units).
func JobUnits(j *jobs.Job) (clips, stills int) { return console.Units(j) }

// WriteCostSummary prints each job's cost and the total: the prices
// recorded on the jobs when their cost was reserved, so that the totals stay
// right after a price change, and for jobs tracked before prices were
// recorded, p (see jobs.Job.Cost). The last line says which prices were used.
func WriteCostSummary(w io.Writer, jobList []jobs.Job, p creativeai.Pricing) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SKU\tCLIPS\tSTILLS\tCOST")
	var (
		clips, stills, unrecorded int
		total                     creativeai.Cents
	)
	for i := range jobList {
		j := &jobList[i]
		c, s := JobUnits(j)
		cost := console.Cost(j, p)
		clips += c
		stills += s
		total += cost
		if !j.PriceRecorded() && c+s > 0 {
			unrecorded++
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", j.SKU, c, s, cost)
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%s\n", clips, stills, total)
	if err := tw.Flush(); err != nil {
		return err
	}
	if unrecorded == 0 {
		_, err := fmt.Fprintln(w, "Prices: as recorded on each job when its cost was reserved.")
		return err
	}
	note := ""
	if p == creativeai.DefaultPricing() {
		note = " (the top of the published ranges; your credit tier may pay less)"
	}
	_, err := fmt.Fprintf(w, "Prices: as recorded on each job; %s tracked before prices were recorded at %s per clip, %s per still%s.\n",
		Plural(unrecorded, "job"), p.Clip, p.Still, note)
	return err
}

// WriteCounts prints how many jobs are in each status and delivery state,
// such as "3 jobs: 2 completed, 1 failed; delivery: 2 delivered".
func WriteCounts(w io.Writer, jobList []jobs.Job) error {
	statuses := map[string]int{}
	deliveries := map[string]int{}
	for i := range jobList {
		statuses[string(jobList[i].Status)]++
		if d := jobList[i].Delivery; d != "" {
			deliveries[string(d)]++
		}
	}
	line := Plural(len(jobList), "job") + ": " + countList(statuses, statusOrder)
	if len(deliveries) > 0 {
		line += "; delivery: " + countList(deliveries, deliveryOrder)
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

var (
	statusOrder   = []string{"completed", "processing", "pending", "failed", "submit_failed"}
	deliveryOrder = []string{"delivered", "pending", "awaiting_review", "rejected", "failed"}
)

// countList formats counts in the given order, then any other keys sorted.
func countList(counts map[string]int, order []string) string {
	var parts []string
	for _, k := range order {
		if n := counts[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
			delete(counts, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	return strings.Join(parts, ", ")
}

// Plural formats a count with its noun, such as "1 video" or "2 videos".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
