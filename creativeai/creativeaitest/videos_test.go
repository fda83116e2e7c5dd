package creativeaitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

func TestCreateAppliesDefaultsAndAnswers202(t *testing.T) {
	s := newTestServer(t, WithManualRender())
	resp, b := send(t, s, apiCall{method: "POST", path: "/v1/video/generations", body: map[string]any{
		"prompt":    "  slow push-in  ",
		"image_url": "https://cdn.example.com/a.jpg",
		"ignored":   "unknown fields are tolerated",
	}})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status = %d, body %s", resp.StatusCode, b)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["duration"] != "5s" || raw["object"] != "video.generation" || raw["status"] != "pending" {
		t.Errorf("answer %s: want duration \"5s\", object video.generation, status pending", b)
	}
	g := decodeGeneration(t, b)
	if !strings.HasPrefix(g.ID, "vgen_") || g.Model != ServiceDefaultModel || g.AspectRatio != ServiceDefaultAspectRatio ||
		g.Duration != ServiceDefaultDuration || g.Prompt != "slow push-in" || g.CreatedAt.IsZero() {
		t.Errorf("generation = %+v", g)
	}
	if loc := resp.Header.Get("Location"); loc != "/v1/video/generations/"+g.ID {
		t.Errorf("Location = %q", loc)
	}
	if st := s.Stats(); st.Creates != 1 || st.Renders != 1 || st.DistinctInputs != 1 || st.DuplicateRenders != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestCreateAcceptsBothDurationForms(t *testing.T) {
	s := newTestServer(t, WithManualRender())
	for _, tc := range []struct {
		duration any
		want     creativeai.Duration
	}{{"5s", 5}, {5, 5}, {"10", 10}, {10.0, 10}, {nil, 5}} {
		body := createBody(fmt.Sprint("duration ", tc.duration))
		body["duration"] = tc.duration
		if g := create(t, s, body, ""); g.Duration != tc.want {
			t.Errorf("duration %#v recorded as %v, want %v", tc.duration, g.Duration, tc.want)
		}
	}
}

func TestCreateValidation(t *testing.T) {
	s := newTestServer(t, WithManualRender(), WithModels("kling-v3", "veo-3.1"))
	edit := func(f func(map[string]any)) map[string]any {
		b := createBody("p")
		f(b)
		return b
	}
	for _, tc := range []struct {
		name   string
		body   any
		status int
		param  string
		inMsg  string
	}{
		{"missing prompt", edit(func(b map[string]any) { delete(b, "prompt") }), 400, "prompt", "prompt"},
		{"blank prompt", edit(func(b map[string]any) { b["prompt"] = "   " }), 400, "prompt", "prompt"},
		{"missing image_url", edit(func(b map[string]any) { delete(b, "image_url") }), 400, "image_url", "image_url"},
		{"relative image_url", edit(func(b map[string]any) { b["image_url"] = "/catalog/mug.jpg" }), 400, "image_url", "/catalog/mug.jpg"},
		{"ftp image_url", edit(func(b map[string]any) { b["image_url"] = "ftp://cdn.example.com/a.jpg" }), 400, "image_url", "http"},
		{"unknown model", edit(func(b map[string]any) { b["model"] = "seedance-1.5-pro" }), 400, "model", "seedance-1.5-pro"},
		{"zero duration", edit(func(b map[string]any) { b["duration"] = "0s" }), 400, "duration", "0s"},
		{"long duration", edit(func(b map[string]any) { b["duration"] = 61 }), 400, "duration", "61"},
		{"word duration", edit(func(b map[string]any) { b["duration"] = "five" }), 400, "duration", "five"},
		{"fractional duration", edit(func(b map[string]any) { b["duration"] = 2.5 }), 400, "duration", "2.5"},
		{"aspect ratio", edit(func(b map[string]any) { b["aspect_ratio"] = "wide" }), 400, "aspect_ratio", "wide"},
		{"webhook_url", edit(func(b map[string]any) { b["webhook_url"] = "hooks.example.com" }), 400, "webhook_url", "hooks.example.com"},
		{"prompt not a string", edit(func(b map[string]any) { b["prompt"] = 5 }), 400, "prompt", "prompt"},
		{"not JSON", "prompt=p", 400, "", "JSON"},
		{"two objects", `{"prompt":"p","image_url":"https://a.example/x.jpg"} {}`, 400, "", "after the JSON object"},
		{"too large", `{"prompt":"` + strings.Repeat("a", maxRequestBody) + `"}`, 413, "", "bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := send(t, s, apiCall{method: "POST", path: "/v1/video/generations", body: tc.body})
			e := checkError(t, resp, b, tc.status, "invalid_request_error")
			if e.Error.Param != tc.param || !strings.Contains(e.Error.Message, tc.inMsg) {
				t.Errorf("error = %+v, want param %q and a message containing %q", e.Error, tc.param, tc.inMsg)
			}
		})
	}
	if st := s.Stats(); st.Renders != 0 || st.Rejected != 16 {
		t.Errorf("Renders = %d, Rejected = %d, want 0 and 16", st.Renders, st.Rejected)
	}
}

func TestGetUnknownGeneration(t *testing.T) {
	s := newTestServer(t)
	resp, b := send(t, s, apiCall{method: "GET", path: "/v1/video/generations/vgen_nope"})
	e := checkError(t, resp, b, http.StatusNotFound, "not_found_error")
	if !strings.Contains(e.Error.Message, "vgen_nope") {
		t.Errorf("message %q does not name the id", e.Error.Message)
	}
	if st := s.Stats(); st.Polls != 0 || st.Rejected != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestManualLifecycle(t *testing.T) {
	s := newTestServer(t, WithManualRender(), WithSeed(1))
	g := create(t, s, createBody("manual"), "")
	if got := get(t, s, g.ID); got.Status != creativeai.StatusPending {
		t.Fatalf("status = %q, want pending", got.Status)
	}
	if st, err := s.Advance(g.ID); err != nil || st != creativeai.StatusProcessing {
		t.Fatalf("Advance = %q, %v; want processing", st, err)
	}
	if got := get(t, s, g.ID); got.Status != creativeai.StatusProcessing || got.OutputURL != "" {
		t.Fatalf("generation = %+v, want processing without output", got)
	}
	if st, err := s.Advance(g.ID); err != nil || st != creativeai.StatusCompleted {
		t.Fatalf("Advance = %q, %v; want completed", st, err)
	}
	got := get(t, s, g.ID)
	if got.Status != creativeai.StatusCompleted || got.OutputURL != s.URL+"/outputs/"+g.ID+".mp4" || got.CompletedAt.Before(got.CreatedAt) {
		t.Errorf("generation = %+v", got)
	}
	if _, err := s.Advance(g.ID); err == nil || !strings.Contains(err.Error(), "already completed") {
		t.Errorf("Advance of a completed render: %v", err)
	}
	if err := s.Complete("vgen_nope"); err == nil || !strings.Contains(err.Error(), "vgen_nope") {
		t.Errorf("Complete of an unknown id: %v", err)
	}
	if mirror, ok := s.Generation(g.ID); !ok || mirror.Status != creativeai.StatusCompleted {
		t.Errorf("Generation = %+v, %v", mirror, ok)
	}
	if st := s.Stats(); st.Polls != 3 || st.Completed != 1 {
		t.Errorf("Polls = %d, Completed = %d, want 3 and 1", st.Polls, st.Completed)
	}
}

func TestManualFailAndCompleteFromPending(t *testing.T) {
	s := newTestServer(t, WithManualRender())
	a := create(t, s, createBody("a"), "")
	b := create(t, s, createBody("b"), "")
	if err := s.Fail(a.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(b.ID); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, a.ID); got.Status != creativeai.StatusFailed || got.Error != "render failed" || got.OutputURL != "" {
		t.Errorf("failed generation = %+v", got)
	}
	if got := get(t, s, b.ID); got.Status != creativeai.StatusCompleted {
		t.Errorf("completed generation = %+v", got)
	}
	if err := s.Fail(b.ID, "late"); err == nil {
		t.Error("Fail of a completed render succeeded")
	}
}

func TestTimedRenderOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     []Option
		status   creativeai.Status
		failover bool
	}{
		{"completes", nil, creativeai.StatusCompleted, false},
		{"fails", []Option{WithFailureRate(1)}, creativeai.StatusFailed, false},
		{"fails over", []Option{WithFailoverRate(1)}, creativeai.StatusCompleted, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, append(tc.opts, WithRenderTime(time.Millisecond))...)
			g := create(t, s, createBody(tc.name), "")
			waitIdle(t, s)
			got := get(t, s, g.ID)
			if got.Status != tc.status || got.FailoverUsed != tc.failover {
				t.Fatalf("generation = %+v, want %s with failover %v", got, tc.status, tc.failover)
			}
			if tc.status == creativeai.StatusFailed && !strings.Contains(strings.Join(failureMessages, "|"), got.Error) {
				t.Errorf("error = %q, want one of %q", got.Error, failureMessages)
			}
		})
	}
}

func TestRatesFollowTheSeed(t *testing.T) {
	s := newTestServer(t, WithSeed(42), WithRenderTime(0), WithFailureRate(0.3), WithFailoverRate(0.1))
	const n = 400
	for i := range n {
		create(t, s, createBody(fmt.Sprint("rate ", i)), "")
	}
	waitIdle(t, s)
	st := s.Stats()
	// Deterministic under the seed, so the bounds are loose only to allow
	// the implementation to change its draws.
	if st.Completed+st.Failed != n || st.Failed < n*2/10 || st.Failed > n*4/10 || st.Failovers < n/20 || st.Failovers > n*3/20 {
		t.Errorf("Completed %d, Failed %d, Failovers %d of %d renders; want about 30%% failed and 10%% failed over",
			st.Completed, st.Failed, st.Failovers, n)
	}
}

func TestIdempotencyKey(t *testing.T) {
	s := newTestServer(t, WithManualRender())
	first := create(t, s, createBody("idem"), "row-SKU-1001")

	// The same request again, with the fields in another order and the
	// defaults spelled differently, is the same request.
	again := `{"aspect_ratio":"16:9","duration":5,"image_url":"https://cdn.example.com/catalog/mug-hero.jpg","prompt":"idem","model":"kling-v3"}`
	resp, b := send(t, s, apiCall{method: "POST", path: "/v1/video/generations", body: again, key: "row-SKU-1001"})
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: status %d, Idempotent-Replayed %q, body %s", resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), b)
	}
	if replay := decodeGeneration(t, b); replay.ID != first.ID {
		t.Errorf("replay returned %s, want %s", replay.ID, first.ID)
	}

	// A replay answers the generation as it stands now.
	if err := s.Complete(first.ID); err != nil {
		t.Fatal(err)
	}
	if replay := create(t, s, createBody("idem"), "row-SKU-1001"); replay.Status != creativeai.StatusCompleted {
		t.Errorf("replay after completion: status %q", replay.Status)
	}

	// The same key with another body is refused, and renders nothing.
	resp, b = send(t, s, apiCall{method: "POST", path: "/v1/video/generations", body: createBody("other"), key: "row-SKU-1001"})
	e := checkError(t, resp, b, http.StatusUnprocessableEntity, "idempotency_error")
	if !strings.Contains(e.Error.Message, "row-SKU-1001") {
		t.Errorf("message %q does not name the key", e.Error.Message)
	}

	// A key too long to be one is refused.
	resp, b = send(t, s, apiCall{method: "POST", path: "/v1/video/generations", body: createBody("x"), key: strings.Repeat("k", 300)})
	checkError(t, resp, b, http.StatusBadRequest, "invalid_request_error")

	st := s.Stats()
	if st.Renders != 1 || st.IdempotentReplays != 2 || st.Creates != 3 || st.DuplicateRenders != 0 {
		t.Errorf("stats = %+v, want 1 render, 2 replays, 3 creates", st)
	}
}

func TestDuplicateRendersWithoutKey(t *testing.T) {
	s := newTestServer(t, WithManualRender())
	a := create(t, s, createBody("dup"), "")
	b := create(t, s, createBody("dup"), "")
	c := create(t, s, createBody("dup"), "another-key")
	create(t, s, createBody("unique"), "")
	if a.ID == b.ID || b.ID == c.ID {
		t.Errorf("ids %s %s %s: want three generations", a.ID, b.ID, c.ID)
	}
	st := s.Stats()
	in := RenderInput{Model: "kling-v3", Prompt: "dup", ImageURL: "https://cdn.example.com/catalog/mug-hero.jpg", Duration: 5, AspectRatio: "16:9"}
	if st.Renders != 4 || st.DistinctInputs != 2 || st.DuplicateRenders != 2 || st.RendersPerInput[in] != 3 {
		t.Errorf("stats = %+v, want 4 renders of 2 inputs, 2 duplicates, 3 of %+v", st, in)
	}
	st.RendersPerInput[in] = 100
	if s.Stats().RendersPerInput[in] != 3 {
		t.Error("Stats().RendersPerInput shares the server's map")
	}
}

func TestList(t *testing.T) {
	s := newTestServer(t, WithManualRender())
	var ids []string
	for i := range 7 {
		ids = append(ids, create(t, s, createBody(fmt.Sprint("list ", i)), "").ID)
	}
	for _, id := range []string{ids[1], ids[4], ids[5]} {
		if err := s.Complete(id); err != nil {
			t.Fatal(err)
		}
	}
	type page struct {
		Object     string                  `json:"object"`
		Data       []creativeai.Generation `json:"data"`
		HasMore    bool                    `json:"has_more"`
		NextCursor string                  `json:"next_cursor"`
	}
	list := func(query string) []string {
		var out []string
		cursor := ""
		for pages := 0; ; pages++ {
			q := query
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			resp, b := send(t, s, apiCall{method: "GET", path: "/v1/video/generations?" + q})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("list %s: %d %s", q, resp.StatusCode, b)
			}
			var p page
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			if p.Object != "list" || p.HasMore != (p.NextCursor != "") {
				t.Fatalf("page %s", b)
			}
			for _, g := range p.Data {
				out = append(out, g.ID)
			}
			if !p.HasMore || pages > 10 {
				return out
			}
			cursor = p.NextCursor
		}
	}
	if got, want := list("limit=3"), []string{ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("all, 3 per page = %v, want newest first %v", got, want)
	}
	if got, want := list("status=completed&limit=2"), []string{ids[5], ids[4], ids[1]}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("completed = %v, want %v", got, want)
	}
	if got := list("status=failed"); len(got) != 0 {
		t.Errorf("failed = %v, want none", got)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "status=done", "cursor=vgen_unknown"} {
		resp, b := send(t, s, apiCall{method: "GET", path: "/v1/video/generations?" + q})
		checkError(t, resp, b, http.StatusBadRequest, "invalid_request_error")
	}
}

// FuzzCreateVideo feeds arbitrary bodies to the create endpoint: every one
// gets a 202 with a pending generation or a 4xx with a JSON error naming
// the problem, never a 5xx or a panic.
func FuzzCreateVideo(f *testing.F) {
	f.Add(`{"prompt":"p","image_url":"https://a.example/x.jpg"}`, "")
	f.Add(`{"prompt":"p","image_url":"https://a.example/x.jpg","duration":5,"model":"veo-3.1","aspect_ratio":"9:16"}`, "key")
	f.Add(`{"prompt":"p","image_url":"http://a/x","duration":"5s","webhook_url":"http://127.0.0.1:1/h"}`, "k")
	f.Add(`{"duration":"1e3s"}`, "")
	f.Add(`[1,2]`, "")
	f.Add(`{"prompt":"\u0000","image_url":"https://a.example/%zz"}`, "\x7f")
	s := NewServer(WithManualRender())
	defer s.Close()
	h := s.ts.Config.Handler
	f.Fuzz(func(t *testing.T, body, key string) {
		req := httptest.NewRequest("POST", "/v1/video/generations", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.APIKey)
		if key != "" && !strings.ContainsAny(key, "\r\n") {
			req.Header.Set("Idempotency-Key", key)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusAccepted:
			g := decodeGeneration(t, rec.Body.Bytes())
			if !strings.HasPrefix(g.ID, "vgen_") || g.Prompt == "" || g.ImageURL == "" || g.Duration < 1 || g.Model == "" {
				t.Fatalf("accepted %q as %+v", body, g)
			}
		case rec.Code >= 400 && rec.Code < 500:
			var e errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
				t.Fatalf("%d answer %q: not a JSON error (%v)", rec.Code, rec.Body.Bytes(), err)
			}
		default:
			t.Fatalf("body %q: status %d", body, rec.Code)
		}
	})
}

// FuzzList checks that any query gets a page or a 400.
func FuzzList(f *testing.F) {
	f.Add("status=completed&limit=2")
	f.Add("cursor=vgen_x&limit=-1")
	f.Add("limit=99999999999999999999")
	s := NewServer(WithManualRender())
	defer s.Close()
	h := s.ts.Config.Handler
	for i := range 3 {
		create(f, s, createBody(fmt.Sprint("fuzz ", i)), "")
	}
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest("GET", "/v1/video/generations", nil)
		req.URL.RawQuery = query
		req.Header.Set("Authorization", "Bearer "+s.APIKey)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("query %q: status %d %s", query, rec.Code, rec.Body.Bytes())
		}
	})
}
