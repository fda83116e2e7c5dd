package console_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/manifest"

	"github.com/creativeai-run/catalogvideo/batch/console"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// now is the fixed time of the tests' clock.
var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// seedJob returns a job in state st, created at created.
func seedJob(i int, st console.State, created time.Time) jobs.Job {
	j := jobs.Job{
		Key: fmt.Sprintf("SKU-%05d-k", i), SKU: fmt.Sprintf("SKU-%05d", i),
		Collection: []string{"spring", "summer"}[i%2], TargetSurface: []string{"meta-ads", "shopify-pdp", "shopify-pdp"}[i%3],
		ImageURL: fmt.Sprintf("https://cdn.example.com/img/%d.png", i), VideoPrompt: fmt.Sprintf("slow turn, shot %d", i),
		Model: "kling-v3", Duration: 5, AspectRatio: "16:9",
		Status: jobs.StatusPending, CreatedAt: created, UpdatedAt: created,
	}
	gen := fmt.Sprintf("vgen_%d", i)
	switch st {
	case console.StateRendering:
		j.GenerationID, j.Status = gen, jobs.StatusProcessing
	case console.StateReady:
		j.GenerationID, j.Status, j.OutputURL, j.Delivery = gen, jobs.StatusCompleted, "https://cdn.example.com/v.mp4", jobs.DeliveryPending
	case console.StatePublished:
		j.GenerationID, j.Status, j.OutputURL, j.Delivery, j.DeliveryRef = gen, jobs.StatusCompleted, "https://cdn.example.com/v.mp4", jobs.DeliveryDelivered, "gid://shopify/Video/1"
	case console.StateAwaitingReview:
		j.GenerationID, j.Status, j.OutputURL, j.Delivery = gen, jobs.StatusCompleted, "https://cdn.example.com/v.mp4", jobs.DeliveryAwaitingReview
	case console.StateRejected:
		j.GenerationID, j.Status, j.OutputURL, j.Delivery, j.ReviewNote = gen, jobs.StatusCompleted, "https://cdn.example.com/v.mp4", jobs.DeliveryRejected, "logo cropped"
	case console.StateDeliveryFailed:
		j.GenerationID, j.Status, j.Delivery, j.DeliveryError = gen, jobs.StatusCompleted, jobs.DeliveryFailed, "no product with this SKU"
	case console.StateFailed:
		j.GenerationID, j.Status, j.Error = gen, jobs.StatusFailed, "content policy"
	case console.StateSubmitFailed:
		j.Status, j.Error = jobs.StatusSubmitFailed, "HTTP 422: bad image"
	}
	return j
}

// seed fills a memory store with counts[st] jobs of each state st,
// interleaved.
func seed(t testing.TB, counts map[console.State]int) *memstore.Store {
	t.Helper()
	n := maps.Clone(counts)
	s := memstore.New(memstore.WithClock(jobs.ClockFunc(func() time.Time { return now })))
	i := 0
	for more := true; more; {
		more = false
		for _, st := range console.States() {
			if n[st] > 0 {
				n[st]--
				j := seedJob(i, st, now.Add(-time.Duration(i%2)*48*time.Hour))
				if err := s.Restore(memstore.Record{Job: &j}); err != nil {
					t.Fatal(err)
				}
				i++
				more = true
			}
		}
	}
	return s
}

// postForm posts form to u without following a redirect, with header's
// name and value pairs, and returns the answer and its body.
func postForm(t *testing.T, u string, form url.Values, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// restore puts j into s as it is.
func restore(s *memstore.Store, j jobs.Job) error { return s.Restore(memstore.Record{Job: &j}) }

func newConsole(t testing.TB, cfg console.Config) *httptest.Server {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = jobs.ClockFunc(func() time.Time { return now })
	}
	h, err := console.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, c *http.Client, u string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

type apiPage struct {
	Summary console.Summary `json:"summary"`
	Rows    []console.Row   `json:"rows"`
	Next    string          `json:"next"`
}

func getPage(t *testing.T, base, query string) apiPage {
	t.Helper()
	resp, body := get(t, nil, base+"/api/page?"+query)
	if resp.StatusCode != 200 {
		t.Fatalf("api/page?%s: %s %s", query, resp.Status, body)
	}
	var p apiPage
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewRefusesBadConfig(t *testing.T) {
	store := memstore.New()
	for _, tc := range []struct {
		cfg  console.Config
		want string
	}{
		{console.Config{}, "Store is nil"},
		{console.Config{Store: store, PageSize: console.MaxPageSize + 1}, "PageSize"},
		{console.Config{Store: store, PollInterval: -time.Second}, "PollInterval"},
		{console.Config{Store: store, Addr: "0.0.0.0:8081"}, "requires a token"},
		{console.Config{Store: store, Addr: ":8081"}, "requires a token"},
		{console.Config{Store: store, Addr: "192.168.1.4:8081"}, "requires a token"},
	} {
		_, err := console.New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v; want an error containing %q", tc.cfg, err, tc.want)
		}
	}
	if _, err := console.New(console.Config{Store: store, Addr: "0.0.0.0:8081"}); !errors.Is(err, console.ErrTokenRequired) {
		t.Errorf("error %v does not wrap ErrTokenRequired", err)
	}
	for _, addr := range []string{"127.0.0.1:8081", "[::1]:0", "localhost:9000"} {
		if _, err := console.New(console.Config{Store: store, Addr: addr}); err != nil {
			t.Errorf("loopback %s: %v", addr, err)
		}
	}
	if _, err := console.New(console.Config{Store: store, Addr: "0.0.0.0:8081", Token: "s3cret-token"}); err != nil {
		t.Errorf("non-loopback with a token: %v", err)
	}
}

func TestCountsAndCost(t *testing.T) {
	want := map[console.State]int{console.StateQueued: 3, console.StateRendering: 2, console.StateReady: 4,
		console.StateAwaitingReview: 2, console.StateRejected: 1, console.StatePublished: 5, console.StateDeliveryFailed: 1, console.StateFailed: 2, console.StateSubmitFailed: 3}
	store := seed(t, want)
	srv := newConsole(t, console.Config{Store: store, Pricing: &creativeai.Pricing{Clip: 40, Still: 25}})
	p := getPage(t, srv.URL, "")
	total := 0
	for _, sc := range p.Summary.States {
		if sc.Count != want[sc.State] {
			t.Errorf("%s: count %d, want %d", sc.State, sc.Count, want[sc.State])
		}
		if sc.BuyerCopy == "" {
			t.Errorf("%s has no buyer copy", sc.State)
		}
		total += want[sc.State]
	}
	if p.Summary.Total != total {
		t.Errorf("total %d, want %d", p.Summary.Total, total)
	}
	// Every job but the queued and submit_failed ones has a generation.
	clips := total - want[console.StateQueued] - want[console.StateSubmitFailed]
	if p.Summary.Cost.Clips != clips || p.Summary.Cost.Cents != creativeai.Cents(40*clips) {
		t.Errorf("cost %+v; want %d clips at 40c", p.Summary.Cost, clips)
	}
	if p.Summary.Today.Jobs == 0 || p.Summary.Today.Jobs >= total {
		t.Errorf("today's jobs %d; want the half created today", p.Summary.Today.Jobs)
	}
	if got := p.Summary.States[1].BuyerCopy; got != jobs.DefaultBuyerCopy().For(jobs.StatusProcessing, "") {
		t.Errorf("rendering copy %q", got)
	}

	resp, body := get(t, nil, srv.URL+"/")
	if resp.StatusCode != 200 {
		t.Fatalf("page: %s", resp.Status)
	}
	for _, s := range []string{"awaiting review", "submit failed", "delivery failed", jobs.DefaultBuyerCopy().For(jobs.StatusSubmitFailed, "")} {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
}

// TestCostAtRecordedPrices prices a job reserved at an earlier price list
// at the prices recorded on it, and a job tracked before prices were
// recorded at the configured ones.
func TestCostAtRecordedPrices(t *testing.T) {
	store := memstore.New()
	created := time.Now().Add(-48 * time.Hour)
	recorded := seedJob(1, console.StatePublished, created)
	recorded.StillURL = "https://cdn.example.com/still-1.png"
	recorded.PriceCents, recorded.StillCents, recorded.StillPaid, recorded.SpendDay = 80, 30, true, jobs.Day(created, nil)
	legacy := seedJob(2, console.StatePublished, created)
	for _, j := range []jobs.Job{recorded, legacy} {
		if err := restore(store, j); err != nil {
			t.Fatal(err)
		}
	}
	srv := newConsole(t, console.Config{Store: store, Pricing: &creativeai.Pricing{Clip: 40, Still: 25}})
	p := getPage(t, srv.URL, "")
	// 80 cents recorded, and one clip at today's 40 for the legacy job.
	if p.Summary.Cost.Cents != 120 || p.Summary.Cost.Text != "$1.20" {
		t.Errorf("cost %+v; want $1.20: the recorded $0.80 and the legacy job's clip at $0.40", p.Summary.Cost)
	}
}

func TestPagingAndFilters(t *testing.T) {
	store := seed(t, map[console.State]int{console.StateFailed: 30, console.StatePublished: 30, console.StateQueued: 7})
	srv := newConsole(t, console.Config{Store: store, PageSize: 8})

	// Walking the failed pages yields every failed job once, in order.
	var keys []string
	q := "state=failed"
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		p := getPage(t, srv.URL, q)
		for _, r := range p.Rows {
			if r.State != console.StateFailed || !r.Replayable {
				t.Errorf("row %+v in the failed filter", r)
			}
			keys = append(keys, r.Key)
		}
		if p.Next == "" {
			break
		}
		if len(p.Rows) != 8 {
			t.Errorf("a page before the last has %d rows", len(p.Rows))
		}
		q = p.Next
	}
	var want []string
	for j, err := range store.List(t.Context(), jobs.Filter{Statuses: []jobs.Status{jobs.StatusFailed}}) {
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, j.Key)
	}
	if !slices.Equal(keys, want) {
		t.Errorf("paged keys %v\nwant %v", keys, want)
	}

	// A page whose first job left the filter (replayed) goes on from it.
	first := getPage(t, srv.URL, "state=failed&limit=3")
	if _, err := store.Replay(t.Context(), first.Rows[2].Key); err != nil {
		t.Fatal(err)
	}
	cont := getPage(t, srv.URL, "state=failed&limit=3&after="+url.QueryEscape(first.Rows[2].Key))
	if len(cont.Rows) != 3 || cont.Rows[0].Key != want[3] {
		t.Errorf("page after a replayed job starts at %v; want %s", cont.Rows, want[3])
	}

	// Combined filters.
	p := getPage(t, srv.URL, "collection=spring&surface=shopify-pdp&sku=sku-0001&limit=500")
	if len(p.Rows) == 0 {
		t.Fatal("no rows for sku search")
	}
	for _, r := range p.Rows {
		if r.Collection != "spring" || r.TargetSurface != "shopify-pdp" || !strings.HasPrefix(r.SKU, "SKU-0001") {
			t.Errorf("row %+v passes the filters", r)
		}
	}

	for _, bad := range []string{"state=nope", "limit=0", "limit=9999", "after=no-such-key"} {
		if resp, body := get(t, nil, srv.URL+"/api/page?"+bad); resp.StatusCode != 400 || !strings.Contains(body, "error") {
			t.Errorf("api/page?%s: %s %s; want 400 with an error", bad, resp.Status, body)
		}
	}
}

func TestJobPage(t *testing.T) {
	store := seed(t, map[console.State]int{console.StatePublished: 1, console.StateFailed: 1})
	j, _ := store.Get(t.Context(), "SKU-00000-k")
	j.PreviousGenerationIDs = []string{"vgen_old_1"}
	j.Attempt = 1
	j.StillURL = "https://cdn.example.com/still.png"
	if err := store.Restore(memstore.Record{Job: &j}); err != nil {
		t.Fatal(err)
	}
	srv := newConsole(t, console.Config{Store: store})
	resp, body := get(t, nil, srv.URL+"/job?key="+url.QueryEscape(j.Key))
	if resp.StatusCode != 200 {
		t.Fatalf("job page: %s", resp.Status)
	}
	for _, s := range []string{`<video id="video"`, j.OutputURL, j.ImageURL, j.VideoPrompt, "vgen_old_1", "gid://shopify/Video/1", "$1.30"} {
		if !strings.Contains(body, s) {
			t.Errorf("job page lacks %q", s)
		}
	}
	if resp, _ := get(t, nil, srv.URL+"/job?key=nope"); resp.StatusCode != 404 {
		t.Errorf("unknown job: %s", resp.Status)
	}
	resp, body = get(t, nil, srv.URL+"/api/job?key="+url.QueryEscape(j.Key))
	var v console.JobView
	if err := json.Unmarshal([]byte(body), &v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("api/job: %s %v", resp.Status, err)
	}
	if v.Clips != 2 || v.Stills != 1 || v.Cost != "$1.30" || v.State != console.StatePublished {
		t.Errorf("job view %+v", v)
	}
}

func TestReplay(t *testing.T) {
	store := seed(t, map[console.State]int{console.StateFailed: 2, console.StateSubmitFailed: 2, console.StatePublished: 2})
	srv := newConsole(t, console.Config{Store: store})
	post := func(form url.Values, header ...string) (*http.Response, string) {
		return postForm(t, srv.URL+"/replay", form, header...)
	}

	// A cross-site POST is refused and changes nothing.
	resp, _ := post(url.Values{"scope": {"failed"}}, "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site replay: %s; want 403", resp.Status)
	}
	resp, _ = post(url.Values{"scope": {"failed"}}, "Origin", "https://evil.example")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("replay from another origin: %s; want 403", resp.Status)
	}
	if p := getPage(t, srv.URL, "state=failed"); len(p.Rows) != 2 {
		t.Fatalf("refused replays changed the store: %d failed", len(p.Rows))
	}

	// One chosen job, and a published one that is skipped.
	failed := getPage(t, srv.URL, "state=failed").Rows[0].Key
	resp, body := post(url.Values{"key": {failed, "SKU-00000-k"}}, "Accept", "application/json")
	if resp.StatusCode != 200 {
		t.Fatalf("replay: %s %s", resp.Status, body)
	}
	var res struct{ Replayed, Skipped []string }
	_ = json.Unmarshal([]byte(body), &res)
	if !slices.Equal(res.Replayed, []string{failed}) || len(res.Skipped) != 1 {
		t.Errorf("replay answer %s", body)
	}
	j, _ := store.Get(t.Context(), failed)
	if j.Status != jobs.StatusPending || j.Submitted() || len(j.PreviousGenerationIDs) != 1 {
		t.Errorf("replayed job %+v; want pending, not submitted, with its generation kept", j)
	}

	// All failed, from the form: a redirect back whose page says what
	// happens next, and counts that show it at once.
	resp, _ = post(url.Values{"scope": {"failed"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form replay: %s", resp.Status)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "./?") || !strings.Contains(loc, "replayed=3") {
		t.Errorf("redirect to %q", loc)
	}
	_, page := get(t, nil, srv.URL+"/"+strings.TrimPrefix(loc, "./"))
	if !strings.Contains(page, "Replayed 3 jobs") || !strings.Contains(page, "next submit") {
		t.Errorf("page after replay lacks the notice")
	}
	p := getPage(t, srv.URL, "")
	for _, sc := range p.Summary.States {
		if (sc.State == console.StateFailed || sc.State == console.StateSubmitFailed) && sc.Count != 0 {
			t.Errorf("%s still %d after replaying all", sc.State, sc.Count)
		}
		if sc.State == console.StateQueued && sc.Count != 4 {
			t.Errorf("queued %d after replaying 4", sc.Count)
		}
	}
	if resp, _ := post(url.Values{}); resp.StatusCode != 400 {
		t.Errorf("replay of nothing: %s", resp.Status)
	}
}

func TestExportCSVReadsBackAsManifest(t *testing.T) {
	store := seed(t, map[console.State]int{console.StateFailed: 3, console.StateSubmitFailed: 2, console.StatePublished: 4})
	// A prompt with a comma, quotes and a newline must survive the CSV.
	j, _ := store.Get(t.Context(), "SKU-00000-k")
	j.VideoPrompt = "a \"slow\" turn,\nthen zoom"
	j.StillPrompt = "on white"
	_ = store.Restore(memstore.Record{Job: &j})
	srv := newConsole(t, console.Config{Store: store})

	resp, body := get(t, nil, srv.URL+"/export?format=csv")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %s %v", resp.Status, resp.Header)
	}
	mr, err := manifest.NewReader(strings.NewReader(body), "export.csv")
	if err != nil {
		t.Fatal(err)
	}
	var got []manifest.Row
	for row, err := range mr.Rows() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, row)
	}
	var want []jobs.Job
	for j, err := range store.List(t.Context(), jobs.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if console.Replayable(&j) {
			want = append(want, j)
		}
	}
	if len(got) != len(want) || len(got) != 5 {
		t.Fatalf("read back %d rows; want the %d failed jobs", len(got), len(want))
	}
	for i, r := range got {
		w := want[i]
		if r.SKU != w.SKU || r.ImageURL != w.ImageURL || r.VideoPrompt != w.VideoPrompt || r.Collection != w.Collection ||
			r.TargetSurface != w.TargetSurface || r.Model != w.Model || r.Duration != w.Duration ||
			r.AspectRatio != w.AspectRatio || r.StillPrompt != w.StillPrompt {
			t.Errorf("row %d: %+v\nfrom job %+v", i, r, w)
		}
		if manifest.RowKey(r, manifest.Defaults{}) == "" {
			t.Errorf("row %d has no key", i)
		}
	}

	resp, body = get(t, nil, srv.URL+"/export?format=jsonl&state=published")
	if resp.StatusCode != 200 {
		t.Fatalf("jsonl export: %s", resp.Status)
	}
	n := 0
	for rec, err := range jobs.DecodeRecords(bytes.NewReader([]byte(body)), "export.jsonl") {
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status != jobs.StatusCompleted || rec.BuyerStatus == "" {
			t.Errorf("record %+v", rec)
		}
		n++
	}
	if n != 4 {
		t.Errorf("jsonl export of published has %d records; want 4", n)
	}
	if resp, _ := get(t, nil, srv.URL+"/export?format=xml"); resp.StatusCode != 400 {
		t.Errorf("format=xml: %s", resp.Status)
	}
}

func TestTokenAuth(t *testing.T) {
	store := seed(t, map[console.State]int{console.StateFailed: 1})
	const token = "correct-horse-battery"
	srv := newConsole(t, console.Config{Store: store, Addr: "0.0.0.0:0", Token: token})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	if resp, _ := get(t, noRedirect, srv.URL+"/api/page"); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %s", resp.Status)
	}
	if resp, _ := get(t, noRedirect, srv.URL+"/api/page", "Authorization", "Bearer wrong"); resp.StatusCode != 401 {
		t.Errorf("wrong token: %s", resp.Status)
	}
	if resp, _ := get(t, noRedirect, srv.URL+"/export", "Authorization", "Bearer "+token); resp.StatusCode != 200 {
		t.Errorf("bearer token: %s", resp.Status)
	}
	if resp, _ := get(t, noRedirect, srv.URL+"/", "Accept", "text/html"); resp.StatusCode != 303 || resp.Header.Get("Location") != "login" {
		t.Errorf("browser without a session: %s to %q; want 303 to login", resp.Status, resp.Header.Get("Location"))
	}
	if resp, body := get(t, noRedirect, srv.URL+"/login"); resp.StatusCode != 200 || !strings.Contains(body, `name="token"`) {
		t.Errorf("login form: %s", resp.Status)
	}

	login := func(tok string) *http.Response {
		resp, err := noRedirect.PostForm(srv.URL+"/login", url.Values{"token": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := login("nope"); resp.StatusCode != 401 || len(resp.Cookies()) != 0 {
		t.Errorf("bad login: %s, cookies %v", resp.Status, resp.Cookies())
	}
	resp := login(token)
	if resp.StatusCode != 303 || len(resp.Cookies()) != 1 {
		t.Fatalf("login: %s, cookies %v", resp.Status, resp.Cookies())
	}
	ck := resp.Cookies()[0]
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || strings.Contains(ck.Value, token) {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, not the token", ck)
	}
	if resp, _ := get(t, noRedirect, srv.URL+"/", "Cookie", ck.Name+"="+ck.Value); resp.StatusCode != 200 {
		t.Errorf("page with the session: %s", resp.Status)
	}
	if resp, _ := get(t, noRedirect, srv.URL+"/", "Cookie", ck.Name+"=x"+ck.Value[1:]); resp.StatusCode == 200 {
		t.Errorf("page with a forged session: %s", resp.Status)
	}
}

func TestLoopbackOnlyWithoutToken(t *testing.T) {
	srv := newConsole(t, console.Config{Store: memstore.New()})
	// A page on another site resolving its own name to 127.0.0.1 sends
	// its own Host.
	if resp, _ := get(t, nil, srv.URL+"/api/page", "Host", "attacker.example:80"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("rebound host: %s; want 403", resp.Status)
	}
	if resp, _ := get(t, nil, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)+"/api/page"); resp.StatusCode != 200 {
		t.Errorf("localhost: %s", resp.Status)
	}
}

// The counts are read from the store at most once a second by the
// configured clock, and at once after a change the console made itself.
func TestCountsShareOneReadPerSecond(t *testing.T) {
	store := seed(t, map[console.State]int{console.StateFailed: 2})
	var mu sync.Mutex
	clock := now
	srv := newConsole(t, console.Config{Store: store, Clock: jobs.ClockFunc(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	})})
	failedCount := func() int {
		for _, sc := range getPage(t, srv.URL, "").Summary.States {
			if sc.State == console.StateFailed {
				return sc.Count
			}
		}
		return -1
	}
	if n := failedCount(); n != 2 {
		t.Fatalf("failed %d", n)
	}
	if _, err := store.Replay(t.Context(), "SKU-00000-k"); err != nil {
		t.Fatal(err)
	}
	if n := failedCount(); n != 2 {
		t.Errorf("failed %d within the second; want the shared read's 2", n)
	}
	mu.Lock()
	clock = clock.Add(time.Second)
	mu.Unlock()
	if n := failedCount(); n != 1 {
		t.Errorf("failed %d a second later; want 1", n)
	}
	// A replay through the console shows at once.
	resp, err := http.Post(srv.URL+"/replay", "application/x-www-form-urlencoded", strings.NewReader("key=SKU-00001-k"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := failedCount(); n != 0 {
		t.Errorf("failed %d right after the console's own replay; want 0", n)
	}
}

// Wrong tokens use up a budget of ten, refilled one a second; while it is
// empty even the right token is refused, so guessing is slow.
func TestWrongTokensAreThrottled(t *testing.T) {
	var mu sync.Mutex
	clock := now
	const token = "the-right-token"
	srv := newConsole(t, console.Config{Store: memstore.New(), Token: token, Clock: jobs.ClockFunc(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	})})
	for i := range 10 {
		if resp, _ := get(t, nil, srv.URL+"/api/page", "Authorization", "Bearer wrong"); resp.StatusCode != 401 {
			t.Fatalf("wrong token %d: %s; want 401", i+1, resp.Status)
		}
	}
	if resp, _ := get(t, nil, srv.URL+"/api/page", "Authorization", "Bearer "+token); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right token after 10 wrong ones: %s; want 429", resp.Status)
	}
	resp, err := http.PostForm(srv.URL+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("login after 10 wrong tokens: %s; want 429", resp.Status)
	}
	mu.Lock()
	clock = clock.Add(time.Second)
	mu.Unlock()
	if resp, _ := get(t, nil, srv.URL+"/api/page", "Authorization", "Bearer "+token); resp.StatusCode != 200 {
		t.Errorf("right token a second later: %s; want 200", resp.Status)
	}
	if resp, _ := get(t, nil, srv.URL+"/api/page", "Authorization", "Bearer "+token); resp.StatusCode != 200 {
		t.Errorf("the right token spent the budget: %s", resp.Status)
	}
}
