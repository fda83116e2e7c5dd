package creativeai

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestImagesCreate(t *testing.T) {
	client, mux := setup(t)
	var keys []string
	calls := 0
	mux.HandleFunc("POST /v1/images/generations", func(w http.ResponseWriter, r *http.Request) {
		calls++
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		var got ImageRequest
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Errorf("decoding request: %v", err)
		}
		want := ImageRequest{
			Model: "gpt-image-1", Prompt: "mug on a white sweep", Size: "1024x1024", N: 1,
			ImageURL: "https://cdn.example.com/catalog/mug-hero.jpg", StyleReferenceURL: "https://cdn.example.com/style.jpg",
			CameraAngle: "three-quarter",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("request (-want +got):\n%s", diff)
		}
		if calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"created":1767225600,"data":[{"url":"https://cdn.creativeai.run/i/1.png","revised_prompt":"a mug"}],"usage":{"credits":1}}`))
	})
	res, resp, err := client.Images.Create(t.Context(), &ImageRequest{
		Model: "gpt-image-1", Prompt: "mug on a white sweep", Size: "1024x1024", N: 1,
		ImageURL: "https://cdn.example.com/catalog/mug-hero.jpg", StyleReferenceURL: "https://cdn.example.com/style.jpg",
		CameraAngle: "three-quarter",
	}, WithIdempotencyKey("sku-1001/still"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	want := &ImageResult{Created: 1767225600, Data: []Image{{URL: "https://cdn.creativeai.run/i/1.png", RevisedPrompt: "a mug"}}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if resp.Attempts != 2 {
		t.Errorf("Attempts = %d, want 2", resp.Attempts)
	}
	if diff := cmp.Diff([]string{"sku-1001/still", "sku-1001/still"}, keys); diff != "" {
		t.Errorf("idempotency keys (-want +got):\n%s", diff)
	}
}

func TestImagesCreateMinimalBody(t *testing.T) {
	client, mux := setup(t)
	mux.HandleFunc("POST /v1/images/generations", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]any{"prompt": "p"}, body); diff != "" {
			t.Errorf("body (-want +got):\n%s", diff)
		}
		writeJSON(t, w, http.StatusOK, map[string]any{"data": []any{map[string]any{"url": "https://x/1.png"}}})
	})
	if _, _, err := client.Images.Create(t.Context(), &ImageRequest{Prompt: "p"}); err != nil {
		t.Fatal(err)
	}
}

func TestImagesCreateErrors(t *testing.T) {
	client, mux := setup(t)
	mux.HandleFunc("POST /v1/images/generations", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(t, w, http.StatusOK, map[string]any{"created": 1, "data": []any{}})
	})
	tests := []struct {
		name    string
		req     *ImageRequest
		wantErr string
	}{
		{"nil", nil, "nil request"},
		{"no prompt", &ImageRequest{Model: "dall-e-3"}, "Prompt is required"},
		{"too many", &ImageRequest{Prompt: "p", N: 5}, "N is 5"},
		{"negative", &ImageRequest{Prompt: "p", N: -1}, "N is -1"},
		{"no image in answer", &ImageRequest{Prompt: "p"}, "no image URL"},
	}
	for _, tt := range tests {
		_, _, err := client.Images.Create(t.Context(), tt.req)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}
