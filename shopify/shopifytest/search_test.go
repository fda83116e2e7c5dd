package shopifytest

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/creativeai-run/catalogvideo/shopify"
)

func TestParseSearch(t *testing.T) {
	cases := []struct {
		q      string
		values []string
		or     bool
		err    string
	}{
		{`sku:A`, []string{"A"}, false, ""},
		{`sku:"A B" OR sku:'C' OR sku:D\:E`, []string{"A B", "C", "D:E"}, true, ""},
		{`sku:"say \"hi\"" OR sku:"back\\slash"`, []string{`say "hi"`, `back\slash`}, true, ""},
		{`media_type:VIDEO id:12`, []string{"VIDEO", "12"}, false, ""},
		{`sku:A OR`, nil, false, "ends with a connective"},
		{`OR sku:A`, nil, false, "no term before it"},
		{`sku:"open`, nil, false, "unterminated quote"},
		{`sku:a(b)`, nil, false, "must be escaped"},
		{`free text`, nil, false, "expected field:value"},
		{`sku:A OR sku:B sku:C`, nil, false, "mixes AND and OR"},
		{`   `, nil, false, "no terms"},
	}
	for _, tc := range cases {
		terms, or, err := parseSearch(tc.q)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseSearch(%s) error = %v, want %q", tc.q, err, tc.err)
			}
			continue
		}
		var values []string
		for _, tm := range terms {
			values = append(values, tm.value)
		}
		if err != nil || or != tc.or || !slices.Equal(values, tc.values) {
			t.Errorf("parseSearch(%s) = %v, %v, %v; want %v, %v", tc.q, values, or, err, tc.values, tc.or)
		}
	}
}

// FuzzParseSearch checks that any query parses or fails cleanly, and that
// whatever SKUs shopify.SKUQuery quotes come back out unchanged.
func FuzzParseSearch(f *testing.F) {
	f.Add(`sku:"A" OR sku:"B"`, "A", `x"y\z`)
	f.Add(`media_type:VIDEO`, "OR", "sku:(1)")
	f.Add(`sku:'a\'b'`, " spaced ", "ü")
	f.Fuzz(func(t *testing.T, q, a, b string) {
		_, _, _ = parseSearch(q)
		_, _, _ = parseMediaQuery(q)
		if a == "" || b == "" || !utf8.ValidString(a) || !utf8.ValidString(b) {
			return
		}
		terms, _, err := parseSearch(shopify.SKUQuery(a, b))
		if err != nil {
			t.Fatalf("SKUQuery(%q, %q) = %s does not parse: %v", a, b, shopify.SKUQuery(a, b), err)
		}
		if len(terms) != 2 || terms[0].value != a || terms[1].value != b || terms[0].field != "sku" {
			t.Fatalf("SKUQuery(%q, %q) parsed back as %+v", a, b, terms)
		}
	})
}
