package signing

import (
	"errors"
	"strings"
	"testing"
)

// Reference vectors computed by other implementations: RFC 4231 test case 2
// for the CreativeAI form, and the Standard Webhooks specification's own
// example for the Standard form.
func TestSignatureVectors(t *testing.T) {
	if got, want := CreativeAI([]byte("Jefe"), []byte("what do ya want for nothing?")),
		"sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"; got != want {
		t.Errorf("CreativeAI = %s, want %s", got, want)
	}
	key, err := ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Standard(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`)),
		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Standard = %s, want %s", got, want)
	}
}

// Key derives without judging; ParseSecret judges the same derivation.
func TestKeyAndParseSecretAgree(t *testing.T) {
	for _, s := range []string{"Jefe", "whsec_YWJj", "rph_live_test_signing_secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"} {
		k, err := Key(s)
		if err != nil {
			t.Fatalf("Key(%q): %v", s, err)
		}
		p, perr := ParseSecret(s)
		if perr == nil && string(p) != string(k) {
			t.Errorf("ParseSecret(%q) and Key disagree", s)
		}
		if (perr == nil) != (len(k) >= MinKeyBytes) {
			t.Errorf("ParseSecret(%q) = %v for a %d-byte key", s, perr, len(k))
		}
	}
	for _, s := range []string{"whsec_", "whsec_***"} {
		if _, err := Key(s); !errors.Is(err, ErrInvalidSecret) || !strings.Contains(err.Error(), "whsec_") {
			t.Errorf("Key(%q) = %v, want an ErrInvalidSecret naming the prefix", s, err)
		}
	}
}
