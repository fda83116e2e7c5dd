package creativeaitest

// FailureKind is a kind of render failure the Server can simulate (see
// [WithFailureKinds]); the names match the failure classes of batch/jobs.
type FailureKind string

// The kinds of failure.
const (
	// FailureTransient: timeouts, crashed workers, providers at capacity.
	FailureTransient FailureKind = "transient"
	// FailureInput: an image URL that does not load, an unsupported aspect
	// ratio or duration.
	FailureInput FailureKind = "input"
	// FailurePolicy: moderation and safety refusals, some of them saying
	// that the render was not billed.
	FailurePolicy FailureKind = "policy"
)

// failureKindMessages are the errors a failed render of each kind reports.
// The service publishes no error shape; these follow the "code: message"
// form creativeai.Generation gives an error object, with the codes
// comparable render APIs use.
var failureKindMessages = map[FailureKind][]string{
	FailureTransient: {
		"provider timeout after retry budget",
		"render worker crashed",
		"provider_unavailable: all providers are at capacity, try again later",
	},
	FailureInput: {
		"provider rejected the input image",
		"invalid_image_url: image_url could not be fetched (HTTP 404)",
		"unsupported_aspect_ratio: aspect ratio 21:9 is not supported by this model",
	},
	FailurePolicy: {
		"content_policy_violation: the prompt was flagged by the moderation system",
		"moderation_blocked: the input image was refused by the safety filter; not billed",
	},
}

// WithFailureKinds sets the kinds of failure a failed render reports, drawn
// evenly (see [WithFailureRate] for how many renders fail). Without it a
// failed render reports one of the workflow page's three messages, which are
// two transient failures and one input failure.
func WithFailureKinds(kinds ...FailureKind) Option {
	return func(c *config) {
		for _, k := range kinds {
			if _, ok := failureKindMessages[k]; !ok {
				c.fail("WithFailureKinds(%q): want %q, %q or %q", k, FailureTransient, FailureInput, FailurePolicy)
				return
			}
		}
		c.failureKinds = kinds
	}
}

// failureMessage draws a failed render's error among kinds' messages.
func failureMessage(kinds []FailureKind, intN func(int) int) string {
	k := kinds[intN(len(kinds))]
	msgs := failureKindMessages[k]
	return msgs[intN(len(msgs))]
}
