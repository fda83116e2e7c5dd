package shopify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// TestPreflightBulkQueryValidates checks the bulk query, which is built in
// code rather than generated, against the project schema and, when it is
// found, Shopify's 2025-01 schema, with SKUs that need escaping.
func TestPreflightBulkQueryValidates(t *testing.T) {
	q := preflightBulkQuery([]string{`A-1`, `quote"d`, `back\slash`, "tab\there", "ünï <&>"})
	schemas := map[string]string{"schema.graphql": Schema}
	if path := findShared(t, filepath.Join("shared", "shopify", "admin-2025-01.graphql")); path != "" {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		schemas[path] = string(src)
	}
	for name, src := range schemas {
		schema, err := gqlparser.LoadSchema(&ast.Source{Name: name, Input: src})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		doc, perr := parser.ParseQuery(&ast.Source{Name: "bulk", Input: q})
		if perr != nil {
			t.Fatalf("the bulk query does not parse: %v\n%s", perr, q)
		}
		for _, e := range validator.ValidateWithRules(schema, doc, nil) {
			t.Errorf("%s: %v", name, e)
		}
		// The search string arrives as written.
		args := doc.Operations[0].SelectionSet[0].(*ast.Field).ArgumentMap(nil)
		if got, want := args["query"], SKUQuery(`A-1`, `quote"d`, `back\slash`, "tab\there", "ünï <&>"); got != want {
			t.Errorf("search string %q, want %q", got, want)
		}
	}
}

func TestParsePreflightBulk(t *testing.T) {
	const result = `{"id":"gid://shopify/ProductVariant/1","sku":"MUG-1","title":"Default","product":{"id":"gid://shopify/Product/1","title":"Mug","mediaCount":{"count":3}}}
{"id":"gid://shopify/ProductVariant/2","sku":"mug-1","title":"Default","product":{"id":"gid://shopify/Product/2","title":"Cup","mediaCount":{"count":0}}}

{"id":"gid://shopify/ProductVariant/3","sku":"TWIN","title":"A","product":{"id":"gid://shopify/Product/3","title":"Shoe","mediaCount":{"count":1}}}
{"id":"gid://shopify/ProductVariant/4","sku":"TWIN","title":"B","product":{"id":"gid://shopify/Product/4","title":"Boot","mediaCount":{"count":1}}}
`
	found, err := parsePreflightBulk(strings.NewReader(result), []string{"MUG-1", "TWIN", "NOPE"})
	if err != nil {
		t.Fatal(err)
	}
	if h := found["MUG-1"]; len(h) != 1 || h[0].ProductID != "gid://shopify/Product/1" || h[0].ProductTitle != "Mug" || h[0].MediaCount != 3 {
		t.Errorf("MUG-1 = %+v, want the exact match only, with its product's 3 media", h)
	}
	if len(found["TWIN"]) != 2 || len(found["NOPE"]) != 0 || len(found) != 2 {
		t.Errorf("found = %+v, want TWIN twice and nothing else", found)
	}
	for _, bad := range []string{`{"id":"gid://shopify/ProductVariant/1","sku":`, `{"sku":"MUG-1"}`, `[1]`} {
		if _, err := parsePreflightBulk(strings.NewReader(bad+"\n"), []string{"MUG-1"}); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("line %q: error %v, want one naming line 1", bad, err)
		}
	}
}

func FuzzParsePreflightBulk(f *testing.F) {
	f.Add(`{"id":"gid://shopify/ProductVariant/1","sku":"A","product":{"id":"p","mediaCount":{"count":3}}}`)
	f.Add(`{"id":"v","sku":"A","__parentId":"x"}` + "\n" + `{}`)
	f.Fuzz(func(t *testing.T, s string) {
		found, err := parsePreflightBulk(strings.NewReader(s), []string{"A", "B"})
		if err != nil && found != nil {
			t.Errorf("both matches and an error from %q", s)
		}
		for sku, hits := range found {
			for _, h := range hits {
				if h.SKU != sku || (sku != "A" && sku != "B") {
					t.Errorf("hit %+v under %q from %q", h, sku, s)
				}
			}
		}
	})
}
