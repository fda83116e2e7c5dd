package creativeaitest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// failureMessages are the errors failed renders report, the first from the
// workflow page's example.
var failureMessages = []string{
	"provider timeout after retry budget",
	"provider rejected the input image",
	"render worker crashed",
}

// errClosed is returned by the manual controls after Close.
var errClosed = errors.New("creativeaitest: server closed")

// generation is a render and its wire state, guarded by Server.mu.
type generation struct {
	gen        creativeai.Generation
	index      int // position in Server.order
	webhookURL string
	plan       renderPlan
	timer      *time.Timer
	tick       int       // bumped on every change, so a stale timer does nothing
	held       *delivery // a processing event held back by WithWebhookReorder
	// expiresAt is when the output stops being served; zero is never.
	expiresAt time.Time
}

// renderPlan is decided when the render starts.
type renderPlan struct {
	processingAfter time.Duration
	doneAfter       time.Duration
	fail            bool
	errMsg          string
	failover        bool
}

// startRenderLocked creates a generation for in and schedules its progress.
func (s *Server) startRenderLocked(in RenderInput, hookURL string) *generation {
	s.perInput[in]++
	nth := strconv.Itoa(s.perInput[in])
	key := fingerprint(in)
	id := s.newID("vgen_", "video", key, nth)
	for salt := 1; s.gens[id] != nil; salt++ {
		id = s.newID("vgen_", "video", key, nth, strconv.Itoa(salt))
	}
	g := &generation{
		index:      len(s.order),
		webhookURL: hookURL,
		plan:       s.plan(key, nth),
		gen: creativeai.Generation{
			ID:          id,
			Object:      "video.generation",
			Status:      creativeai.StatusPending,
			Model:       in.Model,
			Prompt:      in.Prompt,
			ImageURL:    in.ImageURL,
			Duration:    in.Duration,
			AspectRatio: in.AspectRatio,
			CreatedAt:   s.now().UTC(),
		},
	}
	s.gens[id] = g
	s.order = append(s.order, g)
	s.stats.Renders++
	if !s.cfg.manual {
		s.scheduleLocked(g, g.plan.processingAfter)
	}
	return g
}

// plan draws a render's timing and outcome from the seed, its input and the
// number of earlier renders of that input. It always draws the same values
// in the same order, so changing one rate does not reshuffle the others.
func (s *Server) plan(inputKey, nth string) renderPlan {
	r := rand.New(rand.NewChaCha8(s.digest("render", inputKey, nth)))
	total := time.Duration(float64(s.cfg.renderTime) * (0.5 + r.Float64()))
	p := renderPlan{processingAfter: total / 3, doneAfter: total}
	p.failover = r.Float64() < s.cfg.failoverRate
	p.fail = r.Float64() < s.cfg.failureRate
	p.errMsg = failureMessages[r.IntN(len(failureMessages))]
	if len(s.cfg.failureKinds) > 0 {
		// Drawn after the rest, so that choosing kinds changes no other draw.
		p.errMsg = failureMessage(s.cfg.failureKinds, r.IntN)
	}
	return p
}

// scheduleLocked makes g take its next step after d.
func (s *Server) scheduleLocked(g *generation, d time.Duration) {
	s.stopTimerLocked(g)
	tick := g.tick
	s.timers.Add(1)
	s.activity.add(1)
	g.timer = time.AfterFunc(d, func() {
		defer s.timers.Done()
		defer s.activity.add(-1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed || g.tick != tick {
			return
		}
		g.timer = nil
		s.stepLocked(g)
	})
}

// stopTimerLocked cancels g's pending step, if any.
func (s *Server) stopTimerLocked(g *generation) {
	g.tick++
	if g.timer != nil && g.timer.Stop() {
		// The callback will never run to say so.
		s.timers.Done()
		s.activity.add(-1)
	}
	g.timer = nil
}

// stepLocked moves g one step along its plan: pending → processing →
// completed or failed.
func (s *Server) stepLocked(g *generation) {
	switch g.gen.Status {
	case creativeai.StatusPending:
		s.transitionLocked(g, creativeai.StatusProcessing, "")
		if !s.cfg.manual {
			s.scheduleLocked(g, g.plan.doneAfter-g.plan.processingAfter)
		}
	case creativeai.StatusProcessing:
		if g.plan.fail {
			s.transitionLocked(g, creativeai.StatusFailed, g.plan.errMsg)
		} else {
			s.transitionLocked(g, creativeai.StatusCompleted, "")
		}
	}
}

// transitionLocked sets g's status, counts it and sends its webhook.
func (s *Server) transitionLocked(g *generation, to creativeai.Status, errMsg string) {
	s.stopTimerLocked(g)
	g.gen.Status = to
	switch to {
	case creativeai.StatusCompleted:
		g.gen.OutputURL = s.URL + "/outputs/" + g.gen.ID + ".mp4"
		g.gen.CompletedAt = s.now().UTC()
		if s.cfg.outputTTL > 0 {
			g.expiresAt = g.gen.CompletedAt.Add(s.cfg.outputTTL)
		}
		g.gen.FailoverUsed = g.plan.failover
		s.stats.Completed++
	case creativeai.StatusFailed:
		g.gen.Error = errMsg
		g.gen.FailoverUsed = g.plan.failover
		s.stats.Failed++
	}
	if g.gen.FailoverUsed {
		s.stats.Failovers++
	}
	s.notifyLocked(g)
}

// liveLocked returns the generation that a manual control may move.
func (s *Server) liveLocked(id string) (*generation, error) {
	if s.closed {
		return nil, errClosed
	}
	g, ok := s.gens[id]
	if !ok {
		return nil, fmt.Errorf("creativeaitest: no generation %q", id)
	}
	if g.gen.Status.Terminal() {
		return nil, fmt.Errorf("creativeaitest: generation %q already %s", id, g.gen.Status)
	}
	return g, nil
}

// Advance moves a generation one step along its planned course: pending to
// processing, processing to the outcome its seed decided (see
// [WithFailureRate]). It returns the new status. Under [WithManualRender]
// this is the only way renders progress besides Complete and Fail; without
// it, Advance takes the next step early.
func (s *Server) Advance(id string) (creativeai.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.liveLocked(id)
	if err != nil {
		return "", err
	}
	s.stopTimerLocked(g)
	s.stepLocked(g)
	return g.gen.Status, nil
}

// Complete ends a pending or processing generation as completed, whatever
// its plan, and sends its webhook. A pending generation goes straight to
// completed, with no processing event.
func (s *Server) Complete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.liveLocked(id)
	if err != nil {
		return err
	}
	s.transitionLocked(g, creativeai.StatusCompleted, "")
	return nil
}

// Fail ends a pending or processing generation as failed with message
// ("render failed" if empty) and sends its webhook.
func (s *Server) Fail(id, message string) error {
	if message == "" {
		message = "render failed"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.liveLocked(id)
	if err != nil {
		return err
	}
	s.transitionLocked(g, creativeai.StatusFailed, message)
	return nil
}

// Generation returns the current state of a generation, as a GET would
// answer it (without counting a poll).
func (s *Server) Generation(id string) (creativeai.Generation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.gens[id]
	if !ok {
		return creativeai.Generation{}, false
	}
	return g.gen, true
}

// Generations returns every generation in creation order.
func (s *Server) Generations() []creativeai.Generation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]creativeai.Generation, len(s.order))
	for i, g := range s.order {
		out[i] = g.gen
	}
	return out
}

// now reads the configured clock, or the wall clock.
func (s *Server) now() time.Time {
	if s.cfg.clock != nil {
		return s.cfg.clock.Now()
	}
	return time.Now()
}
