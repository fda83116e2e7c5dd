package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/examples/internal/cli"
)

// decision is one of the commands that change jobs one by one: approve,
// reject and retry-delivery.
type decision struct {
	name string
	// check applies the command's rule to a copy of a job, to find the
	// jobs it applies to before the store is touched.
	check func(j *jobs.Job) error
	// apply makes the change in the store.
	apply func(ctx context.Context, s jobs.Store, key string) (jobs.Job, error)
	// done words a job the command changed.
	done func(j *jobs.Job) string
}

func newDecision(cmd, note, reason string) decision {
	now := time.Now()
	switch cmd {
	case "approve":
		return decision{
			name:  cmd,
			check: func(j *jobs.Job) error { return j.Approve(note, now) },
			apply: func(ctx context.Context, s jobs.Store, key string) (jobs.Job, error) {
				return s.Approve(ctx, key, note)
			},
			done: func(j *jobs.Job) string {
				if j.Status != jobs.StatusCompleted {
					return fmt.Sprintf("approved ahead (%s): it is delivered as soon as it completes", j.Status)
				}
				return "approved: due for delivery to " + j.TargetSurface + " now"
			},
		}
	case "reject":
		return decision{
			name:  cmd,
			check: func(j *jobs.Job) error { return j.Reject(reason, now) },
			apply: func(ctx context.Context, s jobs.Store, key string) (jobs.Job, error) {
				return s.Reject(ctx, key, reason)
			},
			done: func(j *jobs.Job) string { return "rejected: " + j.ReviewNote },
		}
	default:
		return decision{
			name:  cmd,
			check: func(j *jobs.Job) error { return j.RetryDelivery(now) },
			apply: func(ctx context.Context, s jobs.Store, key string) (jobs.Job, error) {
				return s.RetryDelivery(ctx, key)
			},
			done: func(j *jobs.Job) string { return "delivery due again now to " + j.TargetSurface },
		}
	}
}

// decide runs an approve, reject or retry-delivery on the jobs named in
// args (a SKU or a job key each), or with all on every job awaiting review.
// Every name is checked against the store first: an unknown SKU, or a SKU
// none of whose jobs the command applies to (a job not awaiting review,
// a delivery that did not fail), is a usage error and nothing changes.
func decide(ctx context.Context, jobsSpec string, d decision, args []string, all bool, stdout, stderr io.Writer) error {
	store, err := openExisting(ctx, jobsSpec, stderr)
	if err != nil {
		return err
	}
	keys, err := pick(ctx, store, d, args, all)
	if err == nil && len(keys) == 0 {
		_, err = fmt.Fprintln(stdout, "No job is awaiting review.")
	}
	for i, key := range keys {
		if err != nil {
			break
		}
		var j jobs.Job
		if j, err = d.apply(ctx, store, key); err != nil {
			err = fmt.Errorf("%s %s (after %s): %w", d.name, key, cli.Plural(i, "job"), err)
			break
		}
		_, err = fmt.Fprintf(stdout, "%s (%s): %s\n", j.SKU, j.Key, d.done(&j))
	}
	return errors.Join(err, store.Close())
}

// pick returns the keys of the jobs d applies to.
func pick(ctx context.Context, store jobs.Store, d decision, args []string, all bool) ([]string, error) {
	bySKU := map[string][]jobs.Job{}
	var keys []string
	for j, err := range store.List(ctx, jobs.Filter{}) {
		if err != nil {
			return nil, err
		}
		if all {
			if j.Delivery == jobs.DeliveryAwaitingReview {
				keys = append(keys, j.Key)
			}
			continue
		}
		bySKU[j.SKU] = append(bySKU[j.SKU], j)
		if j.Key != j.SKU {
			bySKU[j.Key] = append(bySKU[j.Key], j)
		}
	}
	if all {
		return keys, nil
	}
	var problems []string
	for _, name := range args {
		matched := bySKU[name]
		if len(matched) == 0 {
			problems = append(problems, fmt.Sprintf("%s: no job has this SKU or key", name))
			continue
		}
		// A SKU whose manifest row changed has a job per version; the
		// command applies to those in the state it needs.
		var refusals []string
		n := len(keys)
		for _, j := range matched {
			if err := d.check(&j); err != nil {
				refusals = append(refusals, strings.TrimPrefix(err.Error(), "batch: "))
			} else if !slices.Contains(keys, j.Key) {
				keys = append(keys, j.Key)
			}
		}
		if len(keys) == n {
			problems = append(problems, fmt.Sprintf("%s: %s", name, strings.Join(refusals, "; ")))
		}
	}
	if len(problems) > 0 {
		return nil, cli.Invalidf("%s: nothing was changed:\n  %s", d.name, strings.Join(problems, "\n  "))
	}
	return keys, nil
}

// openExisting opens the store jobsSpec names, refusing a JSONL file that
// does not exist rather than creating it.
func openExisting(ctx context.Context, jobsSpec string, stderr io.Writer) (jobs.Store, error) {
	if jobsSpec == "" {
		return nil, cli.Usagef("-jobs is required")
	}
	spec, err := cli.ParseStoreSpec(jobsSpec)
	if err != nil {
		return nil, cli.Usagef("-jobs: %v", err)
	}
	if err := checkExists(spec); err != nil {
		return nil, err
	}
	store, _, err := cli.OpenStore(ctx, jobsSpec, storeLogger(stderr))
	return store, err
}
