package jsonlstore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/batch/storetest"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// BenchmarkApply compares, in one run, the JSONL store (every event written
// and fsynced, group commit) with the workflow script's webhook handler
// (every event reads the whole file and rewrites it, without fsync), both
// with storetest.Appliers concurrent appliers. ns/op is per event.
func BenchmarkApply(b *testing.B) {
	for _, jobs := range []int{1_000, 10_000, 100_000} {
		path := seedFile(b, jobs)
		s, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("store=jsonl/jobs=%d", jobs), func(b *testing.B) {
			before := s.syncCount()
			storetest.BenchmarkApply(b, jobs, s.Apply)
			b.ReportMetric(float64(b.N)/float64(s.syncCount()-before), "events/fsync")
		})
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	for _, jobs := range []int{1_000, 10_000} {
		r := &rewriteStore{path: seedFile(b, jobs)}
		b.Run(fmt.Sprintf("store=rewrite/jobs=%d", jobs), func(b *testing.B) {
			storetest.BenchmarkApply(b, jobs, r.apply)
		})
	}
}

func (s *Store) syncCount() int64 {
	s.journal.mu.Lock()
	defer s.journal.mu.Unlock()
	return s.journal.syncs
}

// seedFile writes a job file holding storetest.BenchJob(0) to
// BenchJob(jobs-1) directly, which is what tracking them would leave after
// compaction.
func seedFile(b *testing.B, jobs int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "jobs.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	var line bytes.Buffer
	for i := range jobs {
		j := storetest.BenchJob(i)
		line.Reset()
		if err := encodeRecord(&line, batch.JournalRecord{Job: &j}); err != nil {
			b.Fatal(err)
		}
		w.Write(line.Bytes())
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// rewriteStore is the workflow script's webhook handler: parse every line,
// update the matching job, write the whole file back. The mutex is the least
// it needs to be correct with concurrent requests.
type rewriteStore struct {
	mu   sync.Mutex
	path string
}

func (r *rewriteStore) apply(_ context.Context, gen creativeai.Generation) (batch.ApplyResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	data, err := os.ReadFile(r.path)
	if err != nil {
		return batch.ApplyResult{}, err
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	jobs := make([]map[string]any, len(lines))
	changed := false
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &jobs[i]); err != nil {
			return batch.ApplyResult{}, err
		}
		if jobs[i]["generation_id"] == gen.ID {
			jobs[i]["status"] = gen.Status
			jobs[i]["output_url"] = nilIfEmpty(gen.OutputURL)
			jobs[i]["failover_used"] = gen.FailoverUsed
			jobs[i]["error"] = nilIfEmpty(gen.Error)
			changed = true
		}
	}
	var out bytes.Buffer
	for _, j := range jobs {
		b, err := json.Marshal(j)
		if err != nil {
			return batch.ApplyResult{}, err
		}
		out.Write(b)
		out.WriteByte('\n')
	}
	return batch.ApplyResult{Changed: changed}, os.WriteFile(r.path, out.Bytes(), 0o644)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
