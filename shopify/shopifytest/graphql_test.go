package shopifytest

import (
	"encoding/json"
	"testing"
)

// FuzzHandleGraphQL sends arbitrary request bodies through the fake's
// GraphQL path: it must answer every one, with JSON, without panicking.
func FuzzHandleGraphQL(f *testing.F) {
	f.Add([]byte(`{"query":"{ productVariants(first: 2, query: \"sku:A OR sku:B\") { nodes { id sku product { id title mediaCount { count } } } pageInfo { hasNextPage endCursor } } }"}`))
	f.Add([]byte(`{"query":"query q($id: ID!) { product(id: $id) { media(first: 5, query: \"media_type:VIDEO\", sortKey: ID, reverse: true) { nodes { __typename id alt status mediaErrors { code message } ... on Video { filename } } } } }","variables":{"id":"gid://shopify/Product/1001"}}`))
	f.Add([]byte(`{"query":"mutation($in: [StagedUploadInput!]!) { stagedUploadsCreate(input: $in) { stagedTargets { url resourceUrl parameters { name value } } userErrors { field message } } }","variables":{"in":[{"resource":"VIDEO","filename":"a.mp4","mimeType":"video/mp4","httpMethod":"POST","fileSize":"10"}]}}`))
	f.Add([]byte(`{"query":"mutation($p: ProductUpdateInput!, $m: [CreateMediaInput!]!) { productUpdate(product: $p, media: $m) { product { id } userErrors { field message } } }","variables":{"p":{"id":"gid://shopify/Product/1001"},"m":[{"originalSource":"https://youtu.be/x","mediaContentType":"EXTERNAL_VIDEO"}]}}`))
	f.Add([]byte(`{"query":"{ productVariants(first: -1, after: \"zz\") { nodes { id } } }"}`))
	f.Add([]byte(`{"query":"{"}`))
	f.Add([]byte(`not json`))
	s := NewServer()
	defer s.Close()
	s.AddProduct(Product{Title: "P", Variants: []Variant{{SKU: "A"}}, Images: 1})
	f.Fuzz(func(t *testing.T, body []byte) {
		status, answer := s.handleGraphQL(body)
		if _, ok := answer.(*Fault); ok {
			return
		}
		if status == 0 {
			t.Fatalf("no status for %q", body)
		}
		if _, err := json.Marshal(answer); err != nil {
			t.Fatalf("answer to %q does not encode: %v", body, err)
		}
	})
}
