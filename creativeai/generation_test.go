package creativeai

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestGenerationUnmarshal(t *testing.T) {
	completed := time.Date(2026, 3, 1, 12, 0, 5, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want Generation
	}{
		{"webhook payload from the workflow page", `{
			"id":"vgen_01","object":"video.generation","status":"completed","model":"kling-v3",
			"prompt":"slow push","output_url":"https://cdn.creativeai.run/v/01.mp4",
			"failover_used":true,"completed_at":"2026-03-01T12:00:05Z","error":null}`,
			Generation{ID: "vgen_01", Object: "video.generation", Status: StatusCompleted, Model: "kling-v3",
				Prompt: "slow push", OutputURL: "https://cdn.creativeai.run/v/01.mp4", FailoverUsed: true, CompletedAt: completed}},
		{"gen_ id, integer duration, Unix timestamps", `{"id":"gen_9","status":"processing","duration":5,
			"created_at":1772366400,"completed_at":"1772366405.5"}`,
			Generation{ID: "gen_9", Status: StatusProcessing, Duration: 5,
				CreatedAt:   time.Unix(1772366400, 0).UTC(),
				CompletedAt: time.Unix(1772366405, 5e8).UTC()}},
		{"string duration and offset time", `{"id":"g","status":"pending","duration":"10s","created_at":"2026-03-01T13:00:05+01:00"}`,
			Generation{ID: "g", Status: StatusPending, Duration: 10, CreatedAt: completed.In(time.FixedZone("", 3600))}},
		{"error as string", `{"id":"g","status":"failed","error":"content policy"}`,
			Generation{ID: "g", Status: StatusFailed, Error: "content policy"}},
		{"error as object", `{"id":"g","status":"failed","error":{"code":"provider_timeout","message":"provider timed out"}}`,
			Generation{ID: "g", Status: StatusFailed, Error: "provider_timeout: provider timed out"}},
		{"error object with message only", `{"id":"g","status":"failed","error":{"message":"boom"}}`,
			Generation{ID: "g", Status: StatusFailed, Error: "boom"}},
		{"error object with type only", `{"id":"g","status":"failed","error":{"type":"server_error"}}`,
			Generation{ID: "g", Status: StatusFailed, Error: "server_error"}},
		{"error object without text", `{"id":"g","status":"failed","error":{"retry":false}}`,
			Generation{ID: "g", Status: StatusFailed, Error: `{"retry":false}`}},
		{"error as number", `{"id":"g","status":"failed","error":502}`,
			Generation{ID: "g", Status: StatusFailed, Error: "502"}},
		{"empty timestamps", `{"id":"g","status":"pending","created_at":"","completed_at":null}`,
			Generation{ID: "g", Status: StatusPending}},
		{"unknown fields and status", `{"id":"g","status":"upscaling","eta_seconds":30,"provider":{"name":"x"}}`,
			Generation{ID: "g", Status: "upscaling"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Generation
			if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Generation (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGenerationUnmarshalErrors(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{`{"id":"g","created_at":"yesterday"}`, "created_at"},
		{`{"id":"g","completed_at":-5}`, "completed_at"},
		{`{"id":"g","completed_at":1e12}`, "completed_at"},
		{`{"id":"g","completed_at":"NaN"}`, "completed_at"},
		{`{"id":"g","completed_at":true}`, "completed_at"},
		{`{"id":"g","duration":"forever"}`, "duration"},
		{`{"id":"g","status":5}`, "status"},
		{`[]`, "cannot unmarshal"},
	}
	for _, tt := range tests {
		var g Generation
		err := json.Unmarshal([]byte(tt.in), &g)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Unmarshal(%s): err = %v, want one mentioning %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestGenerationRoundTrip(t *testing.T) {
	in := Generation{
		ID: "vgen_1", Object: "video.generation", Status: StatusFailed, Model: "veo-3.1", Prompt: "p",
		ImageURL: "https://x/i.jpg", Duration: 8, AspectRatio: "9:16", OutputURL: "https://x/o.mp4",
		FailoverUsed: true, Error: "provider_timeout: provider timed out",
		CreatedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), CompletedAt: time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC),
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"duration":"8s"`) {
		t.Errorf("duration not encoded as a string: %s", b)
	}
	var out Generation
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-in +out):\n%s", diff)
	}
	// The zero parts of a fresh generation are left out.
	b, _ = json.Marshal(Generation{ID: "g", Status: StatusPending})
	if got, want := string(b), `{"id":"g","status":"pending"}`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
}
