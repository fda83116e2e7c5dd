package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/internal/signing"
)

// Sign returns the CreativeAI signature header value for body,
// "sha256=<hex>", as the sender computes it. The key is derived from secret
// as [NewVerifier] derives it: the decoded key of a "whsec_" secret, or else
// the secret's bytes (also when the text after "whsec_" is not base64). Sign
// does not judge the secret's strength, so it can sign with a secret
// NewVerifier refuses, for tests that a receiver refuses it.
//
// Sign exists so users can test their own receivers; a receiver verifies
// with a [Verifier].
func Sign(secret string, body []byte) string {
	return signing.CreativeAI(signingKey(secret), body)
}

// SignStandard returns the Standard Webhooks headers (webhook-id,
// webhook-timestamp, webhook-signature) for a message id, its send time and
// body. Give secret as "whsec_<base64>" to sign like a Standard Webhooks
// sender; the key is derived as in [Sign].
func SignStandard(secret, id string, ts time.Time, body []byte) http.Header {
	h := make(http.Header, 3)
	h.Set(HeaderWebhookID, id)
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderWebhookSignature, signing.Standard(signingKey(secret), id, ts.Unix(), body))
	return h
}

// TestPayload describes a webhook delivery to build with
// [GenerateTestSignedPayload], for tests of a receiver.
type TestPayload struct {
	// Generation is the event body. An empty Object becomes
	// "video.generation", as the service sends it.
	Generation creativeai.Generation
	// Type is the X-CreativeAI-Event header; empty means
	// "video.generation.<status>".
	Type string
	// DeliveryID is the X-CreativeAI-Delivery-Id header (and the
	// webhook-id of a Standard Webhooks delivery); empty means a random id.
	DeliveryID string
	// Secret signs the delivery; it is required and must be a secret
	// [NewVerifier] accepts.
	Secret string
	// Scheme selects the signature headers; empty means [SchemeCreativeAI].
	Scheme Scheme
	// Timestamp is the Standard Webhooks send time; zero means now.
	Timestamp time.Time
}

// SignedPayload is a signed webhook delivery: the raw body and the headers
// a sender attaches to it.
type SignedPayload struct {
	// Body is the raw JSON body, exactly the bytes that were signed.
	Body []byte
	// Header holds the signature, delivery and Content-Type headers.
	Header http.Header
}

// GenerateTestSignedPayload encodes p.Generation and signs it as the sender
// would, so tests can drive a receiver with realistic deliveries. It
// reports an error for a nil payload, an unknown scheme, or a secret
// [NewVerifier] would refuse (wrapping [ErrInvalidSecret]).
func GenerateTestSignedPayload(p *TestPayload) (*SignedPayload, error) {
	if p == nil {
		return nil, errors.New("webhook: GenerateTestSignedPayload: nil payload")
	}
	if _, err := signing.ParseSecret(p.Secret); err != nil {
		return nil, fmt.Errorf("webhook: GenerateTestSignedPayload: secret: %w", err)
	}
	g := p.Generation
	if g.Object == "" {
		g.Object = "video.generation"
	}
	body, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("webhook: GenerateTestSignedPayload: encoding the generation: %w", err)
	}
	id := p.DeliveryID
	if id == "" {
		id = "dlv_" + rand.Text()
	}
	typ := p.Type
	if typ == "" && g.Status != "" {
		typ = "video.generation." + string(g.Status)
	}

	var h http.Header
	switch p.Scheme {
	case "", SchemeCreativeAI:
		h = make(http.Header, 4)
		h.Set(HeaderSignature, Sign(p.Secret, body))
	case SchemeStandard:
		ts := p.Timestamp
		if ts.IsZero() {
			ts = time.Now()
		}
		h = SignStandard(p.Secret, id, ts, body)
	default:
		return nil, fmt.Errorf("webhook: GenerateTestSignedPayload: unknown scheme %q", p.Scheme)
	}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderDeliveryID, id)
	if typ != "" {
		h.Set(HeaderEvent, typ)
	}
	return &SignedPayload{Body: body, Header: h}, nil
}

// NewRequest returns a POST request to url carrying the payload, ready for
// an [http.Client] or, with a path such as "/webhooks", for a handler's
// ServeHTTP. Each call returns a request with its own body and headers.
func (p *SignedPayload) NewRequest(ctx context.Context, url string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(p.Body))
	if err != nil {
		return nil, err
	}
	req.Header = p.Header.Clone()
	return req, nil
}
