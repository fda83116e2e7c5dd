package creativeaitest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// outcome is what a seed decides about a render.
type outcome struct {
	id       string
	status   creativeai.Status
	failover bool
	err      string
}

// renderAll creates the given prompts in order on a fresh server, lets them
// finish, and returns each prompt's outcome.
func renderAll(t *testing.T, prompts []string, opts ...Option) map[string]outcome {
	t.Helper()
	s := newTestServer(t, append([]Option{WithRenderTime(0), WithFailureRate(0.4), WithFailoverRate(0.3)}, opts...)...)
	for _, p := range prompts {
		create(t, s, createBody(p), "")
	}
	waitIdle(t, s)
	out := map[string]outcome{}
	for _, g := range s.Generations() {
		out[g.Prompt] = outcome{g.ID, g.Status, g.FailoverUsed, g.Error}
	}
	return out
}

func TestSeedDecidesRendersWhateverTheOrder(t *testing.T) {
	var prompts []string
	for i := range 30 {
		prompts = append(prompts, fmt.Sprint("seeded ", i))
	}
	first := renderAll(t, prompts, WithSeed(99))
	reversed := slices.Clone(prompts)
	slices.Reverse(reversed)
	second := renderAll(t, reversed, WithSeed(99))
	statuses := map[creativeai.Status]int{}
	for _, p := range prompts {
		if first[p] != second[p] {
			t.Errorf("%q: %+v, then %+v in another order", p, first[p], second[p])
		}
		statuses[first[p].status]++
	}
	if statuses[creativeai.StatusCompleted] == 0 || statuses[creativeai.StatusFailed] == 0 {
		t.Errorf("outcomes %v: want both completed and failed at a 40%% failure rate", statuses)
	}

	other := renderAll(t, prompts, WithSeed(100))
	if other[prompts[0]].id == first[prompts[0]].id {
		t.Error("another seed gave the same id")
	}
}

func TestRerenderOfAnInputGetsItsOwnOutcome(t *testing.T) {
	s := newTestServer(t, WithSeed(1), WithRenderTime(0), WithFailureRate(0.5))
	var statuses []creativeai.Status
	for range 20 {
		create(t, s, createBody("the same input"), "")
	}
	waitIdle(t, s)
	for _, g := range s.Generations() {
		statuses = append(statuses, g.Status)
	}
	if !slices.Contains(statuses, creativeai.StatusCompleted) || !slices.Contains(statuses, creativeai.StatusFailed) {
		t.Errorf("20 renders of one input: %v; a replayed failure must be able to succeed", statuses)
	}
}

func TestSeedIsReported(t *testing.T) {
	if s := newTestServer(t, WithSeed(-5)); s.Seed() != -5 {
		t.Errorf("Seed() = %d, want -5", s.Seed())
	}
	a, b := newTestServer(t), newTestServer(t)
	if a.Seed() == b.Seed() {
		t.Errorf("two unseeded servers share seed %d", a.Seed())
	}
}

func TestAdvanceTakesTheNextStepEarly(t *testing.T) {
	s := newTestServer(t, WithRenderTime(time.Hour))
	g := create(t, s, createBody("early"), "")
	if st, err := s.Advance(g.ID); err != nil || st != creativeai.StatusProcessing {
		t.Fatalf("Advance = %q, %v", st, err)
	}
	if err := s.Complete(g.ID); err != nil {
		t.Fatal(err)
	}
	// The hour-long timers were stopped: nothing is left to wait for.
	waitIdle(t, s)
	if got, _ := s.Generation(g.ID); got.Status != creativeai.StatusCompleted {
		t.Errorf("status = %q", got.Status)
	}
}
