package examples_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
