package shopify

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestIsPermanent(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("network"), false},
		{context.Canceled, false},
		{&PermanentError{Op: "attach", Err: errors.New("x")}, true},
		{fmt.Errorf("wrapped: %w", &PermanentError{Op: "attach", Err: errors.New("x")}), true},
		{&SKUNotFoundError{SKU: "A"}, true},
		{&AmbiguousSKUError{SKU: "A"}, true},
		{&UserErrors{Operation: "x", Errors: []*UserError{{Message: "m"}}}, true},
		{&HTTPError{StatusCode: 401}, true},
		{&HTTPError{StatusCode: 429}, false},
		{&HTTPError{StatusCode: 503}, false},
		{&GraphQLErrors{Errors: []*GraphQLError{{Code: "ACCESS_DENIED"}}}, true},
		{&GraphQLErrors{Errors: []*GraphQLError{{Code: CodeThrottled}}}, false},
		{&GraphQLErrors{Errors: []*GraphQLError{{Code: CodeInternalServerError}}}, false},
		{fmt.Errorf("shopify: %w", ErrProcessingTimeout), false},
		{errors.Join(&SKUNotFoundError{SKU: "A"}), true},
	}
	for _, tc := range cases {
		if got := IsPermanent(tc.err); got != tc.want {
			t.Errorf("IsPermanent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{&GraphQLErrors{Operation: "q", Errors: []*GraphQLError{{Message: "Throttled", Code: "THROTTLED"}, {Message: "bad", Path: []string{"a", "0"}}}},
			"shopify: q: THROTTLED: Throttled; bad (at a.0)"},
		{&UserErrors{Operation: "productUpdate", Errors: []*UserError{{Field: []string{"media", "0"}, Message: "too many"}}},
			"shopify: productUpdate refused: media.0: too many"},
		{&PermanentError{Op: "processing", Code: "VIDEO_VALIDATION_ERROR", Err: errors.New("corrupt")},
			"shopify: processing: VIDEO_VALIDATION_ERROR: corrupt"},
		{&HTTPError{Operation: "q", StatusCode: 502}, "shopify: q: HTTP 502"},
		{&AmbiguousSKUError{SKU: "S", ProductIDs: []string{"p1", "p2"}}, `shopify: SKU "S" is ambiguous: variants of 2 products carry it (p1, p2)`},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q\nwant      %q", got, tc.want)
		}
	}
}
