package cli

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/webhook/webhookjobs"

	"github.com/creativeai-run/catalogvideo/webhook"
)

// DefaultWebhookPath is where the programs mount the webhook handler.
const DefaultWebhookPath = "/webhooks/creativeai"

// NewReceiver returns the webhook handler of the programs: signatures checked
// against secrets (several during a rotation), events applied to store.
// opts are added to the handler's own, such as webhook.WithObserver.
func NewReceiver(store jobs.Store, secrets []string, logger *slog.Logger, onApply func(jobs.ApplyResult), opts ...webhook.HandlerOption) (http.Handler, error) {
	v, err := webhook.NewVerifier(secrets)
	if err != nil {
		return nil, fmt.Errorf("webhook secrets: %w", err)
	}
	// Dedup only saves store writes for the sender's repeats; the store's
	// Apply is idempotent on its own.
	h, err := webhook.NewHandler(v, webhookjobs.EventHandler(store, onApply),
		append([]webhook.HandlerOption{webhook.WithLogger(logger), webhook.WithDedup(4096)}, opts...)...)
	if err != nil {
		return nil, err
	}
	return h, nil
}
