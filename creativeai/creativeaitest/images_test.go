package creativeaitest

import (
	"bytes"
	"encoding/json"
	"image/png"
	"net/http"
	"strings"
	"testing"
)

type imageAnswer struct {
	Created int64 `json:"created"`
	Data    []struct {
		URL           string `json:"url"`
		RevisedPrompt string `json:"revised_prompt"`
	} `json:"data"`
}

func createImage(t *testing.T, s *Server, body any, key string) (imageAnswer, *http.Response) {
	t.Helper()
	resp, b := send(t, s, apiCall{method: "POST", path: "/v1/images/generations", body: body, key: key})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("image create: %d %s", resp.StatusCode, b)
	}
	var a imageAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return a, resp
}

func TestImageGeneration(t *testing.T) {
	s := newTestServer(t)
	a, _ := createImage(t, s, map[string]any{
		"model":     "gpt-image-1",
		"prompt":    "refreshed hero still",
		"size":      "320x200",
		"n":         2,
		"image_url": "https://cdn.example.com/catalog/mug-hero.jpg",
	}, "")
	if a.Created == 0 || len(a.Data) != 2 || a.Data[0].URL == a.Data[1].URL || a.Data[0].RevisedPrompt != "refreshed hero still" {
		t.Fatalf("answer = %+v", a)
	}
	for _, d := range a.Data {
		if !strings.HasPrefix(d.URL, s.URL+"/outputs/img_") {
			t.Errorf("url %q is not served by the simulator", d.URL)
		}
		resp, b := send(t, s, apiCall{method: "GET", path: d.URL, noAuth: true})
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("download %s: %d %s", d.URL, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("download %s: not a png: %v", d.URL, err)
		}
		if b := img.Bounds(); b.Dx() != 320 || b.Dy() != 200 {
			t.Errorf("png is %v, want 320x200", b)
		}
	}
	if st := s.Stats(); st.Images != 2 || st.Downloads != 2 {
		t.Errorf("Images = %d, Downloads = %d, want 2 and 2", st.Images, st.Downloads)
	}
}

func TestImageIdempotency(t *testing.T) {
	s := newTestServer(t)
	body := map[string]any{"prompt": "still", "image_url": "https://cdn.example.com/a.jpg"}
	first, _ := createImage(t, s, body, "still-SKU-1")
	again, resp := createImage(t, s, body, "still-SKU-1")
	if again.Data[0].URL != first.Data[0].URL || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay = %+v, want %+v replayed", again, first)
	}
	body["prompt"] = "another still"
	resp, b := send(t, s, apiCall{method: "POST", path: "/v1/images/generations", body: body, key: "still-SKU-1"})
	checkError(t, resp, b, http.StatusUnprocessableEntity, "idempotency_error")
	if st := s.Stats(); st.Images != 1 || st.IdempotentReplays != 1 {
		t.Errorf("Images = %d, IdempotentReplays = %d, want 1 and 1", st.Images, st.IdempotentReplays)
	}
}

func TestImageValidation(t *testing.T) {
	s := newTestServer(t)
	for _, tc := range []struct {
		body  map[string]any
		param string
	}{
		{map[string]any{"prompt": ""}, "prompt"},
		{map[string]any{"prompt": "p", "model": "midjourney"}, "model"},
		{map[string]any{"prompt": "p", "n": 5}, "n"},
		{map[string]any{"prompt": "p", "n": -1}, "n"},
		{map[string]any{"prompt": "p", "size": "huge"}, "size"},
		{map[string]any{"prompt": "p", "size": "8x8"}, "size"},
		{map[string]any{"prompt": "p", "image_url": "mug.jpg"}, "image_url"},
		{map[string]any{"prompt": "p", "style_reference_url": "file:///etc/passwd"}, "style_reference_url"},
		{map[string]any{"prompt": "p", "response_format": "b64_json"}, "response_format"},
	} {
		resp, b := send(t, s, apiCall{method: "POST", path: "/v1/images/generations", body: tc.body})
		e := checkError(t, resp, b, http.StatusBadRequest, "invalid_request_error")
		if e.Error.Param != tc.param {
			t.Errorf("%v: param %q, want %q (%s)", tc.body, e.Error.Param, tc.param, e.Error.Message)
		}
	}
	resp, _ := send(t, s, apiCall{method: "GET", path: "/outputs/img_unknown.png", noAuth: true})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown image: %d", resp.StatusCode)
	}
}
