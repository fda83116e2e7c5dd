package examples_test

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

// TestJobsStatusReportsTornLine: opening a job file whose last line is torn
// cuts that line off, also for a read-only command such as status; the
// operator is told, since the file changes under a command that only reads.
func TestJobsStatusReportsTornLine(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "video-jobs.jsonl")
	whole := `{"sku":"SKU-1","generation_id":"vgen_1","status":"completed","output_url":"https://cdn.example.com/1.mp4"}` + "\n"
	torn := `{"sku":"SKU-2","generation_id":"vgen_2","sta`
	if err := os.WriteFile(file, []byte(whole+torn), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runProgram(t, dir, cleanEnv(), "jobs", "-jobs", file, "status")
	if res.code != 0 {
		t.Fatalf("jobs status exit %d, want 0\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "torn last line") || !strings.Contains(res.stderr, "line=2") {
		t.Errorf("stderr does not report the torn line 2 it cut off:\n%s", res.stderr)
	}
	if !strings.Contains(res.stdout, "SKU-1") || strings.Contains(res.stdout, "SKU-2") {
		t.Errorf("status shows:\n%s\nwant SKU-1 only", res.stdout)
	}
	if got, err := os.ReadFile(file); err != nil || string(got) != whole {
		t.Errorf("job file after status: %q (%v), want the whole line only", got, err)
	}
}

// TestSubmitInterruptCountsUnreadRows: a submit interrupted early counts
// the manifest's rows it never reached, in "Submitted X/Y" and in the
// reason it exits 1; the rerun submits the rest, each row once.
func TestSubmitInterruptCountsUnreadRows(t *testing.T) {
	t.Parallel()
	sim := creativeaitest.NewServer(creativeaitest.WithManualRender())
	defer sim.Close()
	env := cleanEnv("CREATIVEAI_API_KEY="+sim.APIKey, "CREATIVEAI_BASE_URL="+sim.URL)
	dir := t.TempDir()
	csv := writeRows(t, dir, 5)
	jobsFile := filepath.Join(dir, "jobs.jsonl")
	// One call a minute: the second row waits for the limiter until the
	// interrupt.
	args := []string{"-csv", csv, "-jobs", jobsFile, "-webhook-url=", "-concurrency", "1", "-rate", "0.0167"}
	p := startProgram(t, dir, env, "submit", args...)
	waitFor(t, time.Minute, "the first row submitted", func() (bool, error) {
		return strings.Contains(p.stderr.String(), "[1/5] SKU-00 submitted"), nil
	})
	if code := p.stop(syscall.SIGINT, time.Minute); code != 1 {
		t.Fatalf("exit %d after SIGINT, want 1\nstderr:\n%s", code, p.stderr)
	}
	if !strings.Contains(p.stdout.String(), "Submitted 1/5 jobs") {
		t.Errorf("stdout does not count the manifest's 5 rows:\n%s", p.stdout)
	}
	m := regexp.MustCompile(`interrupted: (\d+) rows? not answered yet and (\d+) rows? of \S+ not reached; rerun`).FindStringSubmatch(p.stderr.String())
	if m == nil {
		t.Fatalf("stderr does not say how many rows were not reached:\n%s", p.stderr)
	}
	if a, b := atoi(t, m[1]), atoi(t, m[2]); a+b != 4 {
		t.Errorf("%d rows not answered and %d not reached, want 4 in all:\n%s", a, b, p.stderr)
	}

	res := runProgram(t, dir, env, "submit", append(args[:len(args)-1], "100")...)
	if res.code != 0 || !strings.Contains(res.stdout, "Submitted 5/5 jobs") {
		t.Errorf("rerun exited %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if n := sim.Stats().Renders; n != 5 {
		t.Errorf("%d renders, want 5", n)
	}
}

// TestSubmitRefusesPipe: submit reads -csv twice (to check every row, then
// to submit), so a pipe such as -csv <(iconv …) is refused with exit 2
// instead of waiting forever for a second writer.
func TestSubmitRefusesPipe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "rows.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	go func() {
		// The writer end: open blocks until submit opens the pipe to read.
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			_, _ = f.WriteString("sku,image_url,video_prompt\nSKU-1,https://cdn.example.com/1.jpg,spin\n")
			f.Close()
		}
	}()
	t.Cleanup(func() {
		// Should submit not have opened the pipe, the writer is let go.
		if f, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	res := runProgram(t, dir, cleanEnv(), "submit", "-csv", fifo, "-dry-run")
	if res.code != 2 || !strings.Contains(res.stderr, "is not a regular file (a pipe)") {
		t.Errorf("exit %d, want 2 and the pipe named\nstderr:\n%s", res.code, res.stderr)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCatalogResumesUnarchivedOutputs: an offline run interrupted after its
// renders completed but before their videos were archived and delivered
// leaves output_urls on its simulator, which died with it. The rerun of
// the same command must finish them from its own simulator's resumed
// renders, not retry the dead URLs until -timeout, run after run.
func TestCatalogResumesUnarchivedOutputs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	csv := filepath.Join(dir, "rows.csv")
	manifest := "sku,image_url,video_prompt,target_surface\n" +
		"SKU-1,https://cdn.example.com/1.jpg,spin,meta-ads\n" +
		"SKU-2,https://cdn.example.com/2.jpg,spin,\n"
	if err := os.WriteFile(csv, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := runProgram(t, dir, cleanEnv(), "catalog", "-csv", csv); res.code != 0 {
		t.Fatalf("first run exited %d\nstderr:\n%s", res.code, res.stderr)
	}

	// Make the job file what an interrupted run leaves: completed renders
	// on a simulator that is gone, neither archived nor delivered.
	file := filepath.Join(dir, "video-jobs.jsonl")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for line := range strings.Lines(string(data)) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		out, _ := rec["output_url"].(string)
		u, err := url.Parse(out)
		if err != nil || u.Host == "" {
			t.Fatalf("job without an output_url: %s", line)
		}
		u.Host = "127.0.0.1:9" // the discard port: nothing answers
		rec["output_url"] = u.String()
		for _, k := range []string{"archive_url", "sha256", "archive_size", "archive_content_type", "delivery_ref", "delivery_attempts", "delivery_next_at"} {
			delete(rec, k)
		}
		if rec["target_surface"] != nil && rec["target_surface"] != "" {
			rec["delivery_status"] = "pending"
		}
		b, _ := json.Marshal(rec)
		lines = append(lines, string(b)+"\n")
	}
	if err := os.WriteFile(file, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "video-archive")); err != nil {
		t.Fatal(err)
	}

	res := runProgram(t, dir, cleanEnv(), "catalog", "-csv", csv)
	if res.code != 0 {
		t.Fatalf("rerun exited %d, want 0\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{"resumed render", "Video live - published to its destination"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("rerun's stdout lacks %q:\n%s", want, res.stdout)
		}
	}
	data, err = os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), `"archive_url":`); n != 2 {
		t.Errorf("%d jobs archived, want 2:\n%s", n, data)
	}
}
