package console

import (
	"net/url"
	"testing"
)

// FuzzParseQuery feeds the table's query parser any query string: it never
// panics, and a query it accepts means the same after a round trip through
// the links the page writes.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "state=failed", "state=nope", "limit=10&after=k1", "limit=-1", "limit=99999999999999999999",
		"collection=spring&surface=shopify-pdp&sku=ab", "sku=%00%ff", "state=awaiting_review&after=%26x%3D"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseQuery(v, DefaultPageSize)
		if err != nil {
			return
		}
		if q.Limit < 1 || q.Limit > MaxPageSize {
			t.Fatalf("accepted limit %d", q.Limit)
		}
		if q.State != "" {
			if _, ok := ParseState(string(q.State)); !ok {
				t.Fatalf("accepted state %q", q.State)
			}
		}
		back, err := parseQuery(q.values(q.After), q.Limit)
		if err != nil {
			t.Fatalf("the page's own link %q is refused: %v", q.values(q.After).Encode(), err)
		}
		if back != q {
			t.Fatalf("round trip changed %+v to %+v", q, back)
		}
	})
}
