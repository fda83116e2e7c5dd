package creativeai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestVideosCreate(t *testing.T) {
	for _, code := range []int{http.StatusAccepted, http.StatusOK, http.StatusCreated} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			client, mux := setup(t)
			mux.HandleFunc("POST /v1/video/generations", func(w http.ResponseWriter, r *http.Request) {
				var body map[string]any
				if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
					t.Errorf("decoding request: %v", err)
				}
				want := map[string]any{
					"model":        "kling-v3",
					"prompt":       "5-second product hero shot, slow camera push",
					"image_url":    "https://cdn.example.com/catalog/mug-hero.jpg",
					"duration":     "5s",
					"aspect_ratio": "16:9",
					"webhook_url":  "https://your-app.com/webhooks/creativeai",
				}
				if diff := cmp.Diff(want, body); diff != "" {
					t.Errorf("request body (-want +got):\n%s", diff)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(code)
				// The documentation's mixed forms: integer duration, extra fields.
				fmt.Fprint(w, `{"id":"vgen_abc","object":"video.generation","status":"pending","model":"kling-v3",
					"duration":5,"created_at":1767225600,"queue_position":3}`)
			})
			g, resp, err := client.Videos.Create(t.Context(), &VideoRequest{
				Model:       "kling-v3",
				Prompt:      "5-second product hero shot, slow camera push",
				ImageURL:    "https://cdn.example.com/catalog/mug-hero.jpg",
				Duration:    5,
				AspectRatio: "16:9",
				WebhookURL:  "https://your-app.com/webhooks/creativeai",
			})
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			want := &Generation{
				ID: "vgen_abc", Object: "video.generation", Status: StatusPending, Model: "kling-v3",
				Duration: 5, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			}
			if diff := cmp.Diff(want, g); diff != "" {
				t.Errorf("generation (-want +got):\n%s", diff)
			}
			if resp.StatusCode != code {
				t.Errorf("StatusCode = %d, want %d", resp.StatusCode, code)
			}
		})
	}
}

func TestVideosCreateOmitsEmptyFields(t *testing.T) {
	client, mux := setup(t)
	mux.HandleFunc("POST /v1/video/generations", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if got, want := string(b), `{"prompt":"p"}`; got != want {
			t.Errorf("body = %s, want %s", got, want)
		}
		writeJSON(t, w, http.StatusAccepted, map[string]any{"id": "gen_1", "status": "pending"})
	})
	if _, _, err := client.Videos.Create(t.Context(), &VideoRequest{Prompt: "p"}); err != nil {
		t.Fatal(err)
	}
}

func TestVideosCreateRejectsBadRequests(t *testing.T) {
	client, mux := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("invalid request was sent: %s %s", r.Method, r.URL)
	})
	tests := []struct {
		name    string
		req     *VideoRequest
		wantErr string
	}{
		{"nil", nil, "nil request"},
		{"nothing to render", &VideoRequest{Model: "kling-v3"}, "needs a Prompt or an ImageURL"},
		{"negative duration", &VideoRequest{Prompt: "p", Duration: -5}, "Duration is -5"},
		{"relative webhook URL", &VideoRequest{Prompt: "p", WebhookURL: "/webhooks"}, "WebhookURL"},
		{"webhook URL without scheme", &VideoRequest{Prompt: "p", WebhookURL: "your-app.com/hook"}, "WebhookURL"},
		{"unparsable webhook URL", &VideoRequest{Prompt: "p", WebhookURL: "http://[::1"}, "WebhookURL"},
	}
	for _, tt := range tests {
		_, _, err := client.Videos.Create(t.Context(), tt.req)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestVideosCreateWithoutID(t *testing.T) {
	client, mux := setup(t)
	mux.HandleFunc("POST /v1/video/generations", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(t, w, http.StatusAccepted, map[string]any{"status": "pending"})
	})
	_, _, err := client.Videos.Create(t.Context(), &VideoRequest{Prompt: "p"})
	if err == nil || !strings.Contains(err.Error(), "no generation id") {
		t.Errorf("err = %v, want a missing id error", err)
	}
}

func TestVideosGet(t *testing.T) {
	client, mux := setup(t)
	mux.HandleFunc("GET /v1/video/generations/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"status":"completed","output_url":"https://cdn.creativeai.run/v/1.mp4",
			"failover_used":true,"completed_at":"2026-01-01T00:01:30Z","error":null,"duration":"5s"}`, r.PathValue("id"))
	})
	g, _, err := client.Videos.Get(t.Context(), "vgen_1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	want := &Generation{
		ID: "vgen_1", Status: StatusCompleted, OutputURL: "https://cdn.creativeai.run/v/1.mp4",
		FailoverUsed: true, CompletedAt: time.Date(2026, 1, 1, 0, 1, 30, 0, time.UTC), Duration: 5,
	}
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("generation (-want +got):\n%s", diff)
	}
}

func TestVideosGetEscapesID(t *testing.T) {
	client, mux := setup(t)
	mux.HandleFunc("/v1/video/generations/", func(w http.ResponseWriter, r *http.Request) {
		if got, want := r.URL.EscapedPath(), "/v1/video/generations/a%2Fb%3Fc"; got != want {
			t.Errorf("path = %q, want %q", got, want)
		}
		writeJSON(t, w, http.StatusOK, map[string]any{"id": "a/b?c", "status": "pending"})
	})
	if _, _, err := client.Videos.Get(t.Context(), "a/b?c"); err != nil {
		t.Fatal(err)
	}
}

func TestVideosGetRejectsBadIDs(t *testing.T) {
	client, mux := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request sent for an invalid id: %s", r.URL)
	})
	for _, id := range []string{"", ".", "..", "a\nb"} {
		if _, _, err := client.Videos.Get(t.Context(), id); err == nil {
			t.Errorf("Get(%q) succeeded", id)
		}
		if _, err := client.Videos.Wait(t.Context(), id, nil); err == nil {
			t.Errorf("Wait(%q) succeeded", id)
		}
	}
}

func TestVideosGetNotFound(t *testing.T) {
	client, mux := setup(t)
	mux.HandleFunc("GET /v1/video/generations/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(t, w, http.StatusNotFound, map[string]any{"error": "generation not found"})
	})
	_, _, err := client.Videos.Get(t.Context(), "vgen_x")
	if !IsNotFound(err) {
		t.Errorf("IsNotFound(%v) = false", err)
	}
}

// progression answers polls with the statuses in order, repeating the last.
func progression(t *testing.T, statuses ...Status) (http.HandlerFunc, *[]time.Duration) {
	start := time.Now()
	var times []time.Duration
	return func(w http.ResponseWriter, r *http.Request) {
		times = append(times, time.Since(start))
		s := statuses[min(len(times), len(statuses))-1]
		g := Generation{ID: r.PathValue("id"), Status: s}
		if s == StatusCompleted {
			g.OutputURL = "https://cdn.creativeai.run/v/" + g.ID + ".mp4"
		}
		writeJSON(t, w, http.StatusOK, g)
	}, &times
}

func secs(ss ...float64) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = time.Duration(s * float64(time.Second))
	}
	return out
}

func TestVideosWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, mux := setupSynctest(t)
		h, times := progression(t, StatusPending, StatusPending, StatusProcessing, StatusProcessing, StatusCompleted)
		mux.HandleFunc("GET /v1/video/generations/{id}", h)

		var seen []Status
		g, err := client.Videos.Wait(t.Context(), "vgen_1", &WaitOptions{
			OnStatus: func(g *Generation) { seen = append(seen, g.Status) },
		})
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if g.Status != StatusCompleted || g.OutputURL == "" {
			t.Errorf("Wait returned %+v, want a completed generation with its output", g)
		}
		if diff := cmp.Diff([]Status{StatusPending, StatusProcessing, StatusCompleted}, seen); diff != "" {
			t.Errorf("OnStatus calls (-want +got):\n%s", diff)
		}
		// 5s after a change, growing by half while nothing changes.
		if diff := cmp.Diff(secs(0, 5, 12.5, 17.5, 25), *times); diff != "" {
			t.Errorf("poll times (-want +got):\n%s", diff)
		}
	})
}

func TestVideosWaitIntervalCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, mux := setupSynctest(t)
		h, times := progression(t, StatusProcessing, StatusProcessing, StatusProcessing, StatusProcessing, StatusProcessing, StatusFailed)
		mux.HandleFunc("GET /v1/video/generations/{id}", h)
		g, err := client.Videos.Wait(t.Context(), "vgen_1", &WaitOptions{Interval: 10 * time.Second, MaxInterval: 20 * time.Second})
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		// A failed render ends the wait without an error.
		if g.Status != StatusFailed {
			t.Errorf("status = %q, want failed", g.Status)
		}
		if diff := cmp.Diff(secs(0, 10, 25, 45, 65, 85), *times); diff != "" {
			t.Errorf("poll times (-want +got):\n%s", diff)
		}
	})
}

func TestVideosWaitUnknownStatusKeepsPolling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, mux := setupSynctest(t)
		h, _ := progression(t, "queued_for_gpu", StatusProcessing, StatusCompleted)
		mux.HandleFunc("GET /v1/video/generations/{id}", h)
		var seen []Status
		g, err := client.Videos.Wait(t.Context(), "vgen_1", &WaitOptions{OnStatus: func(g *Generation) { seen = append(seen, g.Status) }})
		if err != nil || g.Status != StatusCompleted {
			t.Fatalf("Wait = %+v, %v; want completed", g, err)
		}
		if diff := cmp.Diff([]Status{"queued_for_gpu", StatusProcessing, StatusCompleted}, seen); diff != "" {
			t.Errorf("OnStatus calls (-want +got):\n%s", diff)
		}
	})
}

// TestVideosWaitContextCancelled: cancelling ends the wait at once, not at
// the next poll.
func TestVideosWaitContextCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, mux := setupSynctest(t)
		h, times := progression(t, StatusProcessing)
		mux.HandleFunc("GET /v1/video/generations/{id}", h)

		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(42*time.Second, cancel)
		start := time.Now()
		_, err := client.Videos.Wait(ctx, "vgen_1", nil)
		if elapsed := time.Since(start); elapsed != 42*time.Second {
			t.Errorf("Wait returned %v after start, want 42s (when cancelled)", elapsed)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if len(*times) != 5 { // 0, 5, 12.5, 23.75, 40.625
			t.Errorf("%d polls before cancellation, want 5", len(*times))
		}
	})
}

func TestVideosWaitDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, mux := setupSynctest(t)
		h, _ := progression(t, StatusPending)
		mux.HandleFunc("GET /v1/video/generations/{id}", h)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		_, err := client.Videos.Wait(ctx, "vgen_1", nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		if !strings.Contains(err.Error(), "vgen_1") {
			t.Errorf("err = %v, want it to name the generation", err)
		}
	})
}

func TestVideosWaitStopsOnPermanentError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, mux := setupSynctest(t)
		calls := 0
		mux.HandleFunc("GET /v1/video/generations/{id}", func(w http.ResponseWriter, r *http.Request) {
			calls++
			w.WriteHeader(http.StatusNotFound)
		})
		_, err := client.Videos.Wait(t.Context(), "vgen_gone", nil)
		if !IsNotFound(err) || calls != 1 {
			t.Errorf("err = %v after %d polls, want not found after 1", err, calls)
		}
	})
}

// TestVideosWaitSurvivesOutage: a few minutes of 503s, longer than the
// client's retries, in the middle of a render.
func TestVideosWaitSurvivesOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, mux := setupSynctest(t, WithRetryPolicy(RetryPolicy{MaxRetries: 1, InitialDelay: time.Second}))
		start := time.Now()
		mux.HandleFunc("GET /v1/video/generations/{id}", func(w http.ResponseWriter, r *http.Request) {
			switch since := time.Since(start); {
			case since < 10*time.Second:
				writeJSON(t, w, http.StatusOK, Generation{ID: "vgen_1", Status: StatusProcessing})
			case since < 2*time.Minute:
				w.WriteHeader(http.StatusServiceUnavailable)
			default:
				writeJSON(t, w, http.StatusOK, Generation{ID: "vgen_1", Status: StatusCompleted})
			}
		})
		g, err := client.Videos.Wait(t.Context(), "vgen_1", nil)
		if err != nil || g.Status != StatusCompleted {
			t.Fatalf("Wait = %+v, %v; want completed", g, err)
		}
	})
}

func TestVideosWaitOutageThenCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, mux := setupSynctest(t, WithRetryPolicy(RetryPolicy{MaxRetries: 0}))
		mux.HandleFunc("GET /v1/video/generations/{id}", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
		})
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		_, err := client.Videos.Wait(ctx, "vgen_1", nil)
		if !errors.Is(err, context.DeadlineExceeded) || !hasStatus(err, http.StatusBadGateway) {
			t.Errorf("err = %v, want the deadline and the last 502", err)
		}
	})
}

func TestVideosWaitOptionErrors(t *testing.T) {
	client, _ := setup(t)
	for _, o := range []*WaitOptions{{Interval: -time.Second}, {MaxInterval: -time.Second}} {
		if _, err := client.Videos.Wait(t.Context(), "vgen_1", o); err == nil || !strings.Contains(err.Error(), "negative") {
			t.Errorf("Wait(%+v): err = %v, want a negative interval error", o, err)
		}
	}
}

// listServer serves pages of generations keyed by cursor.
func listServer(t *testing.T, mux *http.ServeMux, pages map[string]string) *[]string {
	var queries []string
	mux.HandleFunc("GET /v1/video/generations", func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		page, ok := pages[r.URL.Query().Get("cursor")]
		if !ok {
			t.Errorf("unexpected query %q", r.URL.RawQuery)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, page)
	})
	return &queries
}

func ids(t *testing.T, seq func(func(*Generation, error) bool)) ([]string, error) {
	t.Helper()
	var out []string
	for g, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, g.ID)
	}
	return out, nil
}

func TestVideosList(t *testing.T) {
	client, mux := setup(t)
	queries := listServer(t, mux, map[string]string{
		"":   `{"data":[{"id":"g1","status":"completed"},{"id":"g2","status":"completed"}],"has_more":true,"next_cursor":"c2"}`,
		"c2": `{"data":[{"id":"g3","status":"completed","duration":5}],"has_more":true,"next_cursor":"c3"}`,
		"c3": `{"data":[],"has_more":false}`,
	})
	got, err := ids(t, client.Videos.List(t.Context(), &ListOptions{Status: StatusCompleted, Limit: 2}))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if diff := cmp.Diff([]string{"g1", "g2", "g3"}, got); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	want := []string{"limit=2&status=completed", "cursor=c2&limit=2&status=completed", "cursor=c3&limit=2&status=completed"}
	if diff := cmp.Diff(want, *queries); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
}

func TestVideosListStopsWhenAsked(t *testing.T) {
	client, mux := setup(t)
	queries := listServer(t, mux, map[string]string{
		"":   `{"data":[{"id":"g1"},{"id":"g2"}],"has_more":true,"next_cursor":"c2"}`,
		"c2": `{"data":[{"id":"g3"}],"has_more":false}`,
	})
	for g, err := range client.Videos.List(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		if g.ID == "g2" {
			break
		}
	}
	if len(*queries) != 1 {
		t.Errorf("%d pages fetched after breaking on the first page, want 1", len(*queries))
	}
}

func TestVideosListPaging(t *testing.T) {
	tests := []struct {
		name    string
		pages   map[string]string
		want    []string
		wantErr string
	}{
		{"next_cursor without has_more", map[string]string{
			"":   `{"data":[{"id":"g1"}],"next_cursor":"c2"}`,
			"c2": `{"data":[{"id":"g2"}]}`,
		}, []string{"g1", "g2"}, ""},
		{"has_more false wins over a cursor", map[string]string{
			"": `{"data":[{"id":"g1"}],"has_more":false,"next_cursor":"c2"}`,
		}, []string{"g1"}, ""},
		{"null entries skipped", map[string]string{
			"": `{"data":[null,{"id":"g1"}]}`,
		}, []string{"g1"}, ""},
		{"has_more without cursor", map[string]string{
			"": `{"data":[{"id":"g1"}],"has_more":true}`,
		}, []string{"g1"}, "no next_cursor"},
		{"repeated cursor", map[string]string{
			"":   `{"data":[{"id":"g1"}],"has_more":true,"next_cursor":"c2"}`,
			"c2": `{"data":[{"id":"g2"}],"has_more":true,"next_cursor":"c2"}`,
		}, []string{"g1", "g2"}, "repeats cursor"},
		{"bad page", map[string]string{
			"": `{"data":{}}`,
		}, nil, "decoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, mux := setup(t)
			listServer(t, mux, tt.pages)
			got, err := ids(t, client.Videos.List(t.Context(), nil))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestVideosListErrors(t *testing.T) {
	client, mux := setup(t, WithRetryPolicy(RetryPolicy{}))
	mux.HandleFunc("GET /v1/video/generations", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	})
	_, err := ids(t, client.Videos.List(t.Context(), nil))
	if !IsUnauthorized(err) {
		t.Errorf("err = %v, want 401", err)
	}
	_, err = ids(t, client.Videos.List(t.Context(), &ListOptions{Limit: -1}))
	if err == nil || !strings.Contains(err.Error(), "Limit is -1") {
		t.Errorf("err = %v, want a Limit error", err)
	}
}
