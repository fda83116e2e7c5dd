package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/console"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// TestReviewActions drives approve, reject and retry-delivery through the
// handler: cross-site POSTs are refused, a rejection needs its reason,
// jobs not in the action's state are skipped, scope=awaiting takes every
// job awaiting review that matches the filters, and the page says what
// happened.
func TestReviewActions(t *testing.T) {
	store := seed(t, map[console.State]int{console.StateAwaitingReview: 4, console.StateDeliveryFailed: 1, console.StatePublished: 1})
	srv := newConsole(t, console.Config{Store: store})
	post := func(path string, form url.Values, header ...string) (*http.Response, string) {
		t.Helper()
		return postForm(t, srv.URL+path, form, header...)
	}
	keysOf := func(st console.State) []string {
		var keys []string
		for _, r := range getPage(t, srv.URL, "state="+string(st)).Rows {
			keys = append(keys, r.Key)
		}
		return keys
	}
	awaiting := keysOf(console.StateAwaitingReview)
	if len(awaiting) != 4 {
		t.Fatalf("seeded %v awaiting review; want 4", awaiting)
	}
	published := keysOf(console.StatePublished)[0]

	for _, path := range []string{"/approve", "/reject", "/retry-delivery"} {
		if resp, _ := post(path, url.Values{"key": awaiting, "note": {"x"}}, "Sec-Fetch-Site", "cross-site"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %s; want 403", path, resp.Status)
		}
	}
	if resp, body := post("/reject", url.Values{"key": awaiting[:1]}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "reason") {
		t.Errorf("reject without a reason: %s %q; want 400 asking for one", resp.Status, body)
	}
	if got := keysOf(console.StateAwaitingReview); !slices.Equal(got, awaiting) {
		t.Fatalf("refused requests changed the store: awaiting %v", got)
	}

	var res map[string][]string
	resp, body := post("/approve", url.Values{"key": {awaiting[0], published}, "note": {"colours match"}}, "Accept", "application/json")
	if err := json.Unmarshal([]byte(body), &res); err != nil || resp.StatusCode != 200 ||
		!slices.Equal(res["approved"], awaiting[:1]) || !slices.Equal(res["skipped"], []string{published}) {
		t.Errorf("approve: %s %s", resp.Status, body)
	}
	if j, _ := store.Get(t.Context(), awaiting[0]); j.Delivery != jobs.DeliveryPending || !j.Approved() || j.ReviewNote != "colours match" {
		t.Errorf("approved job %+v; want pending, approved, with the note", j)
	}

	resp, _ = post("/reject", url.Values{"key": awaiting[1:2], "note": {"logo cropped"}, "back": {"job"}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "job?") || !strings.Contains(loc, "rejected=1") {
		t.Errorf("reject from the job page: %s to %q", resp.Status, loc)
	}
	if j, _ := store.Get(t.Context(), awaiting[1]); j.Delivery != jobs.DeliveryRejected || j.ReviewNote != "logo cropped" || !console.Replayable(&j) {
		t.Errorf("rejected job %+v; want rejected with the reason, replayable", j)
	}

	// Every job still awaiting review in the collection filter.
	j2, _ := store.Get(t.Context(), awaiting[2])
	resp, _ = post("/approve", url.Values{"scope": {"awaiting"}, "collection": {j2.Collection}})
	loc := resp.Header.Get("Location")
	_, page := get(t, nil, srv.URL+"/"+strings.TrimPrefix(loc, "./"))
	if !strings.Contains(page, "Approved") || !strings.Contains(loc, "collection="+j2.Collection) {
		t.Errorf("approve all awaiting: redirect %q, page lacks the notice", loc)
	}
	for _, k := range awaiting[2:] {
		j, _ := store.Get(t.Context(), k)
		if want := j.Collection == j2.Collection; j.Approved() != want {
			t.Errorf("%s in %s: approved %v; want %v", k, j.Collection, j.Approved(), want)
		}
	}

	failed := keysOf(console.StateDeliveryFailed)
	resp, body = post("/retry-delivery", url.Values{"key": append(failed, awaiting[3])}, "Accept", "application/json")
	res = nil
	if err := json.Unmarshal([]byte(body), &res); err != nil || !slices.Equal(res["retried"], failed) || len(res["skipped"]) != 1 {
		t.Errorf("retry-delivery: %s %s", resp.Status, body)
	}
	if j, _ := store.Get(t.Context(), failed[0]); j.Delivery != jobs.DeliveryPending || j.DeliveryAttempts != 0 {
		t.Errorf("retried job %+v; want pending with attempts reset", j)
	}
}
