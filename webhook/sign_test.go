package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/webhook"
)

// RFC 4231, test case 2: an HMAC-SHA256 computed by another implementation.
func TestSignRFC4231(t *testing.T) {
	got := webhook.Sign("Jefe", []byte("what do ya want for nothing?"))
	const want = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestGenerateTestSignedPayload(t *testing.T) {
	g := creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusCompleted, OutputURL: "https://cdn.example.com/v.mp4", Duration: 5}
	for _, scheme := range []webhook.Scheme{"", webhook.SchemeCreativeAI, webhook.SchemeStandard} {
		t.Run(string(scheme), func(t *testing.T) {
			secret := testSecret
			if scheme == webhook.SchemeStandard {
				secret = testStdSecret
			}
			p, err := webhook.GenerateTestSignedPayload(&webhook.TestPayload{Generation: g, Secret: secret, Scheme: scheme, Timestamp: testNow})
			if err != nil {
				t.Fatal(err)
			}
			v := mustVerifier(t, []string{secret}, webhook.WithClock(fixedClock(testNow)))
			if err := v.Verify(p.Header, p.Body); err != nil {
				t.Fatalf("Verify(generated payload) = %v", err)
			}
			if ct := p.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			e, err := webhook.ParseEvent(p.Body, p.Header)
			if err != nil {
				t.Fatal(err)
			}
			want := g
			want.Object = "video.generation"
			if diff := cmp.Diff(want, e.Generation); diff != "" {
				t.Errorf("decoded generation (-want +got):\n%s", diff)
			}
			if e.Type != "video.generation.completed" {
				t.Errorf("Type = %q, want video.generation.completed", e.Type)
			}
			if !strings.HasPrefix(e.DeliveryID, "dlv_") {
				t.Errorf("DeliveryID = %q, want a random dlv_ id", e.DeliveryID)
			}
			if scheme == webhook.SchemeStandard {
				if got := p.Header.Get(webhook.HeaderWebhookTimestamp); got != strconv.FormatInt(testNow.Unix(), 10) {
					t.Errorf("webhook-timestamp = %s", got)
				}
				if p.Header.Get(webhook.HeaderWebhookID) != e.DeliveryID {
					t.Errorf("webhook-id %q differs from the delivery id %q", p.Header.Get(webhook.HeaderWebhookID), e.DeliveryID)
				}
			}
		})
	}

	t.Run("ids are random unless given", func(t *testing.T) {
		a, _ := webhook.GenerateTestSignedPayload(&webhook.TestPayload{Generation: g, Secret: testSecret})
		b, _ := webhook.GenerateTestSignedPayload(&webhook.TestPayload{Generation: g, Secret: testSecret})
		if a.Header.Get(webhook.HeaderDeliveryID) == b.Header.Get(webhook.HeaderDeliveryID) {
			t.Error("two payloads share a delivery id")
		}
		c, _ := webhook.GenerateTestSignedPayload(&webhook.TestPayload{Generation: g, Secret: testSecret, DeliveryID: "dlv_fixed", Type: "custom"})
		if c.Header.Get(webhook.HeaderDeliveryID) != "dlv_fixed" || c.Header.Get(webhook.HeaderEvent) != "custom" {
			t.Errorf("given id and type not used: %v", c.Header)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for name, p := range map[string]*webhook.TestPayload{
			"nil payload":    nil,
			"no secret":      {Generation: g},
			"bad whsec":      {Generation: g, Secret: "whsec_***"},
			"short secret":   {Generation: g, Secret: "Jefe"},
			"signature":      {Generation: g, Secret: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
			"unknown scheme": {Generation: g, Secret: testSecret, Scheme: "svix"},
		} {
			if _, err := webhook.GenerateTestSignedPayload(p); err == nil {
				t.Errorf("%s: no error", name)
			}
		}
	})
}

func TestSignedPayloadNewRequest(t *testing.T) {
	p, err := webhook.GenerateTestSignedPayload(&webhook.TestPayload{
		Generation: creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusCompleted}, Secret: testSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	req, err := p.NewRequest(context.Background(), "http://127.0.0.1:1/hooks")
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost || req.URL.Path != "/hooks" || req.ContentLength != int64(len(p.Body)) {
		t.Errorf("request = %s %s (length %d)", req.Method, req.URL, req.ContentLength)
	}
	body, _ := io.ReadAll(req.Body)
	if string(body) != string(p.Body) {
		t.Errorf("request body = %q, want %q", body, p.Body)
	}
	req.Header.Set(webhook.HeaderSignature, "changed")
	if p.Header.Get(webhook.HeaderSignature) == "changed" {
		t.Error("the request shares its header map with the payload")
	}
	if _, err := p.NewRequest(context.Background(), "://bad"); err == nil {
		t.Error("NewRequest accepted a malformed URL")
	}
}

// A secret NewVerifier would reject still signs, so a test helper never
// fails silently with an empty signature: a "whsec_" secret that does not
// decode with its bytes as the key, a weak one with its key as derived.
func TestSignWithUnusableSecret(t *testing.T) {
	for _, tt := range []struct{ secret, key string }{
		{"whsec_not*base64", "whsec_not*base64"},
		{"Jefe", "Jefe"},
		{"whsec_" + base64.StdEncoding.EncodeToString([]byte("short")), "short"},
	} {
		if _, err := webhook.NewVerifier([]string{tt.secret}); err == nil {
			t.Errorf("NewVerifier accepted %q", tt.secret)
		}
		if got, want := webhook.Sign(tt.secret, testBody), referenceHex(tt.key, testBody); got != want {
			t.Errorf("Sign(%q) = %s, want %s", tt.secret, got, want)
		}
	}
}

func referenceHex(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
