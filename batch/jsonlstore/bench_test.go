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

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"

	"github.com/creativeai-run/catalogvideo/batch/storetest"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// BenchmarkApply compares, in one run, the JSONL store (every event written
// and fsynced, group commit) with the workflow script's webhook handler
// (every event reads the whole file and rewrites it, without fsync), both
// with storetest.Appliers concurrent appliers. ns/op is per event.
func BenchmarkApply(b *testing.B) {
	for _, jobList := range []int{1_000, 10_000, 100_000} {
		path := seedFile(b, jobList)
		s, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("store=jsonl/jobs=%d", jobList), func(b *testing.B) {
			before := s.syncCount()
			storetest.BenchmarkApply(b, jobList, s.Apply)
			b.ReportMetric(float64(b.N)/float64(s.syncCount()-before), "events/fsync")
		})
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	for _, jobList := range []int{1_000, 10_000} {
		r := &rewriteStore{path: seedFile(b, jobList)}
		b.Run(fmt.Sprintf("store=rewrite/jobs=%d", jobList), func(b *testing.B) {
			storetest.BenchmarkApply(b, jobList, r.apply)
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
func seedFile(b *testing.B, jobList int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "jobs.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	var line bytes.Buffer
	for i := range jobList {
		j := storetest.BenchJob(i)
		line.Reset()
		if err := encodeRecord(&line, memstore.Record{Job: &j}); err != nil {
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

func (r *rewriteStore) apply(_ context.Context, gen creativeai.Generation) (jobs.ApplyResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	data, err := os.ReadFile(r.path)
	if err != nil {
		return jobs.ApplyResult{}, err
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	jobList := make([]map[string]any, len(lines))
	changed := false
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &jobList[i]); err != nil {
			return jobs.ApplyResult{}, err
		}
		if jobList[i]["generation_id"] == gen.ID {
			jobList[i]["status"] = gen.Status
			jobList[i]["output_url"] = nilIfEmpty(gen.OutputURL)
			jobList[i]["failover_used"] = gen.FailoverUsed
			jobList[i]["error"] = nilIfEmpty(gen.Error)
			changed = true
		}
	}
	var out bytes.Buffer
	for _, j := range jobList {
		b, err := json.Marshal(j)
		if err != nil {
			return jobs.ApplyResult{}, err
		}
		out.Write(b)
		out.WriteByte('\n')
	}
	return jobs.ApplyResult{Changed: changed}, os.WriteFile(r.path, out.Bytes(), 0o644)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
