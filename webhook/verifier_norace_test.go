//go:build !race

// The race detector makes sync.Pool drop items at random, so allocation
// counts are only meaningful without it.

package webhook_test

import (
	"testing"

	"github.com/creativeai-run/catalogvideo/webhook"
)

func TestVerifyDoesNotAllocate(t *testing.T) {
	body := benchBody(2048)
	v := mustVerifier(t, []string{otherSecret, testSecret, testStdSecret}, webhook.WithClock(fixedClock(testNow)))
	for name, h := range map[string]map[string][]string{
		"CreativeAI":        header(webhook.HeaderSignature, webhook.Sign(testSecret, body)),
		"Standard Webhooks": webhook.SignStandard(testStdSecret, "msg_1", testNow, body),
	} {
		if err := v.Verify(h, body); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := testing.AllocsPerRun(100, func() { _ = v.Verify(h, body) }); n != 0 {
			t.Errorf("%s: Verify allocates %v times per call, want 0", name, n)
		}
	}
}
