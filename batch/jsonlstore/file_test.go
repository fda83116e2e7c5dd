package jsonlstore_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/creativeai-run/catalogvideo/batch/jsonlstore"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// seedLines is the job file the workflow tutorial shows, verbatim.
const seedLines = `{"sku":"SKU-1001","collection":"new-arrivals","target_surface":"shopify-pdp","generation_id":"vgen_abc123","status":"completed","output_url":"https://cdn.creativeai.run/output/video-abc123.mp4","failover_used":false,"completed_at":"2026-03-11T08:44:03Z","error":null}
{"sku":"SKU-1002","collection":"spring-drop","target_surface":"shopify-pdp","generation_id":"vgen_def456","status":"pending"}
{"sku":"SKU-1003","collection":"paid-social","target_surface":"meta-ads","generation_id":"vgen_ghi789","status":"failed","error":"provider timeout after retry budget"}
`

var now = time.Date(2026, time.March, 11, 9, 0, 0, 0, time.UTC)

var clock = jobs.ClockFunc(func() time.Time { return now })

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "video-jobs.jsonl")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func list(t *testing.T, s jobs.Store) []jobs.Job {
	t.Helper()
	var jobList []jobs.Job
	for j, err := range s.List(t.Context(), jobs.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		jobList = append(jobList, j)
	}
	return jobList
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func TestOpenSeedFile(t *testing.T) {
	path := writeFile(t, seedLines)
	s := open(t, path, jsonlstore.WithClock(clock))
	want := []jobs.Job{{
		Key: "SKU-1001", SKU: "SKU-1001", Collection: "new-arrivals", TargetSurface: "shopify-pdp",
		GenerationID: "vgen_abc123", Status: jobs.StatusCompleted,
		OutputURL:   "https://cdn.creativeai.run/output/video-abc123.mp4",
		CompletedAt: time.Date(2026, time.March, 11, 8, 44, 3, 0, time.UTC),
	}, {
		Key: "SKU-1002", SKU: "SKU-1002", Collection: "spring-drop", TargetSurface: "shopify-pdp",
		GenerationID: "vgen_def456", Status: jobs.StatusPending,
	}, {
		Key: "SKU-1003", SKU: "SKU-1003", Collection: "paid-social", TargetSurface: "meta-ads",
		GenerationID: "vgen_ghi789", Status: jobs.StatusFailed, Error: "provider timeout after retry budget",
	}}
	diff(t, "jobs of the seed file", want, list(t, s))

	// The webhook for the pending row arrives: it is found by generation id
	// and enters the outbox.
	r, err := s.Apply(t.Context(), creativeai.Generation{ID: "vgen_def456", Status: creativeai.StatusCompleted, OutputURL: "https://cdn.creativeai.run/output/video-def456.mp4"})
	if err != nil || !r.Changed {
		t.Fatalf("Apply = %+v, %v; want changed", r, err)
	}
	if r.Job.Key != "SKU-1002" || r.Job.Delivery != jobs.DeliveryPending {
		t.Errorf("applied to %s with delivery %q; want SKU-1002, pending", r.Job.Key, r.Job.Delivery)
	}
	if _, err := s.Replay(t.Context(), "SKU-1003"); err != nil {
		t.Errorf("Replay of the seed's failed row: %v", err)
	}
	want[1] = r.Job
	want[2], _ = s.Get(t.Context(), "SKU-1003")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The seed's lines are kept as they were; changes follow them.
	content := readFile(t, path)
	if !strings.HasPrefix(content, seedLines) || strings.Count(content, "\n") != 5 {
		t.Errorf("file after two changes:\n%s", content)
	}
	diff(t, "jobs after reopen", want, list(t, open(t, path, jsonlstore.WithClock(clock))))
}

func TestOpenSeedVariants(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       jobs.Job
	}{{
		name: "unknown status",
		line: `{"sku":"A","generation_id":"vgen_a","status":"queued"}`,
		want: jobs.Job{Key: "A", SKU: "A", GenerationID: "vgen_a", Status: jobs.StatusPending, ProviderStatus: "queued"},
	}, {
		name: "submit_failed without generation",
		line: `{"sku":"A","status":"submit_failed","error":"Error: HTTP 429: {\"error\":\"rate limited\"}"}`,
		want: jobs.Job{Key: "A", SKU: "A", Status: jobs.StatusSubmitFailed, Error: `Error: HTTP 429: {"error":"rate limited"}`},
	}, {
		name: "nulls everywhere",
		line: `{"sku":"A","collection":null,"generation_id":null,"status":null,"output_url":null,"failover_used":null,"completed_at":null,"error":null}`,
		want: jobs.Job{Key: "A", SKU: "A", Status: jobs.StatusPending},
	}, {
		name: "event fields as the service sent them",
		line: `{"sku":"A","generation_id":"vgen_a","status":"failed","completed_at":1773218643,"error":{"code":"provider_timeout","message":"gave up"},"failover_used":true}`,
		want: jobs.Job{Key: "A", SKU: "A", GenerationID: "vgen_a", Status: jobs.StatusFailed,
			CompletedAt: time.Unix(1773218643, 0), Error: "provider_timeout: gave up", FailoverUsed: true},
	}, {
		name: "exported line with buyer_status",
		line: `{"key":"A-1f2e","sku":"A","status":"processing","generation_id":"vgen_a","buyer_status":"Rendering video"}`,
		want: jobs.Job{Key: "A-1f2e", SKU: "A", GenerationID: "vgen_a", Status: jobs.StatusProcessing},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, writeFile(t, tc.line+"\n"))
			diff(t, "job", []jobs.Job{tc.want}, list(t, s))
		})
	}
}

func TestOpenTolerates(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"empty file", ""},
		{"blank lines", "\n\n" + seedLines + "\n  \n"},
		{"CRLF", strings.ReplaceAll(seedLines, "\n", "\r\n")},
		{"byte order mark", "\ufeff" + seedLines},
		{"last line unterminated", strings.TrimSuffix(seedLines, "\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.content)
			s := open(t, path)
			want := 3
			if tc.content == "" {
				want = 0
			}
			if got := len(list(t, s)); got != want {
				t.Fatalf("%d jobs, want %d", got, want)
			}
			if _, _, err := s.Track(t.Context(), jobs.Job{Key: "new", SKU: "NEW"}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if got := len(list(t, open(t, path))); got != want+1 {
				t.Errorf("after an append and reopen: %d jobs, want %d", got, want+1)
			}
		})
	}
}

func TestOpenCorruptLine(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(seedLines, "\n"), "\n")
	for _, tc := range []struct{ name, bad, wantErr string }{
		{"truncated JSON", `{"sku":"SKU-9","status":`, "not a JSON object"},
		{"not an object", `["SKU-9"]`, "not a JSON object"},
		{"no key or sku", `{"status":"pending","generation_id":"vgen_x"}`, "neither key nor sku"},
		{"event without id", `{"deferred_event":{"status":"completed"}}`, "has no id"},
		{"job and event", `{"sku":"SKU-9","deferred_event":{"id":"vgen_x","status":"completed"}}`, "both a job and deferred_event"},
		{"bad completed_at", `{"sku":"SKU-9","completed_at":"yesterday"}`, "completed_at"},
		{"bad duration", `{"sku":"SKU-9","duration":"forever"}`, "duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, strings.Join([]string{lines[0], tc.bad, lines[1], lines[2]}, "\n")+"\n")
			before := readFile(t, path)
			s, err := jsonlstore.Open(path)
			if err == nil {
				s.Close()
				t.Fatal("Open of a file with a corrupt line in the middle: no error")
			}
			if want := path + ":2: "; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not name %q and %q", err, want, tc.wantErr)
			}
			if after := readFile(t, path); after != before {
				t.Error("a failed Open changed the file")
			}
			// Once repaired, the file opens: the failed Open released its lock.
			if err := os.WriteFile(path, []byte(seedLines), 0o644); err != nil {
				t.Fatal(err)
			}
			open(t, path)
		})
	}
}

// buildFile makes a job file through the store and returns its path and
// content; the last line is a job's change.
func buildFile(t *testing.T) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jobs.jsonl")
	s, err := jsonlstore.Open(path, jsonlstore.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for i := range 3 {
		key, id := fmt.Sprintf("k%d", i), fmt.Sprintf("vgen_%d", i)
		s.Track(ctx, jobs.Job{Key: key, SKU: "SKU-" + key, TargetSurface: "shopify-pdp", VideoPrompt: "slow push, white sweep, soft light"})
		s.Apply(ctx, creativeai.Generation{ID: id, Status: creativeai.StatusProcessing}) // kept
		s.RecordSubmission(ctx, key, jobs.Submission{Generation: &creativeai.Generation{ID: id, Status: creativeai.StatusPending}})
	}
	if _, err := s.Apply(ctx, creativeai.Generation{ID: "vgen_2", Status: creativeai.StatusCompleted, OutputURL: "https://cdn.creativeai.run/output/2.mp4"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path, readFile(t, path)
}

func TestOpenTornLastLine(t *testing.T) {
	path, full := buildFile(t)
	lastStart := strings.LastIndex(strings.TrimSuffix(full, "\n"), "\n") + 1

	snapshot := func(content string) []jobs.Job {
		return list(t, open(t, writeFile(t, content)))
	}
	before, after := snapshot(full[:lastStart]), snapshot(full)
	if before[2].Status != jobs.StatusProcessing || after[2].Status != jobs.StatusCompleted {
		t.Fatalf("fixture: last line should complete k2: before %q, after %q", before[2].Status, after[2].Status)
	}

	for cut := lastStart + 1; cut < len(full); cut++ {
		content := full[:cut]
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		s, err := jsonlstore.Open(path, jsonlstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err != nil {
			t.Fatalf("cut at %d: Open: %v", cut, err)
		}
		whole := cut == len(full)-1 // only the newline is missing
		want, wantSize := before, lastStart
		if whole {
			want, wantSize = after, len(full)
		}
		diff(t, fmt.Sprintf("cut at %d: jobs", cut), want, list(t, s))
		if got := len(readFile(t, path)); got != wantSize {
			t.Errorf("cut at %d: file is %d bytes after Open, want %d", cut, got, wantSize)
		}
		if warned := strings.Contains(logs.String(), "torn last line"); warned == whole {
			t.Errorf("cut at %d: warning logged = %v, want %v (log: %s)", cut, warned, !whole, logs.String())
		}
		// Appending after the repair yields a valid file.
		if _, err := s.Apply(t.Context(), creativeai.Generation{ID: "vgen_0", Status: creativeai.StatusFailed}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s, err = jsonlstore.Open(path)
		if err != nil {
			t.Fatalf("cut at %d: reopen after repair and append: %v", cut, err)
		}
		if got := list(t, s); got[0].Status != jobs.StatusFailed || len(got) != 3 {
			t.Fatalf("cut at %d: after repair and append: %+v", cut, got)
		}
		s.Close()
	}
}

func TestOpenGarbageTail(t *testing.T) {
	_, full := buildFile(t)
	want := list(t, open(t, writeFile(t, full)))
	for name, tail := range map[string]string{
		"zeros":         strings.Repeat("\x00", 4096),
		"partial event": `{"deferred_event":{"id":"vgen_9","sta`,
	} {
		var logs bytes.Buffer
		path := writeFile(t, full+tail)
		s := open(t, path, jsonlstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		diff(t, name, want, list(t, s))
		if !strings.Contains(logs.String(), "torn last line") {
			t.Errorf("%s: no warning logged", name)
		}
		if got := readFile(t, path); got != full {
			t.Errorf("%s: tail not cut off (%d bytes, want %d)", name, len(got), len(full))
		}
	}
}

func TestCompact(t *testing.T) {
	path, _ := buildFile(t)
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	s := open(t, path, jsonlstore.WithClock(clock))
	ctx := t.Context()
	s.Apply(ctx, creativeai.Generation{ID: "vgen_later", Status: creativeai.StatusCompleted})
	s.Apply(ctx, creativeai.Generation{ID: "vgen_0", Status: creativeai.StatusFailed})
	s.Replay(ctx, "k0")
	want := list(t, s)

	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	content := readFile(t, path)
	if got := strings.Count(content, "\n"); got != 4 {
		t.Errorf("compacted file has %d lines, want 3 jobs and 1 kept event:\n%s", got, content)
	}
	if !strings.HasSuffix(content, `{"deferred_event":{"id":"vgen_later","status":"completed"}}`+"\n") {
		t.Errorf("compacted file does not end with the kept event:\n%s", content)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("compacted file mode %v, want 0600", info.Mode().Perm())
	}
	if m, _ := filepath.Glob(path + ".compact-*"); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
	diff(t, "jobs after Compact", want, list(t, s))

	// Changes after compaction go to the new file.
	s.Track(ctx, jobs.Job{Key: "k9", SKU: "SKU-k9"})
	s.RecordSubmission(ctx, "k9", jobs.Submission{Generation: &creativeai.Generation{ID: "vgen_later", Status: creativeai.StatusPending}})
	want = list(t, s)
	if want[3].Status != jobs.StatusCompleted {
		t.Errorf("kept event not applied after Compact: %q", want[3].Status)
	}
	s.Close()
	diff(t, "jobs after Compact and reopen", want, list(t, open(t, path, jsonlstore.WithClock(clock))))
}

func TestCompactWhileApplying(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.jsonl")
	s := open(t, path)
	ctx := t.Context()
	const jobList, workers = 200, 8
	for i := range jobList {
		key := fmt.Sprintf("k%03d", i)
		s.Track(ctx, jobs.Job{Key: key, SKU: key})
		s.RecordSubmission(ctx, key, jobs.Submission{Generation: &creativeai.Generation{ID: "vgen_" + key, Status: creativeai.StatusPending}})
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < jobList; i += workers {
				for _, st := range []creativeai.Status{creativeai.StatusProcessing, creativeai.StatusCompleted} {
					if _, err := s.Apply(ctx, creativeai.Generation{ID: fmt.Sprintf("vgen_k%03d", i), Status: st}); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if err := s.Compact(ctx); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	want := list(t, s)
	s.Close()
	got := list(t, open(t, path))
	diff(t, "jobs after reopen", want, got)
	for _, j := range got {
		if j.Status != jobs.StatusCompleted {
			t.Fatalf("%s: %q after reopen, want completed", j.Key, j.Status)
		}
	}
}

// FuzzOpen opens arbitrary job files: Open either fails naming the file or
// succeeds, and a file it repaired opens again to the same jobs.
func FuzzOpen(f *testing.F) {
	f.Add([]byte(seedLines))
	f.Add([]byte(seedLines + `{"sku":"SKU-1004","sta`))
	f.Add([]byte(`{"deferred_event":{"id":"vgen_def456","status":"completed"}}` + "\n" + seedLines))
	f.Add([]byte("\ufeff\r\n" + strings.ReplaceAll(seedLines, "\n", "\r\n") + "\x00\x00"))
	f.Add([]byte(`{"key":"a","generation_id":"g"}` + "\n" + `{"key":"b","generation_id":"g"}` + "\n" + `{"deferred_event":{"id":"g","status":"completed"}}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content []byte) {
		path := filepath.Join(dir, "fuzz.jsonl")
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		quiet := jsonlstore.WithLogger(slog.New(slog.DiscardHandler))
		s, err := jsonlstore.Open(path, jsonlstore.WithClock(clock), quiet)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		first := list(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if repaired := readFile(t, path); repaired != "" && !strings.HasSuffix(repaired, "\n") {
			t.Fatalf("repaired file does not end with a newline: %q", repaired)
		}
		s, err = jsonlstore.Open(path, jsonlstore.WithClock(clock), quiet)
		if err != nil {
			t.Fatalf("reopen of a file Open accepted: %v", err)
		}
		defer s.Close()
		diff(t, "jobs after reopen", first, list(t, s))
	})
}

// TestCompactRemovesLeftovers: a compaction killed before its rename leaves
// its temporary file, as large as the job file; the next compaction removes
// it, and leaves other files alone.
func TestCompactRemovesLeftovers(t *testing.T) {
	path, _ := buildFile(t)
	leftover := path + ".compact-1234567"
	others := []string{path + ".compacted", path + ".lock", filepath.Join(filepath.Dir(path), "other.jsonl.compact-1")}
	for _, name := range append([]string{leftover}, others...) {
		if err := os.WriteFile(name, []byte(`{"key":"half-writ`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := open(t, path, jsonlstore.WithClock(clock))
	want := list(t, s)
	if err := s.Compact(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("leftover of a killed compaction still there after Compact: %v", err)
	}
	for _, name := range others {
		if _, err := os.Stat(name); err != nil {
			t.Errorf("Compact removed %s, which no compaction left: %v", filepath.Base(name), err)
		}
	}
	diff(t, "jobs after Compact", want, list(t, s))
}
