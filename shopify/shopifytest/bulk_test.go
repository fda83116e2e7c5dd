package shopifytest_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

// stageBulk stages and uploads a variables file and returns its
// stagedUploadPath (the target's key parameter).
func stageBulk(t *testing.T, srv *shopifytest.Server, jsonl string) string {
	t.Helper()
	_, a, _ := post(t, srv, `mutation($in: [StagedUploadInput!]!) { stagedUploadsCreate(input: $in) {
		stagedTargets { url parameters { name value } } userErrors { message } } }`,
		map[string]any{"in": []any{map[string]any{"resource": "BULK_MUTATION_VARIABLES", "filename": "v.jsonl", "mimeType": "text/jsonl", "httpMethod": "POST"}}})
	tg := a.Data["stagedUploadsCreate"].(map[string]any)["stagedTargets"].([]any)[0].(map[string]any)
	var params [][2]string
	key := ""
	for _, p := range tg["parameters"].([]any) {
		pm := p.(map[string]any)
		params = append(params, [2]string{pm["name"].(string), pm["value"].(string)})
		if pm["name"] == "key" {
			key = pm["value"].(string)
		}
	}
	body, ctype := multipartBody(params, []byte(jsonl), false)
	resp, err := srv.HTTPClient().Post(tg["url"].(string), ctype, body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || key == "" {
		t.Fatalf("upload: HTTP %d, key %q", resp.StatusCode, key)
	}
	return key
}

const bulkRun = `mutation($m: String!, $p: String!) { bulkOperationRunMutation(mutation: $m, stagedUploadPath: $p) {
	bulkOperation { id status } userErrors { code message } } }`

const lineMutation = `mutation($p: ProductUpdateInput!, $m: [CreateMediaInput!]!) {
	productUpdate(product: $p, media: $m) { product { id } userErrors { message } } }`

func TestBulkMutation(t *testing.T) {
	clock := shopifytest.NewVirtualClock(time.Unix(0, 0))
	srv := shopifytest.NewServer(shopifytest.WithClock(clock), shopifytest.WithBulkDuration(time.Minute))
	defer srv.Close()
	pid := srv.AddProduct(shopifytest.Product{Title: "P", Variants: []shopifytest.Variant{{SKU: "P"}}})
	media := `[{"originalSource":"https://www.youtube.com/watch?v=x","mediaContentType":"EXTERNAL_VIDEO"}]`
	path := stageBulk(t, srv, `{"p":{"id":"`+pid+`"},"m":`+media+`}`+"\n"+`{"p":{"id":"gid://shopify/Product/404"},"m":`+media+`}`+"\n")

	userError := func(a gqlAnswer) string {
		ues := a.Data["bulkOperationRunMutation"].(map[string]any)["userErrors"].([]any)
		if len(ues) == 0 {
			return ""
		}
		return ues[0].(map[string]any)["code"].(string)
	}
	twoConnections := `mutation($p: ProductUpdateInput!, $m: [CreateMediaInput!]!) { productUpdate(product: $p, media: $m) {
		product { media(first: 1) { nodes { id } } other: media(first: 2) { nodes { id } } } userErrors { message } } }`
	for _, tc := range []struct{ mutation, path, code string }{
		{lineMutation, "tmp/nothing/there.jsonl", "NO_SUCH_FILE"},
		{twoConnections, path, "INVALID_MUTATION"},
		{`mutation { nope }`, path, "INVALID_MUTATION"},
	} {
		if _, a, _ := post(t, srv, bulkRun, map[string]any{"m": tc.mutation, "p": tc.path}); userError(a) != tc.code {
			t.Errorf("bulkOperationRunMutation(%.30q, %q) = %+v, want %s", tc.mutation, tc.path, a.Data, tc.code)
		}
	}

	before := srv.Stats()
	_, a, _ := post(t, srv, bulkRun, map[string]any{"m": lineMutation, "p": path})
	op, _ := a.Data["bulkOperationRunMutation"].(map[string]any)["bulkOperation"].(map[string]any)
	if op == nil || op["status"] != "RUNNING" {
		t.Fatalf("start = %+v, want a RUNNING operation", a.Data)
	}
	if c := a.Extensions.Cost; *c.ActualQueryCost != 10 {
		t.Errorf("starting the operation cost %v, want 10 whatever its lines", *c.ActualQueryCost)
	}
	if _, a, _ := post(t, srv, bulkRun, map[string]any{"m": lineMutation, "p": path}); userError(a) != "OPERATION_IN_PROGRESS" {
		t.Errorf("a second operation while one runs: %+v, want OPERATION_IN_PROGRESS", a.Data)
	}
	resp := runBulkToEnd(t, srv, clock, op["id"], 2)
	defer resp.Body.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("result line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 2 || lines[0]["__lineNumber"] != 0.0 || lines[1]["__lineNumber"] != 1.0 {
		t.Fatalf("result = %v, want two lines numbered 0 and 1", lines)
	}
	if ue := lines[1]["data"].(map[string]any)["productUpdate"].(map[string]any)["userErrors"].([]any); len(ue) != 1 {
		t.Errorf("line 1 (unknown product) userErrors = %v, want one", ue)
	}
	after := srv.Stats()
	if after.BulkOperations != 1 || after.BulkLines != 2 || after.Calls["productUpdate"] != before.Calls["productUpdate"] {
		t.Errorf("stats %+v, want one operation of 2 lines and no productUpdate request", after)
	}
	if n := len(srv.Media(pid)); n != 1 {
		t.Errorf("product has %d media, want the one the first line added", n)
	}
}

// TestBulkMutationLinesApplyWhenItEnds checks the unkind part of a bulk
// mutation: its lines take effect while it runs, not when it is started,
// so a client that stops waiting must expect them later; a cancel stops it
// with the lines it had run applied, and an ended operation cannot be
// canceled.
func TestBulkMutationLinesApplyWhenItEnds(t *testing.T) {
	clock := shopifytest.NewVirtualClock(time.Unix(0, 0))
	srv := shopifytest.NewServer(shopifytest.WithClock(clock), shopifytest.WithBulkDuration(time.Minute))
	defer srv.Close()
	var pids []string
	var jsonl string
	for i := range 4 {
		pid := srv.AddProduct(shopifytest.Product{Title: "P", Variants: []shopifytest.Variant{{SKU: "P" + string(rune('0'+i))}}})
		pids = append(pids, pid)
		jsonl += `{"p":{"id":"` + pid + `"},"m":[{"originalSource":"https://www.youtube.com/watch?v=x","mediaContentType":"EXTERNAL_VIDEO"}]}` + "\n"
	}
	media := func() (n int) {
		for _, pid := range pids {
			n += len(srv.Media(pid))
		}
		return n
	}
	const cancel = `mutation($id: ID!) { bulkOperationCancel(id: $id) { bulkOperation { status } userErrors { message } } }`
	const state = `query($id: ID!) { node(id: $id) { ... on BulkOperation { status url } } }`

	_, a, _ := post(t, srv, bulkRun, map[string]any{"m": lineMutation, "p": stageBulk(t, srv, jsonl)})
	id := a.Data["bulkOperationRunMutation"].(map[string]any)["bulkOperation"].(map[string]any)["id"]
	if n := media(); n != 0 {
		t.Fatalf("%d media right after the start, want none yet", n)
	}
	_, a, _ = post(t, srv, cancel, map[string]any{"id": id})
	if st := a.Data["bulkOperationCancel"].(map[string]any)["bulkOperation"].(map[string]any)["status"]; st != "CANCELING" {
		t.Errorf("cancel answered %v, want CANCELING", st)
	}
	_, a, _ = post(t, srv, state, map[string]any{"id": id})
	if node := a.Data["node"].(map[string]any); node["status"] != "CANCELED" || node["url"] != nil {
		t.Errorf("after the cancel: %+v, want CANCELED without results", node)
	}
	if n := media(); n != 2 {
		t.Errorf("%d media after the cancel, want the 2 lines it had run", n)
	}
	clock.Advance(time.Hour)
	post(t, srv, state, map[string]any{"id": id})
	if n := media(); n != 2 {
		t.Errorf("%d media once its time has passed, want still 2", n)
	}
	_, a, _ = post(t, srv, cancel, map[string]any{"id": id})
	if ues := a.Data["bulkOperationCancel"].(map[string]any)["userErrors"].([]any); len(ues) != 1 {
		t.Errorf("canceling an ended operation: %+v, want a user error", a.Data)
	}
	if st := srv.Stats(); st.BulkCancels != 1 {
		t.Errorf("BulkCancels = %d, want 1", st.BulkCancels)
	}
}

// TestCurrentBulkOperation reads the latest bulk operation of each type:
// none before any ran, then the mutation while it runs and after it ended,
// and the query apart from it.
func TestCurrentBulkOperation(t *testing.T) {
	clock := shopifytest.NewVirtualClock(time.Unix(0, 0))
	srv := shopifytest.NewServer(shopifytest.WithClock(clock), shopifytest.WithBulkDuration(time.Minute))
	defer srv.Close()
	pid := srv.AddProduct(shopifytest.Product{Title: "P", Variants: []shopifytest.Variant{{SKU: "P"}}})
	const current = `query($t: BulkOperationType!) { currentBulkOperation(type: $t) { id status } }`
	read := func(typ string) map[string]any {
		t.Helper()
		_, a, _ := post(t, srv, current, map[string]any{"t": typ})
		op, _ := a.Data["currentBulkOperation"].(map[string]any)
		return op
	}
	if op := read("MUTATION"); op != nil {
		t.Errorf("before any operation: %+v, want null", op)
	}
	path := stageBulk(t, srv, `{"p":{"id":"`+pid+`"},"m":[]}`+"\n")
	_, a, _ := post(t, srv, bulkRun, map[string]any{"m": lineMutation, "p": path})
	started := a.Data["bulkOperationRunMutation"].(map[string]any)["bulkOperation"].(map[string]any)
	if op := read("MUTATION"); op == nil || op["id"] != started["id"] || op["status"] != "RUNNING" {
		t.Errorf("while it runs: %+v, want %v RUNNING", op, started["id"])
	}
	if op := read("QUERY"); op != nil {
		t.Errorf("bulk query: %+v, want null (only a mutation ran)", op)
	}
	clock.Advance(time.Minute)
	if op := read("MUTATION"); op == nil || op["id"] != started["id"] || op["status"] != "COMPLETED" {
		t.Errorf("after its duration: %+v, want %v COMPLETED", op, started["id"])
	}
}

// runBulkToEnd checks that the bulk operation id is RUNNING, advances clock
// by its duration (a minute), checks that it COMPLETED with objects objects
// and a url, and returns the GET of its result file.
func runBulkToEnd(t *testing.T, srv *shopifytest.Server, clock *shopifytest.VirtualClock, id any, objects int) *http.Response {
	t.Helper()
	const state = `query($id: ID!) { node(id: $id) { ... on BulkOperation { status url objectCount } } }`
	if _, a, _ := post(t, srv, state, map[string]any{"id": id}); a.Data["node"].(map[string]any)["status"] != "RUNNING" {
		t.Errorf("before its duration: %+v, want RUNNING", a.Data)
	}
	clock.Advance(time.Minute)
	_, a, _ := post(t, srv, state, map[string]any{"id": id})
	node := a.Data["node"].(map[string]any)
	if node["status"] != "COMPLETED" || node["objectCount"] != strconv.Itoa(objects) || node["url"] == nil {
		t.Fatalf("after its duration: %+v, want COMPLETED with %d objects and a url", node, objects)
	}
	resp, err := srv.HTTPClient().Get(node["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
