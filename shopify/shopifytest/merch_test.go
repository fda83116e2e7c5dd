package shopifytest_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

const reorderMutation = `mutation($id: ID!, $moves: [MoveInput!]!) {
  productReorderMedia(id: $id, moves: $moves) { job { id done } mediaUserErrors { code field message } }
}`

func galleryIDs(srv *shopifytest.Server, pid string) []string {
	var ids []string
	for _, m := range srv.Media(pid) {
		ids = append(ids, m.ID)
	}
	return ids
}

// TestReorderIsAsynchronous: productReorderMedia answers a job, the
// gallery keeps its order until the job is read in a later request, and
// the moves then apply in order; a move of media not on the product is
// refused with a code and starts nothing.
func TestReorderIsAsynchronous(t *testing.T) {
	srv := shopifytest.NewServer()
	defer srv.Close()
	pid := srv.AddProduct(shopifytest.Product{Title: "P", Images: 3})
	g := galleryIDs(srv, pid)
	_, a, _ := post(t, srv, reorderMutation, map[string]any{"id": pid, "moves": []any{
		map[string]any{"id": g[2], "newPosition": "0"}, map[string]any{"id": g[0], "newPosition": "2"},
	}})
	payload := a.Data["productReorderMedia"].(map[string]any)
	job := payload["job"].(map[string]any)
	if job["done"] != false || len(payload["mediaUserErrors"].([]any)) != 0 {
		t.Fatalf("payload %v: want a job not done and no errors", payload)
	}
	if got := galleryIDs(srv, pid); !slices.Equal(got, g) {
		t.Errorf("gallery %v changed before the job ran", got)
	}
	_, a, _ = post(t, srv, `query($id: ID!) { job(id: $id) { id done } }`, map[string]any{"id": job["id"]})
	if a.Data["job"].(map[string]any)["done"] != true {
		t.Errorf("job not done when read in a later request: %v", a.Data)
	}
	if got, want := galleryIDs(srv, pid), []string{g[2], g[1], g[0]}; !slices.Equal(got, want) {
		t.Errorf("gallery %v, want %v", got, want)
	}
	// Gallery order (POSITION) and creation order (ID) now differ.
	_, a, _ = post(t, srv, `query($id: ID!) { product(id: $id) {
	  byPos: media(first: 1) { nodes { id } } byID: media(first: 1, sortKey: ID) { nodes { id } } } }`, map[string]any{"id": pid})
	prod := a.Data["product"].(map[string]any)
	first := func(k string) any { return prod[k].(map[string]any)["nodes"].([]any)[0].(map[string]any)["id"] }
	if first("byPos") != g[2] || first("byID") != g[0] {
		t.Errorf("sort keys: POSITION first %v, ID first %v; want %s and %s", first("byPos"), first("byID"), g[2], g[0])
	}

	other := srv.AddProduct(shopifytest.Product{Title: "Q", Images: 1})
	_, a, _ = post(t, srv, reorderMutation, map[string]any{"id": other, "moves": []any{map[string]any{"id": g[0], "newPosition": "0"}}})
	payload = a.Data["productReorderMedia"].(map[string]any)
	ues := payload["mediaUserErrors"].([]any)
	if payload["job"] != nil || len(ues) != 1 || ues[0].(map[string]any)["code"] != "MEDIA_DOES_NOT_EXIST_ON_PRODUCT" {
		t.Errorf("moving another product's media: %v", payload)
	}
	if st := srv.Stats(); st.Reorders != 1 || st.Invalid != 0 {
		t.Errorf("reorders %d, invalid %d; want 1 and 0", st.Reorders, st.Invalid)
	}
}

const fileUpdateMutation = `mutation($files: [FileUpdateInput!]!) { fileUpdate(files: $files) { userErrors { code field message } } }`

// TestFileReferences: removing a product reference detaches the video and
// keeps the file; adding it again appends it, within the media limit.
func TestFileReferences(t *testing.T) {
	srv := shopifytest.NewServer(shopifytest.WithMediaLimit(3))
	defer srv.Close()
	pid := srv.AddProduct(shopifytest.Product{Title: "P", Images: 1})
	vid := srv.AddVideoMedia(pid, "cv-x.mp4", "P – product video")
	_, a, _ := post(t, srv, fileUpdateMutation, map[string]any{"files": []any{map[string]any{"id": vid, "referencesToRemove": []any{pid}}}})
	if ues := a.Data["fileUpdate"].(map[string]any)["userErrors"].([]any); len(ues) != 0 || len(srv.Media(pid)) != 1 {
		t.Fatalf("remove: errors %v, %d media left; want none and 1", ues, len(srv.Media(pid)))
	}
	_, a, _ = post(t, srv, `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Video { id filename } } }`, map[string]any{"ids": []any{vid}})
	if n := a.Data["nodes"].([]any)[0]; n == nil {
		t.Error("the detached video's file is gone")
	}
	srv.AddVideoMedia(pid, "other.mp4", "")
	srv.AddVideoMedia(pid, "third.mp4", "") // the product is full: 3 media
	_, a, _ = post(t, srv, fileUpdateMutation, map[string]any{"files": []any{map[string]any{"id": vid, "referencesToAdd": []any{pid}}}})
	ues := a.Data["fileUpdate"].(map[string]any)["userErrors"].([]any)
	if len(ues) != 1 || !strings.Contains(ues[0].(map[string]any)["message"].(string), "limit") || len(srv.Media(pid)) != 3 {
		t.Errorf("adding to a full product: %v, %d media", ues, len(srv.Media(pid)))
	}
	_, a, _ = post(t, srv, fileUpdateMutation, map[string]any{"files": []any{map[string]any{"id": "gid://shopify/Video/1", "alt": "x"}}})
	if ues := a.Data["fileUpdate"].(map[string]any)["userErrors"].([]any); len(ues) != 1 || ues[0].(map[string]any)["code"] != "FILE_DOES_NOT_EXIST" {
		t.Errorf("unknown file: %v", ues)
	}
}

// TestMetafields: metafieldsSet creates and updates a product's
// metafields, all or none, and Product.metafield reads them.
func TestMetafields(t *testing.T) {
	srv := shopifytest.NewServer()
	defer srv.Close()
	pid := srv.AddProduct(shopifytest.Product{Title: "P"})
	set := `mutation($m: [MetafieldsSetInput!]!) { metafieldsSet(metafields: $m) { metafields { id } userErrors { code field message } } }`
	mf := func(key, value string) map[string]any {
		return map[string]any{"ownerId": pid, "namespace": "catalogvideo", "key": key, "value": value, "type": "json"}
	}
	_, a, _ := post(t, srv, set, map[string]any{"m": []any{mf("ok", `{"a":1}`), mf("bad", `{`)}})
	ues := a.Data["metafieldsSet"].(map[string]any)["userErrors"].([]any)
	if len(ues) != 1 || ues[0].(map[string]any)["code"] != "INVALID_VALUE" {
		t.Errorf("invalid JSON: %v", ues)
	}
	if _, ok := srv.Metafield(pid, "catalogvideo", "ok"); ok {
		t.Error("a refused metafieldsSet set the valid metafield")
	}
	for _, v := range []string{`{"a":1}`, `{"a":2}`} {
		_, a, _ = post(t, srv, set, map[string]any{"m": []any{mf("snap", v)}})
		if ues := a.Data["metafieldsSet"].(map[string]any)["userErrors"].([]any); len(ues) != 0 {
			t.Fatalf("set %s: %v", v, ues)
		}
	}
	_, a, _ = post(t, srv, `query($id: ID!) { product(id: $id) { s: metafield(namespace: "catalogvideo", key: "snap") { value } n: metafield(namespace: "catalogvideo", key: "none") { value } } }`,
		map[string]any{"id": pid})
	prod := a.Data["product"].(map[string]any)
	if prod["s"].(map[string]any)["value"] != `{"a":2}` || prod["n"] != nil {
		t.Errorf("metafields read %v", prod)
	}
}
