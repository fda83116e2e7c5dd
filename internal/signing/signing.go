// Package signing holds what a webhook sender and a webhook receiver must
// agree on: how a configured secret becomes an HMAC key, which secrets are
// strong enough to use, and the signed content of both schemes. Package
// webhook verifies with it and the simulator in creativeaitest signs with
// it, so the two cannot drift apart.
package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Header names of the two signature schemes and of the delivery metadata,
// as the senders write them.
const (
	HeaderSignature        = "X-CreativeAI-Signature"
	HeaderEvent            = "X-CreativeAI-Event"
	HeaderDeliveryID       = "X-CreativeAI-Delivery-Id"
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// StandardSecretPrefix marks a Standard Webhooks secret: the base64 key
// follows it.
const StandardSecretPrefix = "whsec_"

// MinKeyBytes is the shortest HMAC key [ParseSecret] accepts. Standard
// Webhooks senders issue keys of 24 to 64 random bytes and RFC 2104 asks for
// keys no shorter than the hash output; 16 bytes (128 bits) is the floor
// below which a key is a guessable password, not a signing secret.
const MinKeyBytes = 16

// ErrInvalidSecret is wrapped by every error of [ParseSecret].
var ErrInvalidSecret = errors.New("invalid signing secret")

// signaturePrefixes are how signature values (not secrets) begin; a secret
// starting with one was copied from a signature header by mistake.
var signaturePrefixes = []struct{ prefix, header string }{
	{"v1,", "webhook-signature"},
	{"v1a,", "webhook-signature"},
	{"sha256=", "X-CreativeAI-Signature"},
}

// Key derives the HMAC key of secret without judging its strength: the
// base64 text after "whsec_" decoded (padded or not), or else the secret's
// bytes as given. It fails only for a "whsec_" secret whose key does not
// decode. Signing helpers use it; receivers use [ParseSecret].
func Key(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, StandardSecretPrefix)
	if !ok {
		return []byte(secret), nil
	}
	if rest == "" {
		return nil, fmt.Errorf(`%w: nothing follows the "whsec_" prefix; copy the whole secret the sender shows`, ErrInvalidSecret)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		// Some dashboards drop the padding.
		key, err = base64.RawStdEncoding.DecodeString(rest)
	}
	if err != nil {
		return nil, fmt.Errorf(`%w: the text after "whsec_" is not valid base64 (%v); copy the whole secret the sender shows, without quotes or line breaks`, ErrInvalidSecret, err)
	}
	return key, nil
}

// ParseSecret returns the HMAC key of a configured secret, refusing one
// that cannot be what the sender signs with:
//
//   - an empty secret, or one of only whitespace;
//   - a secret with whitespace before or after it (a stray newline from a
//     file or a paste): the sender's secret has none;
//   - a secret that starts like a signature value ("v1,", "v1a,",
//     "sha256="), or is its version tag alone ("v1", "v1a", as when such
//     a value is split at its comma): a signature was pasted instead of
//     the secret;
//   - a "whsec_" secret whose key does not decode, or decodes to fewer than
//     [MinKeyBytes] bytes (truncated);
//   - any other secret shorter than [MinKeyBytes] bytes.
//
// Errors wrap [ErrInvalidSecret], say what is wrong and how to fix it, and
// never contain the secret.
func ParseSecret(secret string) ([]byte, error) {
	trimmed := strings.TrimSpace(secret)
	switch {
	case secret == "":
		return nil, fmt.Errorf("%w: empty; set the signing secret the sender shows", ErrInvalidSecret)
	case trimmed == "":
		return nil, fmt.Errorf("%w: only whitespace (%d characters); set the signing secret the sender shows", ErrInvalidSecret, len(secret))
	case trimmed != secret:
		return nil, fmt.Errorf("%w: whitespace before or after it (a line break from a file or a paste?); remove it", ErrInvalidSecret)
	case strings.ContainsFunc(secret, unicode.IsControl):
		return nil, fmt.Errorf("%w: contains control characters; copy the secret again as the sender shows it", ErrInvalidSecret)
	}
	if secret == "v1" || secret == "v1a" {
		// A "v1,<base64>" value split at its comma, as a comma-separated
		// list of secrets does.
		return nil, fmt.Errorf(`%w: %q is the version tag of a webhook-signature value ("v1,<base64>"), not a secret: configure the signing secret itself (a Standard Webhooks secret starts with %q)`,
			ErrInvalidSecret, secret, StandardSecretPrefix)
	}
	for _, p := range signaturePrefixes {
		if strings.HasPrefix(secret, p.prefix) {
			return nil, fmt.Errorf("%w: starts with %q, as a %s value does; that is a signature, not the secret: configure the signing secret itself (a Standard Webhooks secret starts with %q)",
				ErrInvalidSecret, p.prefix, p.header, StandardSecretPrefix)
		}
	}
	key, err := Key(secret)
	if err != nil {
		return nil, err
	}
	if len(key) < MinKeyBytes {
		if strings.HasPrefix(secret, StandardSecretPrefix) {
			return nil, fmt.Errorf(`%w: the key after "whsec_" decodes to %d bytes, fewer than %d; the secret is truncated: copy the whole secret the sender shows`, ErrInvalidSecret, len(key), MinKeyBytes)
		}
		return nil, fmt.Errorf("%w: %d bytes long, fewer than %d, so it could be guessed; use the secret the sender generated (or the API key, which the service signs with by default)", ErrInvalidSecret, len(key), MinKeyBytes)
	}
	return key, nil
}

// CreativeAI returns the X-CreativeAI-Signature value for body,
// "sha256=<hex of HMAC-SHA256(key, body)>".
func CreativeAI(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Standard returns the webhook-signature value for a Standard Webhooks
// message: "v1," and the base64 HMAC-SHA256 of "id.timestamp.body", with
// timestamp in Unix seconds.
func Standard(key []byte, id string, unix int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(AppendStandardPrefix(nil, id, strconv.FormatInt(unix, 10)))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// AppendStandardPrefix appends the part of the Standard Webhooks signed
// content that precedes the body, "id.timestamp.", to dst.
func AppendStandardPrefix(dst []byte, id, ts string) []byte {
	dst = append(dst, id...)
	dst = append(dst, '.')
	dst = append(dst, ts...)
	return append(dst, '.')
}
