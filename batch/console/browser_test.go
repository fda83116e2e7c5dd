package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/manifest"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/creativeai-run/catalogvideo/batch/console"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

// These tests drive a real headless Chromium (Debian's chromium package,
// which .ci/run installs) with chromedp. They skip when no Chromium is
// found. With CATALOGVIDEO_CONSOLE_SCREENSHOTS=DIR set, TestBrowserCounts
// also writes the README's screenshots there.

// chromiumPath finds a Chromium or Chrome binary, or "".
func chromiumPath() string {
	if p := os.Getenv("CATALOGVIDEO_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and no
// network of its own, and returns a tab's context; the browser ends with
// the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("no Chromium binary found (install Debian's chromium, or set CATALOGVIDEO_CHROMIUM); .ci/run installs it")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancelTab := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	// Start the browser now, on a context without the timeout, as chromedp
	// asks; later calls use the tab.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// evalAwait evaluates a promise and returns what it resolves to.
func evalAwait[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// waitJS waits until the expression is truthy in the page.
// A poll that a navigation (a form's redirect) interrupts starts again in
// the new page.
func waitJS(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // generous: CI machines are shared
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil {
			return
		}
		if time.Now().After(deadline) || !strings.Contains(err.Error(), "navigated or closed") && !strings.Contains(err.Error(), "context") {
			t.Fatalf("waiting for %s: %v", js, err)
		}
	}
}

// pageCounts reads the count shown for each state.
func pageCounts(t *testing.T, ctx context.Context) map[string]int {
	return eval[map[string]int](t, ctx, `Object.fromEntries(Array.from(document.querySelectorAll("#counts [data-state]")).map(li => [li.dataset.state, Number(li.querySelector(".n").textContent)]))`)
}

func TestBrowserCounts(t *testing.T) {
	ctx := newBrowser(t)
	want := map[console.State]int{console.StateQueued: 2, console.StateRendering: 3, console.StateReady: 1,
		console.StateAwaitingReview: 3, console.StateRejected: 1, console.StatePublished: 6, console.StateDeliveryFailed: 1, console.StateFailed: 4, console.StateSubmitFailed: 2}
	store := seed(t, want)
	h, err := console.New(console.Config{Store: store, PollInterval: 200 * time.Millisecond, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	do(t, ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#counts")))
	got := pageCounts(t, ctx)
	for _, st := range console.States() {
		if got[string(st)] != want[st] {
			t.Errorf("page shows %d %s; want %d", got[string(st)], st, want[st])
		}
	}
	if copy := eval[string](t, ctx, `document.querySelector('#counts [data-state="failed"] .copy').textContent`); copy != jobs.DefaultBuyerCopy().For(jobs.StatusFailed, "") {
		t.Errorf("failed copy %q", copy)
	}
	if rows := eval[int](t, ctx, `document.querySelectorAll("#rows tr").length`); rows != 10 {
		t.Errorf("table shows %d rows; want a page of 10", rows)
	}

	if dir := os.Getenv("CATALOGVIDEO_CONSOLE_SCREENSHOTS"); dir != "" {
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100 is PNG
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "console-page.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Live: a job replayed behind the page's back shows up without a
	// reload.
	var failed string
	for j, err := range store.List(t.Context(), jobs.Filter{Statuses: []jobs.Status{jobs.StatusFailed}}) {
		if err != nil {
			t.Fatal(err)
		}
		failed = j.Key
		break
	}
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	if _, err := store.Replay(t.Context(), failed); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, fmt.Sprintf(`document.querySelector('#counts [data-state="failed"] .n').textContent === "%d" && window.notReloaded`, want[console.StateFailed]-1))
	if q := pageCounts(t, ctx)[string(console.StateQueued)]; q != want[console.StateQueued]+1 {
		t.Errorf("queued shows %d after a replay; want %d", q, want[console.StateQueued]+1)
	}

	// Filters: the state select and the SKU search narrow the table.
	do(t, ctx, chromedp.Navigate(srv.URL+"/?state=published"), chromedp.WaitVisible(chromedp.CSS("#rows")))
	if states := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#rows .badge")).map(b => b.textContent)`); len(states) != 6 || states[0] != "published" {
		t.Errorf("published filter shows %v", states)
	}
}

func TestBrowserVideoPlays(t *testing.T) {
	ctx := newBrowser(t)
	// A real H.264 clip (1 s, 160×90, made with ffmpeg's testsrc), served
	// with Range support as a CDN would.
	clip := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, "testdata/clip.mp4")
	}))
	defer clip.Close()

	// The simulator's output: what a completed render's output_url serves.
	sim := creativeaitest.NewServer(creativeaitest.WithManualRender())
	defer sim.Close()
	gen, _, err := sim.Client().Videos.Create(t.Context(), &creativeai.VideoRequest{Prompt: "slow turn", ImageURL: "https://cdn.example.com/a.png"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Complete(gen.ID); err != nil {
		t.Fatal(err)
	}
	gen, _, err = sim.Client().Videos.Get(t.Context(), gen.ID)
	if err != nil || gen.OutputURL == "" {
		t.Fatalf("simulator generation %+v: %v", gen, err)
	}

	store := seed(t, map[console.State]int{console.StatePublished: 2})
	for i, u := range []string{clip.URL + "/clip.mp4", gen.OutputURL} {
		j, _ := store.Get(t.Context(), fmt.Sprintf("SKU-%05d-k", i))
		j.OutputURL = u
		if err := restore(store, j); err != nil {
			t.Fatal(err)
		}
	}
	h, err := console.New(console.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	do(t, ctx, chromedp.Navigate(srv.URL+"/job?key=SKU-00000-k"), chromedp.WaitVisible(chromedp.CSS("#video")))
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => { const v = document.getElementById("video"); v.muted = true; v.play().catch(() => {}); })()`))
	// HAVE_FUTURE_DATA (3) or more, and the playhead moved: the browser
	// decoded frames of the file the page points at.
	waitJS(t, ctx, `(() => { const v = document.getElementById("video"); return v.error === null && v.readyState >= 3 && v.currentTime > 0; })()`)
	if hidden := eval[bool](t, ctx, `document.getElementById("video-error").hidden`); !hidden {
		t.Error("the playable clip shows the cannot-play message")
	}
	if dir := os.Getenv("CATALOGVIDEO_CONSOLE_SCREENSHOTS"); dir != "" {
		do(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)), chromedp.Evaluate[chromedp.Void](`(() => { const v = document.getElementById("video"); v.pause(); v.currentTime = 0.5; })()`))
		waitJS(t, ctx, `document.getElementById("video").readyState >= 2`)
		shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()) // the phone's screen, PNG
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "console-job-phone.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, chromedp.EmulateViewport(1280, 900))
	}

	// The simulator's mp4 is an ftyp box and random mdat bytes with no
	// moov box: no browser can decode it. The page says so instead of
	// showing a dead player.
	do(t, ctx, chromedp.Navigate(srv.URL+"/job?key=SKU-00001-k"), chromedp.WaitVisible(chromedp.CSS("#video")))
	waitJS(t, ctx, `(() => { const v = document.getElementById("video"); return v.error !== null && !document.getElementById("video-error").hidden; })()`)
	if code := eval[int](t, ctx, `document.getElementById("video").error.code`); code != 4 {
		t.Errorf("simulator mp4: MediaError code %d; want 4 (MEDIA_ERR_SRC_NOT_SUPPORTED)", code)
	}
}

func TestBrowserReplayAndExport(t *testing.T) {
	ctx := newBrowser(t)
	store := seed(t, map[console.State]int{console.StateFailed: 3, console.StateSubmitFailed: 2, console.StatePublished: 3})
	h, err := console.New(console.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	// Export first, while the failed rows are failed: the link downloads a
	// CSV that the manifest reader accepts.
	dir := t.TempDir()
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true)}); err != nil {
		t.Fatal(err)
	}
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	do(t, ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#export-csv")), chromedp.Click(chromedp.CSS("#export-csv")))
	var file string
	for ev, err := range progress {
		if err != nil {
			t.Fatal(err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			file = filepath.Join(dir, ev.GUID)
			break
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("download canceled")
		}
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mr, err := manifest.NewReader(f, "download.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for row, err := range mr.Rows() {
		if err != nil {
			t.Fatal(err)
		}
		j, err := store.Get(t.Context(), row.SKU+"-k")
		if err != nil || !console.Replayable(&j) || j.VideoPrompt != row.VideoPrompt {
			t.Errorf("exported row %+v is not a failed job's (%v)", row, err)
		}
		rows++
	}
	if rows != 5 {
		t.Errorf("downloaded manifest has %d rows; want the 5 failed", rows)
	}

	// Replay one chosen row.
	first := eval[string](t, ctx, `document.querySelector('#rows input[name="key"]').value`)
	if disabled := eval[bool](t, ctx, `document.getElementById("replay-selected").disabled`); !disabled {
		t.Error("Replay selected is enabled with nothing selected")
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(`#rows input[name="key"]`)), chromedp.Click(chromedp.CSS("#replay-selected")))
	waitJS(t, ctx, `document.querySelector(".notice") && document.querySelector(".notice").textContent.includes("Replayed 1 job")`)
	if note := eval[string](t, ctx, `document.querySelector(".notice").textContent`); !strings.Contains(note, "next submit") {
		t.Errorf("notice %q does not say what happens next", note)
	}
	j, _ := store.Get(t.Context(), first)
	if j.Status != jobs.StatusPending || j.Submitted() {
		t.Errorf("replayed in the page, the job is %s (submitted %v); want pending, not submitted", j.Status, j.Submitted())
	}

	// Replay the rest.
	do(t, ctx, chromedp.Click(chromedp.CSS("#replay-failed")))
	waitJS(t, ctx, `document.querySelector(".notice") && document.querySelector(".notice").textContent.includes("Replayed 4 jobs")`)
	got := pageCounts(t, ctx)
	if got["failed"] != 0 || got["submit_failed"] != 0 || got["queued"] != 5 {
		t.Errorf("counts after replaying all: %v", got)
	}
}

func TestBrowserToken(t *testing.T) {
	ctx := newBrowser(t)
	store := seed(t, map[console.State]int{console.StateFailed: 2, console.StatePublished: 1})
	const token = "a-long-console-token"
	// Configured for every interface; the test reaches it on loopback.
	h, err := console.New(console.Config{Store: store, Addr: "0.0.0.0:8081", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	do(t, ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/login") {
		t.Errorf("without a session the page is %s; want the login form", loc)
	}
	do(t, ctx, chromedp.SendKeys(chromedp.CSS("#token"), "wrong-token\n"))
	waitJS(t, ctx, `document.querySelector(".error") && document.querySelector(".error").textContent.includes("not this console's token")`)
	// The form comes back empty (a password is never echoed).
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS("#token")), chromedp.SendKeys(chromedp.CSS("#token"), token+"\n"))
	waitJS(t, ctx, `document.getElementById("counts") !== null`)
	if got := pageCounts(t, ctx); got["failed"] != 2 || got["published"] != 1 {
		t.Errorf("counts after login %v", got)
	}
	// The session cookie is HttpOnly: the page's script cannot read it.
	if c := eval[string](t, ctx, `document.cookie`); c != "" {
		t.Errorf("document.cookie = %q; want the session out of the script's reach", c)
	}
	// The polling API and a POST work with the session.
	if status := evalAwait[int](t, ctx, `fetch("api/page").then(r => r.status)`); status != 200 {
		t.Errorf("api/page from the signed-in page: %d", status)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS("#replay-failed")))
	waitJS(t, ctx, `document.querySelector(".notice") && document.querySelector(".notice").textContent.includes("Replayed 2 jobs")`)
	n := 0
	for _, err := range store.List(t.Context(), jobs.Filter{Statuses: []jobs.Status{jobs.StatusPending}}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("%d pending after replaying in a signed-in page; want 2", n)
	}
	// Signing out ends the session.
	do(t, ctx, chromedp.Click(chromedp.CSS("header form button")), chromedp.WaitVisible(chromedp.CSS("#token")))
	if status := evalAwait[int](t, ctx, `fetch("api/page").then(r => r.status)`); status != 401 {
		t.Errorf("api/page after signing out: %d; want 401", status)
	}
}
