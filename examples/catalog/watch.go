package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/examples/internal/cli"
)

// watcher shows each row's state as it changes and tells when every row has
// settled. It reads the job store rather than listening to events, so
// whatever changed a job (a webhook, a poll, a delivery) shows the same way.
type watcher struct {
	out   io.Writer
	store jobs.Store
	total int
	start time.Time
	copy  *jobs.BuyerCopy
	// archiving tells that every video is archived, so a job without a
	// delivery settles once it is.
	archiving bool

	// settled is closed once Run has finished and every tracked row has
	// settled or been given up as lost.
	settled chan struct{}
	pokes   chan struct{}

	mu       sync.Mutex
	keys     []string          // tracked rows, in manifest order once Run is done
	known    map[string]bool   // the keys in keys
	shown    map[string]string // key → last line shown
	done     map[string]bool   // keys counted as settled
	lostKeys map[string]bool
	heldKeys map[string]bool // rows a budget held back
	// version counts changes to keys, so that a refresh whose snapshot
	// predates one does not judge the rows settled.
	version   int
	runDone   bool
	closeOnce sync.Once
}

func newWatcher(out io.Writer, store jobs.Store, total int) *watcher {
	return &watcher{
		out:      out,
		store:    store,
		total:    total,
		start:    time.Now(),
		copy:     jobs.DefaultBuyerCopy(),
		settled:  make(chan struct{}),
		pokes:    make(chan struct{}, 1),
		known:    map[string]bool{},
		shown:    map[string]string{},
		done:     map[string]bool{},
		lostKeys: map[string]bool{},
		heldKeys: map[string]bool{},
	}
}

// poke asks for a refresh soon; it never blocks.
func (w *watcher) poke() {
	select {
	case w.pokes <- struct{}{}:
	default:
	}
}

func (w *watcher) printf(format string, args ...any) {
	fmt.Fprintf(w.out, "%5.1fs  "+format+"\n", append([]any{time.Since(w.start).Seconds()}, args...)...)
}

// submitted is the batch.Config.Progress callback: it announces each row as
// Run finishes with it.
func (w *watcher) submitted(p batch.Progress) {
	row := p.Row
	w.mu.Lock()
	defer w.mu.Unlock()
	switch row.Outcome {
	case batch.OutcomeSubmitted, batch.OutcomeReplayed:
		w.printf("%-10s  %s as %s", row.SKU, row.Outcome, row.GenerationID)
	case batch.OutcomeSkipped:
		w.printf("%-10s  already tracked (%s%s); not submitted again", row.SKU, row.Status, generationSuffix(row.GenerationID))
	default:
		w.printf("%-10s  %s: %s", row.SKU, row.Outcome, row.Error)
	}
	if row.Key != "" && !w.known[row.Key] {
		w.known[row.Key] = true
		w.keys = append(w.keys, row.Key)
		w.version++
	}
	w.poke()
}

func generationSuffix(id string) string {
	if id == "" {
		return ""
	}
	return ", " + id
}

// submitDone records that Run has finished, putting the rows in manifest
// order for the final table.
func (w *watcher) submitDone(sum *batch.Summary) {
	w.mu.Lock()
	w.keys = w.keys[:0]
	clear(w.known)
	for _, r := range sum.Rows {
		if r.Key != "" && !w.known[r.Key] {
			w.known[r.Key] = true
			w.keys = append(w.keys, r.Key)
		}
		if r.Outcome == batch.OutcomeHeld {
			w.heldKeys[r.Key] = true // submitted announced it with the reason
		}
	}
	w.runDone = true
	w.version++
	w.mu.Unlock()
	w.poke()
}

// note prints a remark about a row.
func (w *watcher) note(sku, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.printf("%-10s  %s", sku, msg)
}

// lost gives up waiting for a row.
func (w *watcher) lost(job jobs.Job, msg string) {
	w.mu.Lock()
	w.lostKeys[job.Key] = true
	w.printf("%-10s  %s", job.SKU, msg)
	w.mu.Unlock()
	w.poke()
}

// isHeld reports whether a budget held the row back.
func (w *watcher) isHeld(key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.heldKeys[key]
}

func (w *watcher) isLost(key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lostKeys[key]
}

// run refreshes the display on every poke, and every half second so that
// nothing is missed, until ctx ends.
func (w *watcher) run(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.pokes:
		case <-t.C:
		}
		w.refresh(ctx)
	}
}

// refresh prints the rows whose state changed and closes settled when
// everything is done.
func (w *watcher) refresh(ctx context.Context) {
	w.mu.Lock()
	version := w.version
	w.mu.Unlock()
	jobList, err := w.snapshot(ctx)
	if err != nil {
		return // the next refresh tries again; ctx has probably ended
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	pending := 0
	for i := range jobList {
		j := &jobList[i]
		line := fmt.Sprintf("%-10s  %-22s  %s", j.SKU, stateText(j), j.BuyerStatus(w.copy))
		if j.FailoverUsed {
			line += " (provider failover)"
		}
		isSettled := settled(j, w.archiving)
		if isSettled && !w.done[j.Key] {
			w.done[j.Key] = true
			line += fmt.Sprintf("  [%d/%d done]", len(w.done), w.total)
		}
		if w.shown[j.Key] != strings.TrimSpace(stripDone(line)) {
			w.shown[j.Key] = strings.TrimSpace(stripDone(line))
			w.printf("%s", line)
		}
		if !isSettled && !w.lostKeys[j.Key] && !w.heldKeys[j.Key] {
			pending++
		}
	}
	if w.runDone && pending == 0 && version == w.version {
		w.closeOnce.Do(func() { close(w.settled) })
	}
}

// stripDone removes the progress count, so that it alone is no change.
func stripDone(line string) string {
	if i := strings.LastIndex(line, "  ["); i >= 0 && strings.HasSuffix(line, " done]") {
		return line[:i]
	}
	return line
}

// snapshot returns the tracked rows as the store has them now.
func (w *watcher) snapshot(ctx context.Context) ([]jobs.Job, error) {
	w.mu.Lock()
	keys := append([]string(nil), w.keys...)
	w.mu.Unlock()
	jobList := make([]jobs.Job, 0, len(keys))
	for _, k := range keys {
		j, err := w.store.Get(ctx, k)
		if errors.Is(err, jobs.ErrNotFound) {
			continue // interrupted before it was tracked
		}
		if err != nil {
			return nil, err
		}
		jobList = append(jobList, j)
	}
	return jobList, nil
}

// tracked is snapshot for callers that only need a best effort.
func (w *watcher) tracked(ctx context.Context) []jobs.Job {
	jobList, _ := w.snapshot(ctx)
	return jobList
}

// stateText is the job's status and, once it has one, its delivery state.
func stateText(j *jobs.Job) string {
	s := cli.StatusText(j)
	if j.Delivery != "" {
		s += " / " + string(j.Delivery)
	}
	return s
}

// settled reports whether a job needs nothing more: its submission or render
// failed, or it completed and its delivery ended; a job with no delivery
// waits for its archive when archiving is on (deliveries archive first).
func settled(j *jobs.Job, archiving bool) bool {
	switch j.Status {
	case jobs.StatusSubmitFailed, jobs.StatusFailed:
		return true
	case jobs.StatusCompleted:
		if j.TargetSurface == "" {
			return !archiving || j.Archived()
		}
		return j.Delivery == jobs.DeliveryDelivered || j.Delivery == jobs.DeliveryFailed
	}
	return false
}
