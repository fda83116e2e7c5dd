package examples_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/manifest"

	"github.com/google/go-cmp/cmp"

	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/examples/internal/cli"
)

// TestJobsImport moves a job file to a database the way the README tells
// operators to: export from the JSONL file, import into SQLite (and
// PostgreSQL when CATALOGVIDEO_POSTGRES_DSN is set), and the database's
// export is the file's export.
func TestJobsImport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	source := filepath.Join(dir, "video-jobs.jsonl")
	seedJobFile(t, source)

	res := runProgram(t, dir, cleanEnv(), "jobs", "-jobs", source, "export")
	if res.code != 0 {
		t.Fatalf("export exited %d: %s", res.code, res.stderr)
	}
	exported := filepath.Join(dir, "jobs.jsonl")
	if err := os.WriteFile(exported, []byte(res.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	want := readRecords(t, []byte(res.stdout))
	checkEveryState(t, want)

	targets := map[string]string{"SQLite": "sqlite:" + filepath.Join(dir, "jobs.db")}
	if dsn := os.Getenv("CATALOGVIDEO_POSTGRES_DSN"); dsn != "" {
		targets["PostgreSQL"] = freshSchema(t, dsn)
	} else {
		t.Log("CATALOGVIDEO_POSTGRES_DSN is not set; importing into SQLite only")
	}
	for name, target := range targets {
		t.Run(name, func(t *testing.T) {
			spec, err := cli.ParseStoreSpec(target)
			if err != nil {
				t.Fatal(err)
			}
			res := runProgram(t, dir, cleanEnv(), "jobs", "-jobs", target, "import", exported)
			if wantOut := "Imported 9 jobs (0 already present) -> " + spec.Display + "\n"; res.code != 0 || res.stdout != wantOut {
				t.Fatalf("import exited %d with %q, want 0 and %q\nstderr:\n%s", res.code, res.stdout, wantOut, res.stderr)
			}
			checkExport(t, dir, target, want)

			// A second import, flags after the file, finds every job
			// present and changes none.
			res = runProgram(t, dir, cleanEnv(), "jobs", "import", exported, "-jobs", target)
			if wantOut := "Imported 0 jobs (9 already present) -> " + spec.Display + "\n"; res.code != 0 || res.stdout != wantOut {
				t.Fatalf("second import exited %d with %q, want 0 and %q\nstderr:\n%s", res.code, res.stdout, wantOut, res.stderr)
			}
			checkExport(t, dir, target, want)
		})
	}
}

// checkExport checks that `jobs export` of target prints want.
func checkExport(t *testing.T, dir, target string, want []jobs.Record) {
	t.Helper()
	res := runProgram(t, dir, cleanEnv(), "jobs", "-jobs", target, "export")
	if res.code != 0 {
		t.Fatalf("export of %s exited %d: %s", target, res.code, res.stderr)
	}
	if d := cmp.Diff(want, readRecords(t, []byte(res.stdout))); d != "" {
		t.Errorf("export after import differs from the source's export (-source +imported):\n%s", d)
	}
}

// seedJobFile writes a job file with jobs in every state an operator's file
// holds, through the store's own methods, with the wall clock's
// nanosecond times.
func seedJobFile(t *testing.T, path string) {
	t.Helper()
	ctx := t.Context()
	store, _, err := cli.OpenStore(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := store.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	track := func(sku, surface string) string {
		t.Helper()
		row := manifest.Row{SKU: sku, ImageURL: "https://cdn.example.com/catalog/" + sku + ".jpg",
			VideoPrompt: "5-second product hero shot, slow camera push", Collection: "spring-drop", TargetSurface: surface}
		row = manifest.Defaults{}.Apply(row)
		key := manifest.RowKey(row, manifest.Defaults{})
		job := jobs.Job{Key: key, SKU: sku, Collection: row.Collection, TargetSurface: surface,
			ImageURL: row.ImageURL, VideoPrompt: row.VideoPrompt, Model: row.Model, Duration: row.Duration, AspectRatio: row.AspectRatio}
		if _, _, err := store.Track(ctx, job); err != nil {
			t.Fatal(err)
		}
		return key
	}
	submit := func(key, id string) {
		t.Helper()
		recordSubmission(t, store, key, id)
	}
	finish := func(id string, status creativeai.Status, errText string) {
		t.Helper()
		gen := creativeai.Generation{ID: id, Object: "video.generation", Status: status, Error: errText}
		if status == creativeai.StatusCompleted {
			gen.OutputURL = "https://cdn.creativeai.run/output/" + id + ".mp4"
			gen.FailoverUsed = id == "vgen_SKU-1001"
		}
		must(store.Apply(ctx, gen))
	}

	for _, sku := range []string{"SKU-1001", "SKU-1002", "SKU-1003"} {
		id := "vgen_" + sku
		submit(track(sku, cli.SurfaceShopifyPDP), id)
		finish(id, creativeai.StatusCompleted, "")
	}
	// SKU-1001 is delivered, SKU-1002 waits for a retry, SKU-1003 failed.
	claimed, err := store.ClaimDeliveries(ctx, jobs.Claim{Owner: "seed", Limit: 10, Lease: time.Minute})
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claimed %d jobs (%v), want 3", len(claimed), err)
	}
	for _, j := range claimed {
		r := jobs.DeliveryResult{Owner: "seed", State: jobs.DeliveryDelivered, Ref: "gid://shopify/MediaVideo/1"}
		switch j.SKU {
		case "SKU-1002":
			r = jobs.DeliveryResult{Owner: "seed", State: jobs.DeliveryPending, Error: "HTTP 503", NextAt: time.Now().Add(time.Hour)}
		case "SKU-1003":
			r = jobs.DeliveryResult{Owner: "seed", State: jobs.DeliveryFailed, Error: "no product has SKU SKU-1003"}
		}
		must(store.RecordDelivery(ctx, j.Key, r))
	}

	// A render that failed, and one that failed and was replayed.
	failed := track("SKU-2001", cli.SurfaceMetaAds)
	submit(failed, "vgen_2001")
	finish("vgen_2001", creativeai.StatusFailed, "provider timeout")
	replayed := track("SKU-2002", cli.SurfaceMetaAds)
	submit(replayed, "vgen_2002_0")
	finish("vgen_2002_0", creativeai.StatusFailed, "nsfw filter")
	must(store.Replay(ctx, replayed))
	submit(replayed, "vgen_2002_1")

	// A submission the service refused, a render in a status the SDK does
	// not know, and a row tracked but never submitted.
	must(store.RecordSubmission(ctx, track("SKU-3001", ""), jobs.Submission{Error: "HTTP 422: image_url is not reachable"}))
	odd := track("SKU-3002", cli.SurfaceShopifyPDP)
	submit(odd, "vgen_3002")
	finish("vgen_3002", "upscaling", "")
	track("SKU-3003", cli.SurfaceShopifyPDP)
	// A finished render with nowhere to go: no delivery state.
	submit(track("SKU-3004", ""), "vgen_3004")
	finish("vgen_3004", creativeai.StatusCompleted, "")
}

// checkEveryState checks that the seeded export holds what the test means to
// carry across, so that it cannot pass on a file of pending jobs.
func checkEveryState(t *testing.T, recs []jobs.Record) {
	t.Helper()
	if len(recs) != 9 {
		t.Fatalf("the seeded export has %d records, want 9", len(recs))
	}
	got := map[string]string{}
	for _, r := range recs {
		got[r.SKU] = string(r.Status) + "/" + string(r.Delivery)
	}
	want := map[string]string{
		"SKU-1001": "completed/delivered", "SKU-1002": "completed/pending", "SKU-1003": "completed/failed",
		"SKU-2001": "failed/", "SKU-2002": "pending/", "SKU-3001": "submit_failed/",
		"SKU-3002": "pending/", "SKU-3003": "pending/", "SKU-3004": "completed/",
	}
	for sku, w := range want {
		if got[sku] != w {
			t.Errorf("seeded %s is %s, want %s", sku, got[sku], w)
		}
	}
	for _, r := range recs {
		switch r.SKU {
		case "SKU-1001":
			if r.DeliveryRef == "" || r.OutputURL == "" || !r.FailoverUsed || r.CompletedAt.IsZero() {
				t.Errorf("seeded SKU-1001 lacks its delivery ref, output, failover or completion time: %+v", r.Job)
			}
		case "SKU-1002":
			if r.DeliveryNextAt.IsZero() || r.DeliveryError == "" {
				t.Errorf("seeded SKU-1002 lacks its retry: %+v", r.Job)
			}
		case "SKU-2002":
			if r.Attempt != 1 || len(r.PreviousGenerationIDs) != 1 {
				t.Errorf("seeded SKU-2002 is not a replay: %+v", r.Job)
			}
		case "SKU-3002":
			if r.ProviderStatus != "upscaling" {
				t.Errorf("seeded SKU-3002 has provider status %q, want upscaling", r.ProviderStatus)
			}
		}
	}
}

// TestJobsImportRefuses checks that import reports every bad record of its
// file as FILE:LINE and imports nothing, and that a store failure midway
// exits 1 and says what was imported.
func TestJobsImportRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := `{"key":"A#1","sku":"A","status":"pending","buyer_status":"Queued with provider - render slot reserved"}` + "\n"
	bad := write("bad.jsonl", good+
		"\n"+ // blank lines are skipped
		`{"key":"B#1","sku":"B","status":"done"}`+"\n"+
		`{"sku":"C","status":"pending"}`+"\n"+
		`{"key":"D#1","sku":"D","status":"pending","prority":1}`+"\n"+
		`{"key":"E#1","sku":"E","status":"completed","delivery_status":"sent"}`+"\n"+
		`{"key":"F#1","sku":"F","status":"pending","attempt":"2"}`+"\n"+
		"not json\n"+
		`{"key":"A#1","sku":"A","status":"completed"}`+"\n")
	target := "sqlite:" + filepath.Join(dir, "refused.db")
	res := runProgram(t, dir, cleanEnv(), "jobs", "-jobs", target, "import", bad)
	if res.code != 2 {
		t.Errorf("import of a bad file exited %d, want 2\nstderr:\n%s", res.code, res.stderr)
	}
	for _, want := range []string{
		bad + `:3: job B#1: unknown status "done"`,
		bad + ":4: record has no key",
		bad + `:5: not a job record: json: unknown field "prority"`,
		bad + `:6: job E#1: unknown delivery_status "sent"`,
		bad + ":7: not a job record: json: cannot unmarshal string",
		bad + ":8: not a job record: invalid character",
		bad + `:9: key "A#1" repeats line 1`,
		bad + ": 7 bad records; nothing was imported",
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr does not contain %q:\n%s", want, res.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "refused.db")); !os.IsNotExist(err) {
		t.Errorf("the target store was opened for a refused file: %v", err)
	}

	for _, tt := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no file", []string{"-jobs", target, "import"}, "import needs the FILE"},
		{"missing file", []string{"-jobs", target, "import", filepath.Join(dir, "nope.jsonl")}, "nope.jsonl"},
		{"two files", []string{"-jobs", target, "import", bad, bad}, "unexpected arguments after import"},
		{"no store", []string{"import", bad}, "-jobs is required"},
	} {
		res := runProgram(t, dir, cleanEnv(), "jobs", tt.args...)
		if res.code != 2 || !strings.Contains(res.stderr, tt.stderr) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tt.name, res.code, res.stderr, tt.stderr)
		}
	}

	// The target already has generation vgen_2 under another key: the
	// store refuses the second record, after the first was imported.
	target = "sqlite:" + filepath.Join(dir, "conflict.db")
	taken := write("taken.jsonl", `{"key":"Z#1","sku":"Z","generation_id":"vgen_2","status":"processing"}`+"\n")
	if res := runProgram(t, dir, cleanEnv(), "jobs", "-jobs", target, "import", taken); res.code != 0 {
		t.Fatalf("import exited %d: %s", res.code, res.stderr)
	}
	two := write("two.jsonl", `{"key":"A#1","sku":"A","generation_id":"vgen_1","status":"completed"}`+"\n"+
		`{"key":"B#1","sku":"B","generation_id":"vgen_2","status":"failed"}`+"\n")
	res = runProgram(t, dir, cleanEnv(), "jobs", "-jobs", target, "import", two)
	if res.code != 1 {
		t.Errorf("import into a conflicting store exited %d, want 1\nstderr:\n%s", res.code, res.stderr)
	}
	for _, want := range []string{two + ":2: import B#1:", "vgen_2", "1 job imported before the failure"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr does not contain %q:\n%s", want, res.stderr)
		}
	}
	res = runProgram(t, dir, cleanEnv(), "jobs", "-jobs", target, "status")
	if !strings.Contains(res.stdout, "2 jobs: 1 completed, 1 processing") {
		t.Errorf("the store after the failed import:\n%s", res.stdout)
	}
}
