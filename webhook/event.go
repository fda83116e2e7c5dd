package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// ErrInvalidPayload means a delivery's body is not a usable event: not a
// JSON object, or without an id or a status. The handler answers it with 400.
// (A job store's refusal of an event is another error, batch.ErrInvalidEvent.)
// Its text is unchanged from when it was named ErrInvalidEvent, since it
// appears in 400 answers.
var ErrInvalidPayload = errors.New("webhook: invalid event")

// ErrInvalidEvent is the former name of [ErrInvalidPayload]; it is the same
// error value, so errors.Is matches either.
//
// Deprecated: use [ErrInvalidPayload]; ErrInvalidEvent will be removed in
// the next release.
var ErrInvalidEvent = ErrInvalidPayload

// Event is one render update delivered by webhook: the generation as the
// service reports it, plus the delivery's metadata from the headers.
//
// The generation decodes as [creativeai.Generation] does: unknown fields are
// ignored, duration and timestamps are accepted in each form the service
// uses, and a status this SDK does not know is kept as it came.
type Event struct {
	creativeai.Generation

	// Type is the X-CreativeAI-Event header, such as
	// "video.generation.completed", or the "type" of a Standard Webhooks
	// envelope; it may be empty. Decide on Status, not on Type.
	Type string `json:"-"`
	// DeliveryID is the X-CreativeAI-Delivery-Id header or, failing that,
	// the Standard Webhooks webhook-id. Retries of a delivery repeat it; it
	// may be empty.
	DeliveryID string `json:"-"`
}

// ParseEvent decodes a webhook body and its delivery headers. It does not
// check the signature: call it on a body a [Verifier] accepted.
//
// The body is a generation object. A Standard Webhooks envelope,
// {"type": …, "data": {generation}}, is accepted too. The error wraps
// [ErrInvalidPayload] when the body is not JSON or lacks "id" or "status".
func ParseEvent(body []byte, h http.Header) (*Event, error) {
	e := &Event{
		Type:       firstValue(h, canonEvent),
		DeliveryID: firstValue(h, canonDeliveryID),
	}
	if e.DeliveryID == "" {
		e.DeliveryID = firstValue(h, canonWebhookID)
	}
	if err := json.Unmarshal(body, &e.Generation); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPayload, err)
	}
	if e.ID == "" && e.Status == "" {
		if env, ok := decodeEnvelope(body); ok {
			e.Generation = env.Data
			if e.Type == "" {
				e.Type = env.Type
			}
		}
	}
	switch {
	case e.ID == "" && e.Status == "":
		return nil, fmt.Errorf(`%w: no "id" and no "status"`, ErrInvalidPayload)
	case e.ID == "":
		return nil, fmt.Errorf(`%w: no "id"`, ErrInvalidPayload)
	case e.Status == "":
		return nil, fmt.Errorf(`%w: generation %q has no "status"`, ErrInvalidPayload, e.ID)
	}
	return e, nil
}

// envelope is the Standard Webhooks payload shape.
type envelope struct {
	Type string                `json:"type"`
	Data creativeai.Generation `json:"data"`
}

// decodeEnvelope reads body as a Standard Webhooks envelope. It is tried
// only when the body is not a generation, so the common path decodes once.
func decodeEnvelope(body []byte) (envelope, bool) {
	var env envelope
	if !bytes.Contains(body, []byte(`"data"`)) || json.Unmarshal(body, &env) != nil {
		return envelope{}, false
	}
	return env, env.Data.ID != "" || env.Data.Status != ""
}
