package examples_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

// TestSubmitBudget holds rows back with -max-spend: exit 3, the rows named
// in the table, and a rerun with a higher cap submits just them.
func TestSubmitBudget(t *testing.T) {
	t.Parallel()
	sim := creativeaitest.NewServer(creativeaitest.WithManualRender())
	defer sim.Close()
	env := cleanEnv("CREATIVEAI_API_KEY="+sim.APIKey, "CREATIVEAI_BASE_URL="+sim.URL)
	dir := t.TempDir()
	csv := writeRows(t, dir, 3)
	jobsFile := filepath.Join(dir, "jobs.jsonl")
	args := []string{"-csv", csv, "-jobs", jobsFile, "-webhook-url=", "-concurrency", "1", "-rate", "100"}

	res := runProgram(t, dir, env, "submit", append(args, "-max-spend", "1", "-max-daily-spend", "5")...)
	if res.code != 3 {
		t.Fatalf("submit over -max-spend exited %d, want 3\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{"held", "per-run cap of $1.00", "spend: run $1.00 reserved of $1.00 ($0.00 left); day ", "$1.00 reserved, $0.00 spent of $5.00 ($4.00 left)", "Submitted 2/3 jobs"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, res.stdout)
		}
	}
	if !strings.Contains(res.stderr, "1 row is held back by the budget") {
		t.Errorf("stderr lacks the reason for exit 3:\n%s", res.stderr)
	}
	if n := sim.Stats().Renders; n != 2 {
		t.Errorf("%d renders, want 2", n)
	}
	data, err := os.ReadFile(jobsFile)
	if err != nil || strings.Count(string(data), `"price_cents":50`) < 2 {
		t.Errorf("the job file does not record the price of the submitted rows:\n%s", data)
	}

	res = runProgram(t, dir, env, "submit", append(args, "-max-spend", "1", "-max-daily-spend", "5")...)
	if res.code != 0 || !strings.Contains(res.stdout, "Submitted 3/3 jobs") {
		t.Errorf("rerun with room for the held row exited %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if n := sim.Stats().Renders; n != 3 {
		t.Errorf("%d renders after the rerun, want 3", n)
	}
}

// TestCatalogBudget runs the offline demo under a cap that fits one row:
// the other two are held back and the run exits 3 once the first is done.
func TestCatalogBudget(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	res := runProgram(t, dir, cleanEnv(), "catalog", "-jobs", filepath.Join(dir, "jobs.jsonl"), "-max-spend", "0.50")
	if res.code != 3 {
		t.Fatalf("catalog -max-spend 0.50 exited %d, want 3\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "2 of 3 rows held back by the budget") {
		t.Errorf("stdout does not name the held rows:\n%s", res.stdout)
	}
}
