package shopifytest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

type gqlAnswer struct {
	Data   map[string]any `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
	Extensions struct {
		Cost struct {
			RequestedQueryCost float64  `json:"requestedQueryCost"`
			ActualQueryCost    *float64 `json:"actualQueryCost"`
			ThrottleStatus     struct {
				MaximumAvailable   float64 `json:"maximumAvailable"`
				CurrentlyAvailable float64 `json:"currentlyAvailable"`
				RestoreRate        float64 `json:"restoreRate"`
			} `json:"throttleStatus"`
		} `json:"cost"`
	} `json:"extensions"`
}

// post sends a raw GraphQL request with the server's default token.
func post(t *testing.T, srv *shopifytest.Server, query string, vars map[string]any) (int, gqlAnswer, http.Header) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, srv.GraphQLURL, bytes.NewReader(body))
	req.Header.Set("X-Shopify-Access-Token", shopifytest.DefaultToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a gqlAnswer
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("answer %s: %v", raw, err)
		}
	}
	return resp.StatusCode, a, resp.Header
}

func TestInvalidOperationsAnsweredLikeShopify(t *testing.T) {
	srv := shopifytest.NewServer()
	defer srv.Close()
	cases := []struct{ name, query, want string }{
		{"unknown field", `{ product(id: "x") { nope } }`, "nope"},
		{"syntax", `{ product(id: "x") { id }`, "Expected"},
		{"deprecated mutation", `mutation { productCreateMedia(productId: "x", media: []) { media { id } } }`, "productCreateMedia"},
		{"missing argument", `{ product { id } }`, "id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, a, _ := post(t, srv, tc.query, nil)
			if status != http.StatusOK || len(a.Errors) == 0 || !strings.Contains(a.Errors[0].Message, tc.want) || a.Data != nil {
				t.Errorf("status %d, answer %+v: want 200 with an error mentioning %q and no data", status, a, tc.want)
			}
		})
	}
	st := srv.Stats()
	if st.Invalid != len(cases) || st.Calls["productCreateMedia"] != 1 {
		t.Errorf("invalid %d, productCreateMedia calls %d: want %d and 1", st.Invalid, st.Calls["productCreateMedia"], len(cases))
	}
}

func TestUnauthorized(t *testing.T) {
	srv := shopifytest.NewServer()
	defer srv.Close()
	resp, err := http.Post(srv.GraphQLURL, "application/json", strings.NewReader(`{"query":"{ product(id: \"x\") { id } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d without a token, want 401", resp.StatusCode)
	}
}

func TestExternalVideoOnlyYouTubeAndVimeo(t *testing.T) {
	srv := shopifytest.NewServer()
	defer srv.Close()
	pid := srv.AddProduct(shopifytest.Product{Title: "P", Variants: []shopifytest.Variant{{SKU: "P"}}})
	const attach = `mutation($p: ProductUpdateInput!, $m: [CreateMediaInput!]!) {
		productUpdate(product: $p, media: $m) { userErrors { field message } }
	}`
	media := []any{
		map[string]any{"originalSource": "https://cdn.example.com/render.mp4", "mediaContentType": "EXTERNAL_VIDEO"},
		map[string]any{"originalSource": "https://www.youtube.com/watch?v=abc", "mediaContentType": "EXTERNAL_VIDEO"},
		map[string]any{"originalSource": "https://vimeo.com/123", "mediaContentType": "EXTERNAL_VIDEO"},
	}
	_, a, _ := post(t, srv, attach, map[string]any{"p": map[string]any{"id": pid}, "m": media})
	ues, _ := a.Data["productUpdate"].(map[string]any)["userErrors"].([]any)
	if len(ues) != 1 || !strings.Contains(fmt.Sprint(ues[0]), "YouTube or Vimeo") || !strings.Contains(fmt.Sprint(ues[0]), "originalSource") {
		t.Fatalf("userErrors = %v, want one for the mp4 URL's originalSource", ues)
	}
	st := srv.Stats()
	if st.ExternalVideoRequests != 3 || st.ExternalVideoRejected != 1 || len(srv.Media(pid)) != 2 {
		t.Errorf("stats %+v, media %v: want 3 sent, 1 rejected, 2 added", st, srv.Media(pid))
	}
}

func TestThrottledAnswer(t *testing.T) {
	clock := shopifytest.NewVirtualClock(time.Unix(0, 0))
	srv := shopifytest.NewServer(shopifytest.WithBucket(100, 10), shopifytest.WithClock(clock))
	defer srv.Close()
	srv.AddProduct(shopifytest.Product{Title: "P", Variants: []shopifytest.Variant{{SKU: "P"}}})
	// 2 + 40 × (variant + product) = 82 points requested; few are used.
	const q = `{ productVariants(first: 40, query: "sku:P") { nodes { id product { id } } } }`
	_, a, _ := post(t, srv, q, nil)
	c := a.Extensions.Cost
	if len(a.Errors) != 0 || c.RequestedQueryCost != 82 || c.ActualQueryCost == nil || *c.ActualQueryCost >= 82 {
		t.Fatalf("first answer %+v", a)
	}
	// Mutations cost 10: spend the bucket down.
	for range 3 {
		post(t, srv, `mutation { stagedUploadsCreate(input: []) { userErrors { message } } }`, nil)
	}
	_, a, _ = post(t, srv, q, nil)
	if len(a.Errors) != 1 || a.Errors[0].Extensions["code"] != "THROTTLED" || a.Data != nil {
		t.Fatalf("answer %+v, want THROTTLED", a)
	}
	c = a.Extensions.Cost
	if c.ActualQueryCost != nil || c.ThrottleStatus.MaximumAvailable != 100 || c.ThrottleStatus.RestoreRate != 10 || c.ThrottleStatus.CurrentlyAvailable >= 82 {
		t.Errorf("cost %+v, want actual null and the bucket below the request", c)
	}
	wait := time.Duration((82 - c.ThrottleStatus.CurrentlyAvailable) / 10 * float64(time.Second))
	clock.Advance(wait + time.Millisecond)
	if _, a, _ = post(t, srv, q, nil); len(a.Errors) != 0 {
		t.Errorf("after waiting (requested − available) / restoreRate: %+v", a.Errors)
	}
	if srv.Stats().Throttled != 1 {
		t.Errorf("throttled = %d, want 1", srv.Stats().Throttled)
	}
	_, a, _ = post(t, srv, `{ productVariants(first: 250, query: "sku:P") { nodes { id product { id } } } }`, nil)
	if len(a.Errors) != 1 || a.Errors[0].Extensions["code"] != "MAX_COST_EXCEEDED" {
		t.Errorf("a query dearer than the bucket: %+v", a.Errors)
	}
}

// TestCostModel checks the fake's costs: a mutation costs 10 plus its
// payload's selection, requested before it runs and debited as returned;
// and every answer, even a refused one, reports the bucket.
func TestCostModel(t *testing.T) {
	clock := shopifytest.NewVirtualClock(time.Unix(0, 0))
	srv := shopifytest.NewServer(shopifytest.WithBucket(1000, 50), shopifytest.WithClock(clock))
	defer srv.Close()
	pid := srv.AddProduct(shopifytest.Product{Title: "P", Variants: []shopifytest.Variant{{SKU: "P"}}, Images: 1})

	// Requested: 10 + the media connection (2 + 5 × (media 1 +
	// mediaErrors 1)) = 22; the product and userErrors are in the 10.
	// Debited: 10 + the connection (2) and its one media item = 13.
	const attach = `mutation($p: ProductUpdateInput!, $m: [CreateMediaInput!]!) {
		productUpdate(product: $p, media: $m) {
			product { media(first: 5) { nodes { id mediaErrors { code } } pageInfo { hasNextPage } } }
			userErrors { message }
		}
	}`
	vars := map[string]any{"p": map[string]any{"id": pid}, "m": []any{}}
	_, a, _ := post(t, srv, attach, vars)
	c := a.Extensions.Cost
	if len(a.Errors) != 0 || c.RequestedQueryCost != 22 || c.ActualQueryCost == nil || *c.ActualQueryCost != 13 {
		t.Fatalf("productUpdate cost %+v (errors %v), want requested 22 and actual 13", c, a.Errors)
	}
	if lvl := c.ThrottleStatus.CurrentlyAvailable; lvl != 1000-13 {
		t.Errorf("bucket after the mutation = %v, want 987", lvl)
	}
	// nodes(ids:) asks for one object per ID.
	const poll = `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`
	_, a, _ = post(t, srv, poll, map[string]any{"ids": []any{"gid://shopify/Video/1", "gid://shopify/Video/2", "gid://shopify/Video/3"}})
	if c := a.Extensions.Cost; len(a.Errors) != 0 || c.RequestedQueryCost != 3 {
		t.Errorf("nodes(ids:) of 3 IDs: cost %+v, errors %v; want requested 3", c, a.Errors)
	}
	_, a, _ = post(t, srv, `{ product(id: "x") { nope } }`, nil)
	if c := a.Extensions.Cost; len(a.Errors) == 0 || c.ThrottleStatus.MaximumAvailable != 1000 || c.ThrottleStatus.RestoreRate != 50 {
		t.Errorf("an invalid request's answer reports %+v, want the bucket", c)
	}
}

func TestInjectedFaults(t *testing.T) {
	srv := shopifytest.NewServer()
	defer srv.Close()
	pid := srv.AddProduct(shopifytest.Product{Title: "P", Variants: []shopifytest.Variant{{SKU: "P"}}})
	srv.InjectFault(shopifytest.Fault{Field: "productVariants", Status: 429, RetryAfter: "3", Times: 2})
	srv.InjectFault(shopifytest.Fault{Field: "productUpdate", Status: 502, AfterExecute: true})
	const q = `{ productVariants(first: 1) { nodes { id } } }`
	for i := range 2 {
		status, _, h := post(t, srv, q, nil)
		if status != 429 || h.Get("Retry-After") != "3" {
			t.Errorf("request %d: status %d, Retry-After %q", i, status, h.Get("Retry-After"))
		}
	}
	if status, _, _ := post(t, srv, q, nil); status != 200 {
		t.Errorf("third request: status %d, want the fault used up", status)
	}
	status, _, _ := post(t, srv, `mutation($p: ProductUpdateInput!, $m: [CreateMediaInput!]!) { productUpdate(product: $p, media: $m) { userErrors { message } } }`,
		map[string]any{"p": map[string]any{"id": pid}, "m": []any{map[string]any{"originalSource": "https://x/y.png", "mediaContentType": "IMAGE"}}})
	if status != 502 || len(srv.Media(pid)) != 1 {
		t.Errorf("status %d, media %d: want 502 after the media was added", status, len(srv.Media(pid)))
	}
	if st := srv.Stats(); st.Faults != 3 {
		t.Errorf("faults = %d, want 3", st.Faults)
	}
}

func TestRandomFaultsRepeatable(t *testing.T) {
	run := func() []int {
		srv := shopifytest.NewServer(shopifytest.WithRandomFaults(shopifytest.RandomFaults{ServerError: 0.2, TooManyRequests: 0.2, LostResponse: 0.1, Seed: 7}))
		defer srv.Close()
		var out []int
		for range 40 {
			status, _, _ := post(t, srv, `{ productVariants(first: 1) { nodes { id } } }`, nil)
			out = append(out, status)
		}
		return out
	}
	a, b := run(), run()
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	faults := 0
	for _, s := range a {
		if s != 200 {
			faults++
		}
	}
	if faults < 8 || faults > 32 {
		t.Errorf("%d faults in 40 requests at a 50%% rate", faults)
	}
}

// stage asks the server for a VIDEO target of size bytes.
func stage(t *testing.T, srv *shopifytest.Server, size int64, method string) (url, resourceURL string, params [][2]string) {
	t.Helper()
	_, a, _ := post(t, srv, `mutation($in: [StagedUploadInput!]!) { stagedUploadsCreate(input: $in) {
		stagedTargets { url resourceUrl parameters { name value } } userErrors { field message } } }`,
		map[string]any{"in": []any{map[string]any{"resource": "VIDEO", "filename": "v.mp4", "mimeType": "video/mp4", "httpMethod": method, "fileSize": fmt.Sprint(size)}}})
	payload := a.Data["stagedUploadsCreate"].(map[string]any)
	if ues := payload["userErrors"].([]any); len(ues) > 0 {
		t.Fatalf("userErrors: %v", ues)
	}
	tg := payload["stagedTargets"].([]any)[0].(map[string]any)
	for _, p := range tg["parameters"].([]any) {
		pm := p.(map[string]any)
		params = append(params, [2]string{pm["name"].(string), pm["value"].(string)})
	}
	return tg["url"].(string), tg["resourceUrl"].(string), params
}

func multipartBody(params [][2]string, file []byte, fileFirst bool) (*bytes.Buffer, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	writeFile := func() {
		fw, _ := w.CreateFormFile("file", "v.mp4")
		_, _ = fw.Write(file)
	}
	if fileFirst {
		writeFile()
	}
	for _, p := range params {
		_ = w.WriteField(p[0], p[1])
	}
	if !fileFirst {
		writeFile()
	}
	_ = w.Close()
	return &b, w.FormDataContentType()
}

func TestStagedUploadReceiver(t *testing.T) {
	srv := shopifytest.NewServer()
	defer srv.Close()
	file := bytes.Repeat([]byte{7}, 1000)
	cases := []struct {
		name      string
		size      int64
		params    func([][2]string) [][2]string
		fileFirst bool
		want      int
	}{
		{"complete", 1000, nil, false, http.StatusCreated},
		{"file before the parameters", 1000, nil, true, http.StatusForbidden},
		{"a parameter missing", 1000, func(p [][2]string) [][2]string { return p[1:] }, false, http.StatusForbidden},
		{"a parameter altered", 1000, func(p [][2]string) [][2]string { p[0][1] += "x"; return p }, false, http.StatusForbidden},
		{"larger than staged", 999, nil, false, http.StatusBadRequest},
		{"smaller than staged", 1001, nil, false, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, _, params := stage(t, srv, tc.size, "POST")
			if tc.params != nil {
				params = tc.params(params)
			}
			body, ct := multipartBody(params, file, tc.fileFirst)
			resp, err := srv.HTTPClient().Post(url, ct, body)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	if st := srv.Stats(); st.Uploads != 1 || st.UploadedBytes != 1000 {
		t.Errorf("uploads %d (%d bytes), want 1 (1000)", st.Uploads, st.UploadedBytes)
	}

	url, _, _ := stage(t, srv, 3, "PUT")
	req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader("abc"))
	resp, err := srv.HTTPClient().Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT upload: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestVideoProcessing(t *testing.T) {
	clock := shopifytest.NewVirtualClock(time.Unix(0, 0))
	for _, tc := range []struct {
		name  string
		opts  []shopifytest.Option
		reads int           // status reads after the attach before the final state
		wait  time.Duration // clock advance before each read
		final string
	}{
		{"after polls", []shopifytest.Option{shopifytest.WithReadyAfterPolls(3)}, 3, 0, "READY"},
		{"after a duration", []shopifytest.Option{shopifytest.WithReadyAfter(time.Minute), shopifytest.WithClock(clock)}, 2, 40 * time.Second, "READY"},
		{"failing", []shopifytest.Option{shopifytest.WithProcessingFailure("VIDEO_VALIDATION_ERROR", "bad")}, 1, 0, "FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := shopifytest.NewServer(tc.opts...)
			defer srv.Close()
			pid := srv.AddProduct(shopifytest.Product{Title: "P", Variants: []shopifytest.Variant{{SKU: "P"}}})
			url, resource, params := stage(t, srv, 10, "POST")
			body, ct := multipartBody(params, make([]byte, 10), false)
			resp, err := srv.HTTPClient().Post(url, ct, body)
			if err != nil || resp.StatusCode != http.StatusCreated {
				t.Fatalf("upload: %v %v", resp, err)
			}
			resp.Body.Close()
			_, a, _ := post(t, srv, `mutation($p: ProductUpdateInput!, $m: [CreateMediaInput!]!) { productUpdate(product: $p, media: $m) {
				product { media(first: 5, query: "media_type:VIDEO") { nodes { status } } } userErrors { message } } }`,
				map[string]any{"p": map[string]any{"id": pid}, "m": []any{map[string]any{"originalSource": resource, "mediaContentType": "VIDEO"}}})
			if got := fmt.Sprint(a.Data); !strings.Contains(got, "PROCESSING") {
				t.Fatalf("right after the attach: %s", got)
			}
			for i := 1; i <= tc.reads; i++ {
				clock.Advance(tc.wait)
				_, a, _ = post(t, srv, `query($id: ID!) { product(id: $id) { media(first: 5) { nodes { status mediaErrors { code } } } } }`, map[string]any{"id": pid})
				got := srv.Media(pid)[0]
				want := "PROCESSING"
				if i == tc.reads {
					want = tc.final
				}
				if got.Status != want {
					t.Fatalf("after read %d: status %s, want %s", i, got.Status, want)
				}
			}
			if m := srv.Media(pid)[0]; m.Bytes != 10 || (tc.final == "FAILED") != (m.ErrorCode == "VIDEO_VALIDATION_ERROR") {
				t.Errorf("media %+v", m)
			}
		})
	}
}

func TestMediaLimit(t *testing.T) {
	srv := shopifytest.NewServer(shopifytest.WithMediaLimit(3))
	defer srv.Close()
	pid := srv.AddProduct(shopifytest.Product{Title: "P", Images: 2})
	img := map[string]any{"originalSource": "https://x/y.png", "mediaContentType": "IMAGE"}
	_, a, _ := post(t, srv, `mutation($p: ProductUpdateInput!, $m: [CreateMediaInput!]!) { productUpdate(product: $p, media: $m) { userErrors { field message } } }`,
		map[string]any{"p": map[string]any{"id": pid}, "m": []any{img, img}})
	ues := a.Data["productUpdate"].(map[string]any)["userErrors"].([]any)
	if len(ues) != 1 || !strings.Contains(fmt.Sprint(ues), "limit of 3 media") || len(srv.Media(pid)) != 3 {
		t.Errorf("userErrors %v, %d media: want the second image refused at the limit of 3", ues, len(srv.Media(pid)))
	}
}

func TestClientTalksToServer(t *testing.T) {
	srv := shopifytest.NewServer()
	defer srv.Close()
	srv.AddProduct(shopifytest.Product{Title: "P", Variants: []shopifytest.Variant{{SKU: "A"}}})
	v, err := srv.Client(shopify.WithRetries(0)).LookupSKU(context.Background(), "A")
	if err != nil || v.SKU != "A" {
		t.Fatalf("LookupSKU = %+v, %v", v, err)
	}
}

func TestVirtualClock(t *testing.T) {
	c := shopifytest.NewVirtualClock(time.Unix(100, 0))
	if err := c.Sleep(context.Background(), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Second)
	if got := c.Now(); !got.Equal(time.Unix(104, 0)) || c.Slept() != 3*time.Second {
		t.Errorf("now %v, slept %v", got, c.Slept())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); err == nil || !c.Now().Equal(time.Unix(104, 0)) {
		t.Errorf("Sleep on a cancelled context: %v, now %v", err, c.Now())
	}
}
