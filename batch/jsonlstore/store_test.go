package jsonlstore_test

import (
	"path/filepath"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/batch/jsonlstore"
	"github.com/creativeai-run/catalogvideo/batch/storetest"
)

// open opens path with clock and closes it when the test ends.
func open(t *testing.T, path string, opts ...jsonlstore.Option) *jsonlstore.Store {
	t.Helper()
	s, err := jsonlstore.Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunDurable(t,
		func(t *testing.T, clock jobs.Clock) jobs.Store {
			return open(t, filepath.Join(t.TempDir(), "jobs.jsonl"), jsonlstore.WithClock(clock))
		},
		func(t *testing.T, s jobs.Store, clock jobs.Clock) jobs.Store {
			path := s.(*jsonlstore.Store).Path()
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return open(t, path, jsonlstore.WithClock(clock))
		})
}

// Compaction must keep everything: the whole suite again, compacting before
// every reopen.
func TestConformanceCompacted(t *testing.T) {
	storetest.RunDurable(t,
		func(t *testing.T, clock jobs.Clock) jobs.Store {
			return open(t, filepath.Join(t.TempDir(), "jobs.jsonl"), jsonlstore.WithClock(clock))
		},
		func(t *testing.T, s jobs.Store, clock jobs.Clock) jobs.Store {
			js := s.(*jsonlstore.Store)
			if err := js.Compact(t.Context()); err != nil {
				t.Fatalf("Compact: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return open(t, js.Path(), jsonlstore.WithClock(clock))
		})
}
