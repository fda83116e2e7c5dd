// Package webhookjobs connects webhook.Handler to a job store: each verified
// render event is applied to the store (jobs.Store.Apply) before the handler
// answers 2xx, so an acknowledged update is never lost.
//
// It is the one place that knows both packages: webhook imports nothing of
// batch, and nothing under batch imports webhook, so a partner that only
// verifies signatures carries no job store, and a store carries no HTTP.
//
//	v, err := webhook.NewVerifier(secrets)
//	…
//	h, err := webhook.NewHandler(v, webhookjobs.EventHandler(store, nil))
//	…
//	mux.Handle("POST /webhooks/creativeai", h)
package webhookjobs

import (
	"context"
	"fmt"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/webhook"
)

// EventHandler returns the event handler that makes each verified event
// durable in store. The webhook handler answers 2xx only after it returns
// nil, and the store returns only once the update is durable. Statuses only
// move forward and duplicates change nothing (the store's state machine),
// so the sender's retries and reordering are harmless; an event for a
// generation no job has yet is kept and applied when the job records it.
//
// onApply, if not nil, is called after each event with what the store did,
// for progress displays and metrics. A store error is returned wrapped with
// the generation id and status, and the webhook handler answers 503 so the
// sender retries.
func EventHandler(store jobs.Store, onApply func(jobs.ApplyResult)) webhook.EventHandler {
	return webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event) error {
		res, err := store.Apply(ctx, e.Generation)
		if err != nil {
			return fmt.Errorf("apply %s (%s): %w", e.ID, e.Status, err)
		}
		if onApply != nil {
			onApply(res)
		}
		return nil
	})
}
