package jobs

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// FailureClass says what kind of failure ended a job's attempt, and so
// whether sending the same request again can help. It is the record
// format's "failure_class" field, set on failed and submit_failed jobs.
type FailureClass string

// The failure classes.
const (
	// FailureTransient: a timeout, a provider outage, a crashed worker, a
	// lack of capacity. The same request may well succeed later.
	FailureTransient FailureClass = "transient"
	// FailureInput: the request cannot be served as sent: an image URL that
	// does not load, an unsupported aspect ratio or duration, a refused
	// parameter. Only a change to the row helps.
	FailureInput FailureClass = "input"
	// FailurePolicy: a moderation or safety refusal. Sending it again
	// cannot help, and services suspend accounts that send many refused
	// requests.
	FailurePolicy FailureClass = "policy"
)

// FailureClasses lists the classes in the order the SDK prints them.
var FailureClasses = []FailureClass{FailureTransient, FailureInput, FailurePolicy}

// Known reports whether c is one of the classes this package defines.
func (c FailureClass) Known() bool { return slices.Contains(FailureClasses, c) }

// ParseFailureClasses parses a comma-separated list of classes, such as
// "transient,input". Blanks around names are ignored and "all" stands for
// every class. It returns an error naming an unknown class.
func ParseFailureClasses(s string) ([]FailureClass, error) {
	var out []FailureClass
	for name := range strings.SplitSeq(s, ",") {
		c := FailureClass(strings.ToLower(strings.TrimSpace(name)))
		switch {
		case c == "all":
			return slices.Clone(FailureClasses), nil
		case c == "":
			continue
		case !c.Known():
			return nil, fmt.Errorf("unknown failure class %q (want a comma-separated list of transient, input, policy, or all)", name)
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no failure class named (want a comma-separated list of transient, input, policy, or all)")
	}
	return out, nil
}

// The error shape of the render service is not published (see REFERENCE.md):
// a failed render's error arrives as a string or as an object whose code and
// message creativeai.Generation joins as "code: message". The markers below
// are the codes and phrases that comparable render APIs (OpenAI, Runway,
// Replicate, fal) send for each kind, matched case-insensitively anywhere in
// the text. Policy markers are looked for first: a refusal is a refusal even
// when its message also names the input.
var (
	policyMarkers = []string{
		"moderation", "content_policy", "content policy", "safety", "nsfw",
		"policy_violation", "policy violation", "flagged", "prohibited content",
		"refused", "not allowed by our usage",
	}
	inputMarkers = []string{
		"invalid_image", "invalid image", "image_url", "image url",
		"rejected the input", "unsupported", "invalid_request", "invalid request",
		"aspect ratio", "aspect_ratio", "duration", "could not fetch", "could not download",
		"failed to download", "not a valid image", "image too small", "image too large",
		"invalid_parameter", "invalid parameter", "bad input",
	}
	// notBilledMarkers are phrases saying that the failed render was not
	// charged. Without one, a failed render counts as spent.
	notBilledMarkers = []string{
		"not billed", "not_billed", "not charged", "not_charged", "no charge",
		"refunded", "credits returned", "credits_refunded",
	}
)

// ClassifyFailure classifies a failed render from the error text the
// service sent and its failover flag. Policy and input failures are told by
// their codes and phrases (see the markers above); anything else, including
// an empty error and a render that failed after the service switched
// providers (failover_used), is transient: the service itself failed to
// render a request it accepted.
func ClassifyFailure(errText string, failoverUsed bool) FailureClass {
	text := strings.ToLower(errText)
	switch {
	case containsAny(text, policyMarkers):
		return FailurePolicy
	case failoverUsed:
		// Both providers were tried: the render failed for want of one,
		// which says nothing against the input.
		return FailureTransient
	case containsAny(text, inputMarkers):
		return FailureInput
	}
	return FailureTransient
}

// ClassifySubmitError classifies a submission that failed. An *APIError the
// service answered is classified by its code and message first (see
// ClassifyFailure); failing that, a 408, 409, 429 or 5xx status is
// transient and any other 4xx is input (a request the service will not
// take as sent, authentication included: resending never helps). Errors
// without an answer (network failures, the client's retries running out)
// are transient.
func ClassifySubmitError(err error) FailureClass {
	var apiErr *creativeai.APIError
	if !errors.As(err, &apiErr) {
		return FailureTransient
	}
	text := strings.ToLower(apiErr.Code + " " + apiErr.Type + " " + apiErr.Message)
	switch {
	case containsAny(text, policyMarkers):
		return FailurePolicy
	case creativeai.IsRetryable(err) || apiErr.StatusCode >= 500 || apiErr.StatusCode == http.StatusRequestTimeout:
		return FailureTransient
	case apiErr.StatusCode >= 400:
		return FailureInput
	}
	return FailureTransient
}

// NotBilled reports whether a failed render's error says the render was not
// charged. The service publishes no such field; the SDK looks for the
// phrases comparable services use (see notBilledMarkers) and otherwise
// counts a failed render as spent, which can only overstate spending.
func NotBilled(errText string) bool {
	return containsAny(strings.ToLower(errText), notBilledMarkers)
}

func containsAny(s string, markers []string) bool {
	for _, m := range markers {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}
