package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

func testConcurrentApply(h *harness) {
	const jobList, workers = 60, 8
	var events []creativeai.Generation
	for i := range jobList {
		id := fmt.Sprintf("vgen_%02d", i)
		h.trackSubmitted(fmt.Sprintf("job-%02d", i), id)
		// Every event twice, as webhook senders retry and duplicate.
		for range 2 {
			events = append(events, event(id, creativeai.StatusProcessing), completed(id), event(id, "upscaling"))
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })

	var (
		mu          sync.Mutex
		completions = map[string]int{}
		wg          sync.WaitGroup
		next        = make(chan creativeai.Generation)
	)
	for range workers {
		wg.Go(func() {
			for gen := range next {
				r, err := h.s.Apply(h.ctx, gen)
				if err != nil {
					h.Errorf("Apply(%s %s): %v", gen.ID, gen.Status, err)
					continue
				}
				if r.Changed && r.Job.Status == jobs.StatusCompleted && gen.Status == creativeai.StatusCompleted {
					mu.Lock()
					completions[gen.ID]++
					mu.Unlock()
				}
			}
		})
	}
	for _, gen := range events {
		next <- gen
	}
	close(next)
	wg.Wait()

	listed := h.list(jobs.Filter{Statuses: []jobs.Status{jobs.StatusCompleted}})
	if len(listed) != jobList {
		h.Errorf("%d completed jobs listed, want %d", len(listed), jobList)
	}
	for _, j := range listed {
		if n := completions[j.GenerationID]; n != 1 {
			h.Errorf("%s: %d applies reported completing it, want 1", j.Key, n)
		}
		if j.OutputURL == "" || j.Delivery != jobs.DeliveryPending || j.ProviderStatus != "" {
			h.Errorf("%s: OutputURL = %q, Delivery = %q, ProviderStatus = %q", j.Key, j.OutputURL, j.Delivery, j.ProviderStatus)
		}
	}
}

// testConcurrentSubmissionAndEvent races each submission against the
// webhook for the generation it records: whichever wins, the event is applied.
func testConcurrentSubmissionAndEvent(h *harness) {
	const jobList = 40
	for i := range jobList {
		h.track(newJob(fmt.Sprintf("job-%02d", i)))
	}
	var wg sync.WaitGroup
	for i := range jobList {
		key, id := fmt.Sprintf("job-%02d", i), fmt.Sprintf("vgen_%02d", i)
		wg.Go(func() {
			if _, err := h.s.RecordSubmission(h.ctx, key, jobs.Submission{Generation: &creativeai.Generation{ID: id, Status: creativeai.StatusPending}}); err != nil {
				h.Errorf("RecordSubmission(%s): %v", key, err)
			}
		})
		wg.Go(func() {
			if _, err := h.s.Apply(h.ctx, completed(id)); err != nil {
				h.Errorf("Apply(%s): %v", id, err)
			}
		})
	}
	wg.Wait()
	for j := range h.s.List(h.ctx, jobs.Filter{}) {
		if j.Status != jobs.StatusCompleted {
			h.Errorf("%s: Status = %q after its submission and completion raced; want completed", j.Key, j.Status)
		}
	}
}

// calls exercises every method once, for the cancellation and Close tests.
func calls(s jobs.Store) map[string]func(ctx context.Context) error {
	return map[string]func(ctx context.Context) error{
		"Track": func(ctx context.Context) error {
			_, _, err := s.Track(ctx, newJob("new"))
			return err
		},
		"RecordSubmission": func(ctx context.Context) error {
			_, err := s.RecordSubmission(ctx, "fresh", jobs.Submission{Generation: &creativeai.Generation{ID: "vgen_fresh", Status: creativeai.StatusPending}})
			return err
		},
		"Replay": func(ctx context.Context) error {
			_, err := s.Replay(ctx, "failed")
			return err
		},
		"Apply": func(ctx context.Context) error {
			_, err := s.Apply(ctx, completed("vgen_running"))
			return err
		},
		"Apply unknown id": func(ctx context.Context) error {
			_, err := s.Apply(ctx, completed("vgen_unknown"))
			return err
		},
		"Get": func(ctx context.Context) error {
			_, err := s.Get(ctx, "fresh")
			return err
		},
		"GetByGenerationID": func(ctx context.Context) error {
			_, err := s.GetByGenerationID(ctx, "vgen_running")
			return err
		},
		"List": func(ctx context.Context) error {
			for _, err := range s.List(ctx, jobs.Filter{}) {
				if err != nil {
					return err
				}
			}
			return errors.New("no error from List")
		},
		"ClaimDeliveries": func(ctx context.Context) error {
			_, err := s.ClaimDeliveries(ctx, jobs.Claim{Owner: "w2", Limit: 10, Lease: time.Minute})
			return err
		},
		"RecordArchive": func(ctx context.Context) error {
			_, err := s.RecordArchive(ctx, "claimed", archiveOf("claimed", 'e'))
			return err
		},
		"RecordDelivery": func(ctx context.Context) error {
			_, err := s.RecordDelivery(ctx, "claimed", jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryDelivered, Ref: "m"})
			return err
		},
	}
}

// setupCalls creates the jobs calls works on: "claimed" is leased to "w".
func (h *harness) setupCalls() {
	h.Helper()
	h.track(newJob("fresh"))
	h.trackSubmitted("running", "vgen_running")
	h.trackSubmitted("failed", "vgen_failed")
	h.apply(event("vgen_failed", creativeai.StatusFailed))
	h.completedJob("claimed")
	if got := h.claim("w", 1, h.clock.Now()); len(got) != 1 {
		h.Fatalf("claimed %v, want one job", keys(got))
	}
}

func testContextCanceled(h *harness) {
	h.setupCalls()
	before := h.list(jobs.Filter{})
	h.clock.Advance(time.Second)

	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	for name, call := range calls(h.s) {
		if err := call(ctx); !errors.Is(err, context.Canceled) {
			h.Errorf("%s with a cancelled context: error = %v, want context.Canceled", name, err)
		}
	}
	h.diff("jobs after cancelled calls", before, h.list(jobs.Filter{}))
	// The cancelled claim took nothing and the cancelled record released nothing.
	if got := h.claim("w2", 10, h.clock.Now()); len(got) != 0 {
		h.Errorf("claimed %v; want nothing (the job is leased to w)", keys(got))
	}
	h.recordDelivery("claimed", jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryDelivered, Ref: "m"})
	r := h.apply(completed("vgen_unknown"))
	if !r.Deferred {
		h.Error("event for an unknown id not deferred")
	}
}

func testClosed(h *harness) {
	h.setupCalls()
	if err := h.s.Close(); err != nil {
		h.Fatalf("Close: %v", err)
	}
	for name, call := range calls(h.s) {
		if err := call(h.ctx); !errors.Is(err, jobs.ErrClosed) {
			h.Errorf("%s after Close: error = %v, want jobs.ErrClosed", name, err)
		}
	}
}
