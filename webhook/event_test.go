package webhook_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/webhook"
)

func TestParseEvent(t *testing.T) {
	completedAt := time.Date(2026, 3, 11, 8, 44, 3, 0, time.UTC)
	delivery := header(webhook.HeaderEvent, "video.generation.completed", webhook.HeaderDeliveryID, "dlv_1")

	tests := []struct {
		name string
		body string
		h    map[string]string
		want webhook.Event
	}{
		{
			name: "the seed's completed event",
			body: `{"id":"vgen_abc123","object":"video.generation","status":"completed","model":"kling-v3","prompt":"slow push",
				"output_url":"https://cdn.creativeai.run/output/video-abc123.mp4","failover_used":true,
				"completed_at":"2026-03-11T08:44:03Z","error":null,"duration":"5s"}`,
			want: webhook.Event{
				Generation: creativeai.Generation{
					ID: "vgen_abc123", Object: "video.generation", Status: creativeai.StatusCompleted,
					Model: "kling-v3", Prompt: "slow push", OutputURL: "https://cdn.creativeai.run/output/video-abc123.mp4",
					FailoverUsed: true, CompletedAt: completedAt, Duration: 5,
				},
				Type: "video.generation.completed", DeliveryID: "dlv_1",
			},
		},
		{
			name: "alternative forms and unknown fields",
			body: `{"id":"gen_1","status":"failed","duration":5,"completed_at":1773218643,
				"error":{"code":"provider_timeout","message":"provider timeout after retry budget"},"new_field":{"x":[1,2]}}`,
			want: webhook.Event{
				Generation: creativeai.Generation{
					ID: "gen_1", Status: creativeai.StatusFailed, Duration: 5, CompletedAt: completedAt,
					Error: "provider_timeout: provider timeout after retry budget",
				},
				Type: "video.generation.completed", DeliveryID: "dlv_1",
			},
		},
		{
			name: "unknown status kept as sent",
			body: `{"id":"vgen_2","status":"upscaling"}`,
			want: webhook.Event{
				Generation: creativeai.Generation{ID: "vgen_2", Status: "upscaling"},
				Type:       "video.generation.completed", DeliveryID: "dlv_1",
			},
		},
		{
			name: "Standard Webhooks envelope and webhook-id",
			body: `{"type":"video.generation.processing","timestamp":"2026-03-11T08:44:03Z","data":{"id":"vgen_3","status":"processing"}}`,
			h:    map[string]string{webhook.HeaderWebhookID: "msg_9"},
			want: webhook.Event{
				Generation: creativeai.Generation{ID: "vgen_3", Status: creativeai.StatusProcessing},
				Type:       "video.generation.processing", DeliveryID: "msg_9",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := delivery.Clone()
			if tt.h != nil {
				h = header()
				for k, v := range tt.h {
					h.Set(k, v)
				}
			}
			got, err := webhook.ParseEvent([]byte(tt.body), h)
			if err != nil {
				t.Fatalf("ParseEvent: %v", err)
			}
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("ParseEvent mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseEventRejectsInvalidEvents(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"empty", ``, "unexpected end of JSON input"},
		{"not JSON", `id=vgen_1&status=completed`, "invalid character"},
		{"array", `[{"id":"vgen_1","status":"completed"}]`, "cannot unmarshal array"},
		{"string", `"vgen_1"`, "cannot unmarshal string"},
		{"null", `null`, `no "id" and no "status"`},
		{"empty object", `{}`, `no "id" and no "status"`},
		{"no id", `{"status":"completed"}`, `no "id"`},
		{"no status", `{"id":"vgen_1"}`, `generation "vgen_1" has no "status"`},
		{"empty id", `{"id":"","status":"completed"}`, `no "id"`},
		{"id of the wrong type", `{"id":42,"status":"completed"}`, "cannot unmarshal number"},
		{"trailing data", `{"id":"vgen_1","status":"completed"} {}`, "invalid character"},
		{"bad timestamp", `{"id":"vgen_1","status":"completed","completed_at":"yesterday"}`, "completed_at"},
		{"envelope without a generation", `{"type":"x","data":{"foo":1}}`, `no "id" and no "status"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := webhook.ParseEvent([]byte(tt.body), nil)
			if err == nil {
				t.Fatalf("ParseEvent = %+v, nil; want an error", e)
			}
			if !errors.Is(err, webhook.ErrInvalidPayload) {
				t.Errorf("error %v does not wrap ErrInvalidPayload", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"id":"vgen_1","status":"completed","duration":"5s","completed_at":1773218643}`))
	f.Add([]byte(`{"type":"t","data":{"id":"vgen_1","status":"processing"}}`))
	f.Add([]byte(`{"id":"vgen_1","status":"failed","error":{"message":"m"}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"id":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := webhook.ParseEvent(body, header(webhook.HeaderDeliveryID, "dlv"))
		if err != nil {
			if !errors.Is(err, webhook.ErrInvalidPayload) {
				t.Fatalf("error %v does not wrap ErrInvalidPayload", err)
			}
			return
		}
		if e.ID == "" || e.Status == "" || e.DeliveryID != "dlv" {
			t.Fatalf("ParseEvent accepted an event without id or status: %+v", e)
		}
		if !json.Valid(body) {
			t.Fatalf("ParseEvent accepted invalid JSON %q", body)
		}
	})
}
