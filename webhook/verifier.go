package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/creativeai-run/catalogvideo/internal/signing"
)

// Header names of the two signature schemes and of the delivery metadata.
// They are written as the senders document them; [http.Header] lookups are
// case-insensitive.
const (
	// HeaderSignature carries the CreativeAI signature, "sha256=<hex>".
	HeaderSignature = signing.HeaderSignature
	// HeaderEvent names the event type, such as "video.generation.completed".
	HeaderEvent = signing.HeaderEvent
	// HeaderDeliveryID identifies one delivery; retries of it repeat the id.
	HeaderDeliveryID = signing.HeaderDeliveryID

	// HeaderWebhookID is the Standard Webhooks message id.
	HeaderWebhookID = signing.HeaderWebhookID
	// HeaderWebhookTimestamp is the Standard Webhooks send time in Unix seconds.
	HeaderWebhookTimestamp = signing.HeaderWebhookTimestamp
	// HeaderWebhookSignature is the Standard Webhooks signature list,
	// space-separated "v1,<base64>" entries.
	HeaderWebhookSignature = signing.HeaderWebhookSignature
)

// Canonical forms of the header names, so lookups index the map directly
// instead of canonicalising the key on every request.
var (
	canonSignature        = http.CanonicalHeaderKey(HeaderSignature)
	canonEvent            = http.CanonicalHeaderKey(HeaderEvent)
	canonDeliveryID       = http.CanonicalHeaderKey(HeaderDeliveryID)
	canonWebhookID        = http.CanonicalHeaderKey(HeaderWebhookID)
	canonWebhookTimestamp = http.CanonicalHeaderKey(HeaderWebhookTimestamp)
	canonWebhookSignature = http.CanonicalHeaderKey(HeaderWebhookSignature)
)

// DefaultTolerance is how far a Standard Webhooks timestamp may lie from the
// verifier's clock, in either direction, unless [WithTolerance] says otherwise.
const DefaultTolerance = 5 * time.Minute

// maxSignatures bounds the values examined in one signature header, so a
// request cannot make the verifier do unbounded work. Senders list one value
// per active secret; during a rotation that is two.
const maxSignatures = 32

// MinSecretBytes is the shortest signing key [NewVerifier] accepts, in
// bytes: of the secret as given, or of the key a "whsec_" secret decodes to.
// Shorter keys are refused, not warned about: a receiver keyed with a
// guessable secret accepts forged deliveries, and senders issue 24 bytes or
// more.
const MinSecretBytes = signing.MinKeyBytes

// Errors returned by [Verifier.Verify], wrapped with detail; test for them
// with [errors.Is]. None of them ever contains a secret or an expected
// signature.
var (
	// ErrMissingSignature means the request carries no signature header.
	ErrMissingSignature = errors.New("webhook: missing signature")
	// ErrMalformedSignature means a signature header is present but cannot
	// be used: no value of a known form, or an incomplete Standard Webhooks
	// header set.
	ErrMalformedSignature = errors.New("webhook: malformed signature")
	// ErrNoMatchingSignature means no signature value matches any
	// configured secret: a forged or altered request, or a secret that is
	// not configured.
	ErrNoMatchingSignature = errors.New("webhook: no signature matches a configured secret")
	// ErrTimestampTooOld means a Standard Webhooks timestamp is further in
	// the past than the tolerance: possibly a replay.
	ErrTimestampTooOld = errors.New("webhook: timestamp too old")
	// ErrTimestampTooNew means a Standard Webhooks timestamp is further in
	// the future than the tolerance.
	ErrTimestampTooNew = errors.New("webhook: timestamp too new")
)

// ErrInvalidSecret is wrapped by the error [NewVerifier] (and
// [GenerateTestSignedPayload]) returns for a secret it refuses; see
// [NewVerifier] for the rules.
var ErrInvalidSecret = signing.ErrInvalidSecret

// Scheme names a signature scheme a [Verifier] accepts.
type Scheme string

const (
	// SchemeCreativeAI is the CreativeAI scheme: header
	// X-CreativeAI-Signature "sha256=<hex>", an HMAC-SHA256 of the raw
	// body. It signs no timestamp, so it cannot stop a replay.
	SchemeCreativeAI Scheme = "creativeai"
	// SchemeStandard is Standard Webhooks (standardwebhooks.com): headers
	// webhook-id, webhook-timestamp and webhook-signature, an HMAC-SHA256
	// of "id.timestamp.body" with a timestamp tolerance.
	SchemeStandard Scheme = "standard-webhooks"
)

// Verifier checks that a webhook request was signed with one of its secrets.
// It is safe for concurrent use.
//
// # Secrets and schemes
//
// One list of secrets serves both schemes. Each secret becomes one HMAC
// key: a secret that starts with "whsec_" is a Standard Webhooks secret and
// its key is the base64 text after the prefix, decoded; any other secret is
// used as its bytes, as given (the CreativeAI scheme keys the HMAC with the
// webhook secret or API key itself). A request is checked against every key,
// whichever scheme it uses, so configure a Standard Webhooks secret with its
// "whsec_" prefix exactly as the sender shows it.
//
// Several secrets are for rotation: configure the new secret next to the old
// one, switch the sender, then remove the old one. Requests signed with
// either are accepted meanwhile.
//
// A request that carries any Standard Webhooks header is verified by that
// scheme only, so a stale timestamp cannot be bypassed by adding a
// CreativeAI signature. Because the CreativeAI scheme signs no timestamp,
// a receiver that must refuse replays should accept only [SchemeStandard]
// (see [WithSchemes]) or deduplicate deliveries downstream.
type Verifier struct {
	keys      [][]byte
	tolerance time.Duration
	clock     Clock
	creative  bool
	standard  bool

	// scratch recycles HMAC states and decode buffers; Verify allocates
	// nothing on its success path.
	scratch sync.Pool
}

// verifierConfig collects the options of [NewVerifier].
type verifierConfig struct {
	tolerance time.Duration
	clock     Clock
	schemes   []Scheme
}

// VerifierOption configures a [Verifier].
type VerifierOption func(*verifierConfig) error

// WithTolerance sets how far a Standard Webhooks timestamp may lie before
// or after the verifier's clock (default [DefaultTolerance]). A timestamp
// exactly at the tolerance is accepted. d must be positive.
func WithTolerance(d time.Duration) VerifierOption {
	return func(c *verifierConfig) error {
		if d <= 0 {
			return fmt.Errorf("webhook: WithTolerance: tolerance must be positive, got %s", d)
		}
		c.tolerance = d
		return nil
	}
}

// Clock tells the time; [time.Now] is read through it so that tests can
// inject one.
type Clock interface{ Now() time.Time }

// ClockFunc adapts a function such as time.Now to [Clock]. Before [Clock],
// WithClock took the function itself; wrap such a function in ClockFunc.
type ClockFunc func() time.Time

// Now returns f().
func (f ClockFunc) Now() time.Time { return f() }

// systemClock is the default [Clock].
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// WithClock sets the clock that Standard Webhooks timestamps are checked
// against (default: the system clock); tests inject a fixed time. A nil
// clock is refused.
func WithClock(c Clock) VerifierOption {
	return func(cfg *verifierConfig) error {
		if c == nil {
			return errors.New("webhook: WithClock: nil Clock")
		}
		cfg.clock = c
		return nil
	}
}

// WithSchemes restricts the schemes the verifier accepts (default: both). A
// receiver that needs replay protection accepts only [SchemeStandard].
func WithSchemes(schemes ...Scheme) VerifierOption {
	return func(c *verifierConfig) error {
		if len(schemes) == 0 {
			return errors.New("webhook: WithSchemes: no scheme given")
		}
		for _, s := range schemes {
			if s != SchemeCreativeAI && s != SchemeStandard {
				return fmt.Errorf("webhook: WithSchemes: unknown scheme %q (want %q or %q)", s, SchemeCreativeAI, SchemeStandard)
			}
		}
		c.schemes = schemes
		return nil
	}
}

// NewVerifier returns a verifier that accepts requests signed with any of
// secrets. It reports an error for an invalid option (a nil option is
// skipped), when no secret is given, and for the first secret that cannot
// be what a sender signs with, wrapping [ErrInvalidSecret]:
//
//   - an empty secret, one of only whitespace, or one with whitespace before
//     or after it (a line break from a file or a paste), or with control
//     characters;
//   - a secret that starts like a signature value, "v1,", "v1a," or
//     "sha256=", or is only its version tag, "v1" or "v1a" (a "v1,<base64>"
//     value split at its comma): a signature was pasted instead of the
//     secret;
//   - a "whsec_" secret whose key is not base64, or decodes to fewer than
//     [MinSecretBytes] bytes (a truncated secret);
//   - any other secret shorter than [MinSecretBytes] bytes.
//
// Weak secrets are refused rather than warned about. Errors name the secret
// by its index in secrets, say what is wrong and how to fix it, and never
// contain the secret.
func NewVerifier(secrets []string, opts ...VerifierOption) (*Verifier, error) {
	cfg := verifierConfig{
		tolerance: DefaultTolerance,
		clock:     systemClock{},
		schemes:   []Scheme{SchemeCreativeAI, SchemeStandard},
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if len(secrets) == 0 {
		return nil, errors.New("webhook: NewVerifier: no secrets given")
	}
	v := &Verifier{tolerance: cfg.tolerance, clock: cfg.clock}
	for _, s := range cfg.schemes {
		v.creative = v.creative || s == SchemeCreativeAI
		v.standard = v.standard || s == SchemeStandard
	}
	seen := make(map[string]bool, len(secrets))
	for i, s := range secrets {
		key, err := signing.ParseSecret(s)
		if err != nil {
			return nil, fmt.Errorf("webhook: NewVerifier: secret %d of %d: %w", i+1, len(secrets), err)
		}
		// A repeated key would only repeat work.
		if !seen[string(key)] {
			seen[string(key)] = true
			v.keys = append(v.keys, key)
		}
	}
	n := len(v.keys)
	v.scratch.New = func() any {
		s := &scratch{macs: make([]hash.Hash, n)}
		for i, k := range v.keys {
			s.macs[i] = hmac.New(sha256.New, k)
		}
		return s
	}
	return v, nil
}

// signingKey derives the HMAC key of secret for the signing helpers, which
// cannot return an error and sign with weak secrets too: the decoded key of
// a "whsec_" secret, or else the secret's bytes.
func signingKey(secret string) []byte {
	if key, err := signing.Key(secret); err == nil {
		return key
	}
	return []byte(secret)
}

// scratch is the per-call working state of Verify, recycled through a pool.
type scratch struct {
	macs    []hash.Hash // one per key, in key order
	sum     [sha256.Size]byte
	sigs    [maxSignatures][sha256.Size]byte // received signatures, decoded
	content []byte                           // "id.timestamp." for Standard Webhooks
}

// Verify reports whether h and the raw body carry a valid signature from
// one of the verifier's secrets. It returns nil, or an error wrapping one of
// [ErrMissingSignature], [ErrMalformedSignature], [ErrNoMatchingSignature],
// [ErrTimestampTooOld] and [ErrTimestampTooNew].
//
// body must be the bytes exactly as received: a body decoded and encoded
// again (other spacing, other key order) no longer matches its signature.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	_, err := v.verify(h, body)
	return err
}

// verify is Verify that also reports the scheme the request was checked by.
func (v *Verifier) verify(h http.Header, body []byte) (Scheme, error) {
	if v.standard && hasStandardHeaders(h) {
		return SchemeStandard, v.verifyStandard(h, body)
	}
	if v.creative {
		if vals := h[canonSignature]; len(vals) > 0 {
			return SchemeCreativeAI, v.verifyCreativeAI(vals, body)
		}
	}
	switch {
	case v.creative && v.standard:
		return "", fmt.Errorf("%w: neither %s nor %s header present", ErrMissingSignature, HeaderSignature, HeaderWebhookSignature)
	case v.creative:
		return "", fmt.Errorf("%w: %s header not present", ErrMissingSignature, HeaderSignature)
	default:
		return "", fmt.Errorf("%w: %s header not present (only Standard Webhooks signatures are accepted)", ErrMissingSignature, HeaderWebhookSignature)
	}
}

// hasStandardHeaders reports whether the request uses Standard Webhooks: any
// one of its headers present selects the scheme.
func hasStandardHeaders(h http.Header) bool {
	return len(h[canonWebhookSignature]) > 0 || len(h[canonWebhookID]) > 0 || len(h[canonWebhookTimestamp]) > 0
}

func (v *Verifier) verifyCreativeAI(vals []string, body []byte) error {
	s := v.scratch.Get().(*scratch)
	defer v.scratch.Put(s)

	// Values are "sha256=<hex>", several separated by commas or spaces,
	// possibly over several header lines.
	seen, n, err := s.collect(HeaderSignature, vals, isCreativeAISeparator, decodeHexEntry)
	if err != nil {
		return err
	}
	if seen == 0 {
		return fmt.Errorf("%w: %s header is empty", ErrMissingSignature, HeaderSignature)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s has no sha256=<64 hex digits> value", ErrMalformedSignature, HeaderSignature)
	}
	for _, mac := range s.macs {
		mac.Reset()
		mac.Write(body)
		if s.match(mac, n) {
			return nil
		}
	}
	return noMatch(HeaderSignature, n)
}

func (v *Verifier) verifyStandard(h http.Header, body []byte) error {
	sigVals := h[canonWebhookSignature]
	id := firstValue(h, canonWebhookID)
	ts := firstValue(h, canonWebhookTimestamp)

	s := v.scratch.Get().(*scratch)
	defer v.scratch.Put(s)

	// Entries are "v1,<base64>" separated by spaces.
	seen, n, err := s.collect(HeaderWebhookSignature, sigVals, isStandardSeparator, decodeStandardEntry)
	if err != nil {
		return err
	}
	if seen == 0 {
		return fmt.Errorf("%w: %s header not present or empty", ErrMissingSignature, HeaderWebhookSignature)
	}
	if id == "" {
		return fmt.Errorf("%w: %s header not present or empty", ErrMalformedSignature, HeaderWebhookID)
	}
	sent, err := parseUnixSeconds(ts)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformedSignature, HeaderWebhookTimestamp, err)
	}
	// The timestamp is checked before any HMAC so that stale replays cost
	// nothing; it is part of the signed content, so it cannot be altered.
	now := v.clock.Now()
	if age := now.Sub(sent); age > v.tolerance {
		return fmt.Errorf("%w: %s %s is %s before now, beyond the %s tolerance", ErrTimestampTooOld, HeaderWebhookTimestamp, ts, age.Round(time.Second), v.tolerance)
	}
	if ahead := sent.Sub(now); ahead > v.tolerance {
		return fmt.Errorf("%w: %s %s is %s after now, beyond the %s tolerance", ErrTimestampTooNew, HeaderWebhookTimestamp, ts, ahead.Round(time.Second), v.tolerance)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s has no v1,<base64 HMAC-SHA256> entry", ErrMalformedSignature, HeaderWebhookSignature)
	}
	s.content = signing.AppendStandardPrefix(s.content[:0], id, ts)
	for _, mac := range s.macs {
		mac.Reset()
		mac.Write(s.content)
		mac.Write(body)
		if s.match(mac, n) {
			return nil
		}
	}
	return noMatch(HeaderWebhookSignature, n)
}

// collect splits the values of a signature header into entries and decodes
// into s.sigs those that decode accepts. Entries it refuses (another
// algorithm or version, such as the asymmetric "v1a") are skipped, so a
// sender may add one without breaking receivers. It returns how many entries
// there were and how many were decoded, and an error past maxSignatures
// entries, which bounds the work an unauthenticated request can cause.
func (s *scratch) collect(header string, vals []string, sep func(byte) bool, decode func(dst *[sha256.Size]byte, entry string) bool) (seen, n int, err error) {
	for _, val := range vals {
		for rest := val; ; {
			var tok string
			tok, rest = nextToken(rest, sep)
			if tok == "" {
				break
			}
			if seen++; seen > maxSignatures {
				return seen, n, fmt.Errorf("%w: %s has more than %d entries", ErrMalformedSignature, header, maxSignatures)
			}
			if decode(&s.sigs[n], tok) {
				n++
			}
		}
	}
	return seen, n, nil
}

// decodeHexEntry decodes a CreativeAI entry, "sha256=<64 hex digits>".
func decodeHexEntry(dst *[sha256.Size]byte, entry string) bool {
	alg, digest, ok := strings.Cut(entry, "=")
	if !ok || !strings.EqualFold(alg, "sha256") || len(digest) != hex.EncodedLen(sha256.Size) {
		return false
	}
	_, err := hex.Decode(dst[:], []byte(digest))
	return err == nil
}

// decodeStandardEntry decodes a Standard Webhooks entry, "v1,<base64>".
func decodeStandardEntry(dst *[sha256.Size]byte, entry string) bool {
	version, sig, ok := strings.Cut(entry, ",")
	return ok && version == "v1" && decodeBase64Sum(dst, sig)
}

// match reports whether one of the first n received signatures equals the
// sum of mac, comparing in constant time. Keys are tried one after another
// and the first match ends the search: the timing then tells which of the
// configured secrets matched, which is no secret.
func (s *scratch) match(mac hash.Hash, n int) bool {
	sum := mac.Sum(s.sum[:0])
	for i := range n {
		if hmac.Equal(s.sigs[i][:], sum) {
			return true
		}
	}
	return false
}

func noMatch(header string, n int) error {
	return fmt.Errorf("%w (%s: %d value(s) checked against each configured secret)", ErrNoMatchingSignature, header, n)
}

// Strict decoding refuses non-zero trailing bits, so exactly one text
// stands for each signature.
var (
	strictBase64    = base64.StdEncoding.Strict()
	strictRawBase64 = base64.RawStdEncoding.Strict()
)

// decodeBase64Sum decodes a base64 HMAC-SHA256, padded or not, into dst.
func decodeBase64Sum(dst *[sha256.Size]byte, s string) bool {
	var buf [sha256.Size + 1]byte // DecodedLen of the padded form
	var n int
	var err error
	switch len(s) {
	case strictBase64.EncodedLen(sha256.Size):
		n, err = strictBase64.Decode(buf[:], []byte(s))
	case strictRawBase64.EncodedLen(sha256.Size):
		n, err = strictRawBase64.Decode(buf[:], []byte(s))
	default:
		return false
	}
	if err != nil || n != sha256.Size {
		return false
	}
	copy(dst[:], buf[:n])
	return true
}

// parseUnixSeconds parses a Standard Webhooks timestamp: decimal digits
// only, so that "+5", " 5" and "5.0" are refused rather than reinterpreted.
func parseUnixSeconds(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("header not present or empty")
	}
	// 18 digits reach far beyond any real time and cannot overflow int64.
	if len(s) > 18 {
		return time.Time{}, fmt.Errorf("%d digits is not a Unix time in seconds", len(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, fmt.Errorf("%q is not a Unix time in whole seconds", s)
		}
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(sec, 0), nil
}

// firstValue returns the first value of a canonical header key, or "".
func firstValue(h http.Header, canonKey string) string {
	if vs := h[canonKey]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func isCreativeAISeparator(c byte) bool { return c == ',' || c == ' ' || c == '\t' }

func isStandardSeparator(c byte) bool { return c == ' ' || c == '\t' }

// nextToken returns the first token of s delimited by sep, and the rest of
// s after it; tok is "" when s holds no more tokens. Unlike strings.FieldsFunc
// it allocates nothing.
func nextToken(s string, sep func(byte) bool) (tok, rest string) {
	i := 0
	for i < len(s) && sep(s[i]) {
		i++
	}
	j := i
	for j < len(s) && !sep(s[j]) {
		j++
	}
	return s[i:j], s[j:]
}
