package jsonlstore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/batch/outbox"

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
	all := make([]jobs.Job, jobList)
	for i := range all {
		all[i] = storetest.BenchJob(i)
	}
	return seedJobs(b, all)
}

// seedJobs writes a job file holding jobList, one record each.
func seedJobs(b *testing.B, jobList []jobs.Job) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "jobs.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	var line bytes.Buffer
	for i := range jobList {
		line.Reset()
		if err := encodeRecord(&line, memstore.Record{Job: &jobList[i]}); err != nil {
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

// BenchmarkApplyWhileDelivering compares, in one run, durable ingest on a
// job file whose outbox holds no due delivery with ingest on one whose
// outbox holds 100,000, while outbox.Deliver drains it: storetest.Appliers
// goroutines apply events to 10,000 jobs, and 4 delivery workers call a sink
// that answers in 10 ms with a transient error and a zero backoff, so every
// job stays due and every claim has the whole outbox to choose from. ns/op is
// per event; due=100000 over due=0 is what a large outbox costs ingest.
func BenchmarkApplyWhileDelivering(b *testing.B) {
	const applied = 10_000
	for _, due := range []int{0, 100_000} {
		jobList := make([]jobs.Job, 0, applied+due)
		for i := range applied {
			jobList = append(jobList, storetest.BenchJob(i))
		}
		for i := range due {
			j := storetest.BenchJob(applied + i)
			j.ApplyGeneration(creativeai.Generation{ID: j.GenerationID, Status: creativeai.StatusCompleted, OutputURL: "https://cdn.example.com/v.mp4"}, storetest.Epoch)
			jobList = append(jobList, j)
		}
		s, err := Open(seedJobs(b, jobList))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("due=%d", due), func(b *testing.B) {
			var attempts atomic.Int64
			sink := outbox.SinkFunc(func(ctx context.Context, _ jobs.Job) (string, error) {
				attempts.Add(1)
				time.Sleep(10 * time.Millisecond) // a remote API's answer
				return "", errors.New("HTTP 503")
			})
			ctx, cancel := context.WithCancel(b.Context())
			done := make(chan error, 1)
			go func() {
				done <- outbox.Deliver(ctx, outbox.Config{Store: s, Sinks: map[string]outbox.Sink{"shopify-pdp": sink},
					Backoff: func(int) time.Duration { return 0 }, MaxAttempts: math.MaxInt32})
			}()
			storetest.BenchmarkApply(b, applied, s.Apply)
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(attempts.Load())/b.Elapsed().Seconds(), "deliveries/s")
		})
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
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

// BenchmarkApplyShared compares, in one run, durable ingest through one
// Store with ingest through two Stores open on the same file at once (as
// two processes have it: flocks belong to the open file, so the two take
// turns at the file exactly as two processes do): storetest.Appliers
// goroutines over 10,000 jobs, each event sent through the Store its job's
// number picks. ns/op is per event; stores=2 over stores=1 is what sharing
// costs.
func BenchmarkApplyShared(b *testing.B) {
	const n = 10_000
	path := seedFile(b, n)
	first, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer first.Close()
	second, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer second.Close()
	b.Run("stores=1", func(b *testing.B) {
		syncs := first.syncCount()
		storetest.BenchmarkApply(b, n, first.Apply)
		b.ReportMetric(float64(b.N)/float64(first.syncCount()-syncs), "events/fsync")
	})
	b.Run("stores=2", func(b *testing.B) {
		holds := first.journal.holdCount() + second.journal.holdCount()
		syncs := first.syncCount() + second.syncCount()
		storetest.BenchmarkApply(b, n, func(ctx context.Context, gen creativeai.Generation) (jobs.ApplyResult, error) {
			if gen.ID[len(gen.ID)-1]%2 == 0 {
				return first.Apply(ctx, gen)
			}
			return second.Apply(ctx, gen)
		})
		b.ReportMetric(float64(b.N)/float64(first.journal.holdCount()+second.journal.holdCount()-holds), "events/hold")
		b.ReportMetric(float64(b.N)/float64(first.syncCount()+second.syncCount()-syncs), "events/fsync")
	})
}

func (j *journal) holdCount() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.holds
}

// benchJob is a completed job awaiting delivery, the line an event writes.
var benchJob = jobs.Job{Key: "SKU-00042#load", SKU: "SKU-00042", TargetSurface: "meta-ads", GenerationID: "vgen_load00042",
	Status: jobs.StatusCompleted, OutputURL: "http://127.0.0.1:40000/v.mp4", CompletedAt: time.Date(2026, 3, 11, 8, 44, 3, 0, time.UTC),
	Delivery: jobs.DeliveryPending, DeliveryNextAt: time.Date(2026, 3, 11, 8, 44, 3, 0, time.UTC),
	CreatedAt: time.Date(2026, 3, 11, 8, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 3, 11, 8, 44, 3, 0, time.UTC)}

// BenchmarkEncodeRecord measures the line of a job change and of a delivery
// lease, which every event and every claim write.
func BenchmarkEncodeRecord(b *testing.B) {
	for _, bc := range []struct {
		name string
		r    memstore.Record
	}{
		{"job", memstore.Record{Job: &benchJob}},
		{"lease", memstore.Record{Lease: &memstore.Lease{Key: benchJob.Key, Owner: "host-4242-9f3a/0", Until: benchJob.UpdatedAt}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := encodeRecord(&buf, bc.r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeLine measures reading a job line back, which a process
// does for every line at Open and for every line another process sharing
// the file appends.
func BenchmarkDecodeLine(b *testing.B) {
	var buf bytes.Buffer
	if err := encodeRecord(&buf, memstore.Record{Job: &benchJob}); err != nil {
		b.Fatal(err)
	}
	line := bytes.TrimSpace(buf.Bytes())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeLine(line); err != nil {
			b.Fatal(err)
		}
	}
}
