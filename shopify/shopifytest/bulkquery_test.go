package shopifytest_test

import (
	"bufio"
	"encoding/json"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

const bulkRunQuery = `mutation($q: String!) { bulkOperationRunQuery(query: $q) {
	bulkOperation { id status } userErrors { code field message } } }`

// bulkQueryUserError is the code of the first userError of a bulk
// operation's start.
func bulkQueryUserError(a gqlAnswer) string { return userErrorCode(a, "bulkOperationRunQuery") }

// userErrorCode is the code of the first userError of the mutation field
// answered in a, "" when there is none.
func userErrorCode(a gqlAnswer, field string) string {
	p, _ := a.Data[field].(map[string]any)
	ues, _ := p["userErrors"].([]any)
	if len(ues) == 0 {
		return ""
	}
	return ues[0].(map[string]any)["code"].(string)
}

func TestBulkQuery(t *testing.T) {
	clock := shopifytest.NewVirtualClock(time.Unix(0, 0))
	srv := shopifytest.NewServer(shopifytest.WithClock(clock), shopifytest.WithBulkDuration(time.Minute))
	defer srv.Close()
	mug := srv.AddProduct(shopifytest.Product{Title: "Mug", Variants: []shopifytest.Variant{{SKU: "MUG-1"}, {SKU: "MUG-2"}}, Images: 2})
	srv.AddProduct(shopifytest.Product{Title: "Lamp", Variants: []shopifytest.Variant{{SKU: "LAMP-1"}}})

	for _, tc := range []struct{ name, query string }{
		{"not GraphQL", `{ productVariants(`},
		{"unknown field", `{ productVariants(query: "sku:MUG-1") { edges { node { nope } } } }`},
		{"page size", `{ productVariants(first: 10, query: "sku:MUG-1") { edges { node { id } } } }`},
		{"variables", `query($q: String) { productVariants(query: $q) { edges { node { id } } } }`},
		{"not a connection", `{ product(id: "` + mug + `") { id } }`},
		{"nested connection", `{ productVariants(query: "sku:MUG-1") { edges { node { product { media(first: 1) { nodes { id } } } } } } }`},
		{"pageInfo", `{ productVariants(query: "sku:MUG-1") { pageInfo { hasNextPage } edges { node { id } } } }`},
	} {
		if _, a, _ := post(t, srv, bulkRunQuery, map[string]any{"q": tc.query}); bulkQueryUserError(a) != "INVALID" {
			t.Errorf("%s: %+v, want userErrors INVALID", tc.name, a.Data)
		}
	}
	if n := srv.Stats().BulkQueries; n != 0 {
		t.Fatalf("%d bulk queries started by refused requests", n)
	}

	query := `{ productVariants(query: "sku:\"mug-1\" OR sku:\"MUG-2\" OR sku:\"LAMP-1\"") { edges { node { id sku product { id title mediaCount { count } } } } } }`
	_, a, _ := post(t, srv, bulkRunQuery, map[string]any{"q": query})
	op, _ := a.Data["bulkOperationRunQuery"].(map[string]any)["bulkOperation"].(map[string]any)
	if op == nil || op["status"] != "RUNNING" {
		t.Fatalf("start = %+v, want a RUNNING operation", a.Data)
	}
	if c := a.Extensions.Cost; c.RequestedQueryCost != 10 || *c.ActualQueryCost != 10 {
		t.Errorf("starting the bulk query cost %v requested, %v actual; want 10, 10 whatever its size", c.RequestedQueryCost, *c.ActualQueryCost)
	}
	if _, a, _ := post(t, srv, bulkRunQuery, map[string]any{"q": query}); bulkQueryUserError(a) != "OPERATION_IN_PROGRESS" {
		t.Errorf("a second bulk query while one runs: %+v, want OPERATION_IN_PROGRESS", a.Data)
	}
	// A bulk mutation may run beside it: one operation of each type.
	if _, a, _ := post(t, srv, bulkRun, map[string]any{"m": lineMutation, "p": "tmp/none.jsonl"}); userErrorCode(a, "bulkOperationRunMutation") != "NO_SUCH_FILE" {
		t.Errorf("a bulk mutation beside the bulk query: %+v, want refused only for its missing file", a.Data)
	}

	resp := runBulkToEnd(t, srv, clock, op["id"], 3)
	defer resp.Body.Close()
	var skus []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var l struct {
			SKU     string `json:"sku"`
			Product struct {
				Title      string              `json:"title"`
				MediaCount struct{ Count int } `json:"mediaCount"`
			} `json:"product"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("result line %q: %v", sc.Text(), err)
		}
		if l.SKU == "MUG-1" && (l.Product.Title != "Mug" || l.Product.MediaCount.Count != 2) {
			t.Errorf("MUG-1's line %s: want its product inline with 2 media", sc.Text())
		}
		skus = append(skus, l.SKU)
	}
	if len(skus) != 3 || skus[0] != "MUG-1" || skus[1] != "MUG-2" || skus[2] != "LAMP-1" {
		t.Errorf("result SKUs %v, want one line per variant matched (search ignores case)", skus)
	}
	// The slot is free again.
	if _, a, _ := post(t, srv, bulkRunQuery, map[string]any{"q": query}); bulkQueryUserError(a) != "" {
		t.Errorf("a bulk query after the first completed: %+v, want started", a.Data)
	}
	if n := srv.Stats().BulkQueries; n != 2 {
		t.Errorf("BulkQueries = %d, want 2", n)
	}
}
