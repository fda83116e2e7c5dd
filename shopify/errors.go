package shopify

import (
	"errors"
	"fmt"
	"strings"

	"github.com/creativeai-run/catalogvideo/internal/permanent"
)

// Error codes Shopify puts in errors[].extensions.code that the client acts
// on. Others (ACCESS_DENIED, SHOP_INACTIVE, …) are reported as they come.
const (
	// CodeThrottled marks a request refused because the cost bucket was too
	// low; it was not executed and is retried after the bucket refills.
	CodeThrottled = "THROTTLED"
	// CodeMaxCostExceeded marks a query whose cost exceeds the bucket's size;
	// retrying cannot help.
	CodeMaxCostExceeded = "MAX_COST_EXCEEDED"
	// CodeInternalServerError marks a failure on Shopify's side.
	CodeInternalServerError = "INTERNAL_SERVER_ERROR"
)

// CodeProductMediaLimitExceeded is Shopify's code (from MediaUserErrorCode)
// for a product that already has as many media as it may hold. The publisher
// reports it before uploading when the product's media count has reached the
// limit, since productUpdate's userErrors carry no code.
const CodeProductMediaLimitExceeded = "PRODUCT_MEDIA_LIMIT_EXCEEDED"

// GraphQLError is one entry of a response's top-level errors list.
type GraphQLError struct {
	// Message is Shopify's description of the error.
	Message string
	// Code is extensions.code, such as THROTTLED or ACCESS_DENIED; empty when
	// Shopify gave none (validation errors often have none).
	Code string
	// Path is the response path the error refers to, if any.
	Path []string
}

// Error reports the code, the message and the path.
func (e *GraphQLError) Error() string {
	var b strings.Builder
	b.WriteString("shopify: ")
	if e.Code != "" {
		b.WriteString(e.Code)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if len(e.Path) > 0 {
		fmt.Fprintf(&b, " (at %s)", strings.Join(e.Path, "."))
	}
	return b.String()
}

// GraphQLErrors is the error returned when a response carries top-level
// errors. errors.As finds each entry as a *GraphQLError.
type GraphQLErrors struct {
	// Operation is the GraphQL operation name.
	Operation string
	// Errors holds the entries in the order Shopify sent them.
	Errors []*GraphQLError
}

// Error reports the operation and every entry.
func (e *GraphQLErrors) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, ge := range e.Errors {
		msgs[i] = strings.TrimPrefix(ge.Error(), "shopify: ")
	}
	return fmt.Sprintf("shopify: %s: %s", e.Operation, strings.Join(msgs, "; "))
}

// Unwrap returns the entries, so errors.As can reach each *GraphQLError.
func (e *GraphQLErrors) Unwrap() []error {
	errs := make([]error, len(e.Errors))
	for i, ge := range e.Errors {
		errs[i] = ge
	}
	return errs
}

// HasCode reports whether any entry has the given extensions.code.
func (e *GraphQLErrors) HasCode(code string) bool {
	for _, ge := range e.Errors {
		if ge.Code == code {
			return true
		}
	}
	return false
}

// Permanent reports whether retrying the same request cannot succeed: true
// unless an entry is a throttle or an internal error on Shopify's side.
func (e *GraphQLErrors) Permanent() bool {
	return !e.HasCode(CodeThrottled) && !e.HasCode(CodeInternalServerError)
}

// UserError is one entry of a mutation's userErrors: the input was refused.
type UserError struct {
	// Field is the path to the input field at fault, such as
	// ["media", "0", "originalSource"].
	Field []string
	// Message is Shopify's description of the problem.
	Message string
	// Code is the error code for mutations whose userErrors have one; empty
	// for the plain UserError type that productUpdate and stagedUploadsCreate
	// return.
	Code string
}

// Error reports the field path, the message and the code.
func (e *UserError) Error() string {
	var b strings.Builder
	b.WriteString("shopify: ")
	if len(e.Field) > 0 {
		b.WriteString(strings.Join(e.Field, "."))
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	return b.String()
}

// UserErrors is the error returned when a mutation answers with userErrors.
// errors.As finds each entry as a *UserError.
type UserErrors struct {
	// Operation is the GraphQL operation name.
	Operation string
	// Errors holds the entries in the order Shopify sent them.
	Errors []*UserError
}

// Error reports the mutation and every entry.
func (e *UserErrors) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, ue := range e.Errors {
		msgs[i] = strings.TrimPrefix(ue.Error(), "shopify: ")
	}
	return fmt.Sprintf("shopify: %s refused: %s", e.Operation, strings.Join(msgs, "; "))
}

// Unwrap returns the entries, so errors.As can reach each *UserError.
func (e *UserErrors) Unwrap() []error {
	errs := make([]error, len(e.Errors))
	for i, ue := range e.Errors {
		errs[i] = ue
	}
	return errs
}

// Permanent reports true: the same input is refused again.
func (e *UserErrors) Permanent() bool { return true }

// HTTPError is returned when Shopify answers with a status other than 200
// after any retries.
type HTTPError struct {
	// Operation is the GraphQL operation name.
	Operation string
	// StatusCode is the HTTP status.
	StatusCode int
	// Message is the start of the body, or the errors it held; never the
	// access token.
	Message string
}

// Error reports the operation, the status and Shopify's message.
func (e *HTTPError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("shopify: %s: HTTP %d", e.Operation, e.StatusCode)
	}
	return fmt.Sprintf("shopify: %s: HTTP %d: %s", e.Operation, e.StatusCode, e.Message)
}

// Permanent reports whether the status says that retrying cannot help: a
// 4xx other than 408, 409 and 429.
func (e *HTTPError) Permanent() bool {
	switch {
	case e.StatusCode == 408, e.StatusCode == 409, e.StatusCode == 429:
		return false
	default:
		return e.StatusCode >= 400 && e.StatusCode < 500
	}
}

// PermanentError is a failure that retrying the same job cannot fix: the
// product's media limit, a video Shopify failed to process, an input the
// API refuses. Code is the code Shopify gave, when it gave one.
//
// Delivery outboxes detect it through the Permanent method; see IsPermanent.
type PermanentError struct {
	// Op names the step that failed, such as "attach" or "processing".
	Op string
	// Code is Shopify's code, such as PRODUCT_MEDIA_LIMIT_EXCEEDED or
	// VIDEO_VALIDATION_ERROR; empty when the failure came without one.
	Code string
	// Err is the underlying error.
	Err error
}

// Error reports the step, Shopify's code and the cause.
func (e *PermanentError) Error() string {
	msg := strings.TrimPrefix(e.Err.Error(), "shopify: ")
	if e.Code != "" && !strings.Contains(msg, e.Code) {
		return fmt.Sprintf("shopify: %s: %s: %s", e.Op, e.Code, msg)
	}
	return fmt.Sprintf("shopify: %s: %s", e.Op, msg)
}

// Unwrap returns the underlying error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent reports true.
func (e *PermanentError) Permanent() bool { return true }

// IsPermanent reports whether err, or an error it wraps, declares itself
// permanent through a Permanent() bool method that returns true. Context
// cancellation, timeouts, throttling and server errors are not permanent.
func IsPermanent(err error) bool {
	return permanent.Is(err)
}

// ErrSKUNotFound is matched (with errors.Is) by the error for a SKU no
// variant has.
var ErrSKUNotFound = errors.New("shopify: SKU not found")

// SKUNotFoundError reports that no variant has the SKU exactly.
type SKUNotFoundError struct {
	// SKU is the SKU that was looked up.
	SKU string
}

// Error reports the SKU.
func (e *SKUNotFoundError) Error() string {
	return fmt.Sprintf("shopify: no product variant has SKU %q", e.SKU)
}

// Is makes errors.Is(err, ErrSKUNotFound) true.
func (e *SKUNotFoundError) Is(target error) bool { return target == ErrSKUNotFound }

// Permanent reports true: the lookup gives the same answer until the catalog
// changes.
func (e *SKUNotFoundError) Permanent() bool { return true }

// AmbiguousSKUError reports that variants of several products carry the same
// SKU, so there is no telling which product a video belongs to.
type AmbiguousSKUError struct {
	// SKU is the SKU that was looked up.
	SKU string
	// ProductIDs lists the products whose variants carry it.
	ProductIDs []string
}

// Error reports the SKU and the products carrying it.
func (e *AmbiguousSKUError) Error() string {
	return fmt.Sprintf("shopify: SKU %q is ambiguous: variants of %d products carry it (%s)",
		e.SKU, len(e.ProductIDs), strings.Join(e.ProductIDs, ", "))
}

// Permanent reports true: the merchant has to fix the catalog.
func (e *AmbiguousSKUError) Permanent() bool { return true }

// MaxCostExceededError reports a request whose requested cost is more than
// the whole cost bucket holds (Shopify's MAX_COST_EXCEEDED): no wait can pay
// for it, so it fails at once instead of being retried. Ask for smaller
// pages (a lower first:) to fit. When the client already knew the cost from
// an earlier answer it fails without sending the request.
type MaxCostExceededError struct {
	// Operation is the GraphQL operation name.
	Operation string
	// RequestedCost is the request's requested cost in points.
	RequestedCost float64
	// MaximumAvailable is the bucket's size in points.
	MaximumAvailable float64
	// Err is Shopify's answer, when the request was sent.
	Err error
}

// Error reports the operation and both costs.
func (e *MaxCostExceededError) Error() string {
	msg := fmt.Sprintf("shopify: %s: %s: requested cost %.0f exceeds the bucket's %.0f points",
		e.Operation, CodeMaxCostExceeded, e.RequestedCost, e.MaximumAvailable)
	if e.RequestedCost == 0 && e.Err != nil {
		msg = fmt.Sprintf("shopify: %s: %s", e.Operation, strings.TrimPrefix(e.Err.Error(), "shopify: "))
	}
	return msg
}

// Unwrap returns Shopify's answer, if there was one.
func (e *MaxCostExceededError) Unwrap() error { return e.Err }

// Permanent reports true: the same request costs the same next time.
func (e *MaxCostExceededError) Permanent() bool { return true }
