package examples_test

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

// TestCatalogLiveTimeout runs the main job in live mode, against the
// simulator, with a -timeout far shorter than its rows need at the default
// two calls per second (issue #16: the rate limiter refused the first call
// past the deadline and the program crashed with exit 2). The run must exit
// 1 naming the rows it did not submit, keep every still it paid for, and a
// rerun on the same job file must finish the rows without rendering any
// clip or still twice.
func TestCatalogLiveTimeout(t *testing.T) {
	t.Parallel()
	const rows = 12 // half with a still: 18 calls, 9 s at two a second
	sim := creativeaitest.NewServer(creativeaitest.WithSeed(16), creativeaitest.WithRenderTime(50*time.Millisecond))
	defer sim.Close()
	env := cleanEnv("CREATIVEAI_API_KEY="+sim.APIKey, "CREATIVEAI_BASE_URL="+sim.URL)
	dir := t.TempDir()
	csv := filepath.Join(dir, "rows.csv")
	var manifest strings.Builder
	manifest.WriteString("sku,image_url,video_prompt,still_prompt\n")
	for i := range rows {
		still := ""
		if i%2 == 0 {
			still = `"white sweep, softbox"`
		}
		fmt.Fprintf(&manifest, "SKU-%02d,https://cdn.example.com/catalog/%02d-hero.jpg,slow push,%s\n", i, i, still)
	}
	if err := os.WriteFile(csv, []byte(manifest.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	res := runProgram(t, dir, env, "catalog", "-csv", csv, "-timeout", "2s")
	if res.code != 1 || strings.Contains(res.stderr, "panic") {
		t.Fatalf("catalog -timeout 2s exited %d; want 1, the exit status of a run that did not finish in time\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{"did not finish within -timeout 2s", "(not submitted)", "rate limit"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
		}
	}
	if !strings.Contains(res.stdout, "interrupted: ") {
		t.Errorf("stdout does not show the interrupted rows:\n%s", res.stdout)
	}
	t.Logf("first run:\nstdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	first := sim.Stats()
	if first.Renders+first.Images == 0 || first.Renders >= rows {
		t.Fatalf("first run: %d clips and %d stills; want some calls, and not every row, within 2s", first.Renders, first.Images)
	}
	stills := 0
	for _, r := range readRecords(t, mustRead(t, filepath.Join(dir, "video-jobs.jsonl"))) {
		if r.StillURL != "" {
			stills++
		}
	}
	if stills != first.Images {
		t.Errorf("the job file keeps %d stills, but %d were rendered: a still paid for was dropped", stills, first.Images)
	}

	res = runProgram(t, dir, env, "catalog", "-csv", csv, "-timeout", "1m")
	if res.code != 0 {
		t.Fatalf("rerun exited %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if n := strings.Count(res.stdout, "already tracked"); n < first.Renders {
		t.Errorf("the rerun found %d rows already tracked, want at least the %d the first run submitted:\n%s", n, first.Renders, res.stdout)
	}
	st := sim.Stats()
	if st.Renders != rows || st.DuplicateRenders != 0 || st.Images != rows/2 {
		t.Errorf("after the rerun: %d clips (%d duplicates) and %d stills; want %d, 0 and %d", st.Renders, st.DuplicateRenders, st.Images, rows, rows/2)
	}
	recs := readRecords(t, mustRead(t, filepath.Join(dir, "video-jobs.jsonl")))
	if len(recs) != rows {
		t.Fatalf("job file has %d lines, want %d", len(recs), rows)
	}
	for _, r := range recs {
		gen, _ := sim.Generation(r.GenerationID)
		if r.Status != jobs.StatusCompleted || (r.StillPrompt != "") != (r.StillURL != "") || gen.ImageURL != cmp.Or(r.StillURL, r.ImageURL) {
			t.Errorf("%s: %s, still %q, clip from %q; want completed, from its still if it has a still prompt", r.SKU, r.Status, r.StillURL, gen.ImageURL)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
