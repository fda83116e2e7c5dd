package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/webhook"
)

// DefaultWebhookPath is where the programs mount the webhook handler.
const DefaultWebhookPath = "/webhooks/creativeai"

// ApplyEvents returns the event handler that makes each verified event
// durable in store. The webhook package answers 2xx only after it returns
// nil, and the store returns only once the update is durable, so an
// acknowledged update is never lost. onApply, if not nil, is called after
// each event with what the store did, for progress displays.
func ApplyEvents(store jobs.Store, onApply func(jobs.ApplyResult)) webhook.EventHandler {
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

// NewReceiver returns the webhook handler of the programs: signatures checked
// against secrets (several during a rotation), events applied to store.
func NewReceiver(store jobs.Store, secrets []string, logger *slog.Logger, onApply func(jobs.ApplyResult)) (http.Handler, error) {
	v, err := webhook.NewVerifier(secrets)
	if err != nil {
		return nil, fmt.Errorf("webhook secrets: %w", err)
	}
	// Dedup only saves store writes for the sender's repeats; the store's
	// Apply is idempotent on its own.
	h, err := webhook.NewHandler(v, ApplyEvents(store, onApply),
		webhook.WithLogger(logger), webhook.WithDedup(4096))
	if err != nil {
		return nil, err
	}
	return h, nil
}
