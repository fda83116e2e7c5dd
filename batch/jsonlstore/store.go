// Package jsonlstore is the embedded default job store: a JSON Lines file
// that the operator can read, grep and diff, and that the original workflow
// script's job files open as they are.
//
// # File format
//
// The file is an append-only log. Every change to a job appends the job's
// full record, one JSON object per line, in the record format of jobs.Job
// (the format export prints); the last line for a key wins. A line without a
// key, as the workflow script wrote them, is keyed by its sku, and its null
// values, Unix-seconds completed_at or error object are read as the service
// sent them; a status the SDK does not know moves to provider_status.
//
// An event for a generation no job has yet (a webhook that beat the
// submission's answer) is kept on a line of its own, under a member no job
// line has:
//
//	{"deferred_event":{"id":"vgen_abc123","status":"completed","output_url":"https://…"}}
//
// It is applied when a job records that generation, and the job's line
// written then makes it obsolete. Compact writes one line per job, in the
// order the jobs were first tracked, followed by the events still kept.
//
// # Durability
//
// Open reads the whole file into memory, so reads never touch the disk.
// Every change is written and fsynced before the method that made it
// returns; changes made concurrently share one write and one fsync (group
// commit), so many appliers cost little more than one. A crash can leave
// only the last line torn: Open logs it, skips it, and cuts it off before
// appending. Any other line that does not parse makes Open fail with the
// file name and line number, since skipping it could lose an acknowledged
// update.
//
// Delivery leases are kept in memory only. The file is locked for the life
// of the Store (flock on the sidecar file path+".lock", which is left in
// place), so after a restart no other worker can hold a lease.
// On systems without flock the lock only excludes a second Open in the same
// process.
package jsonlstore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"sync"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/internal/logx"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// Store is a jobs.Store kept in a JSON Lines file. It is safe for
// concurrent use.
type Store struct {
	path    string
	mem     *memstore.Store
	journal *journal
	lock    *os.File

	closeOnce sync.Once
	closeErr  error
}

var _ jobs.Store = (*Store)(nil)

// Option configures Open.
type Option func(*options)

type options struct {
	clock  jobs.Clock
	logger *slog.Logger
}

// WithClock sets the clock the store stamps jobs with; the default is
// time.Now.
func WithClock(c jobs.Clock) Option { return func(o *options) { o.clock = c } }

// WithLogger sets where Open reports a torn last line it repaired; nil (the
// default) discards, as everywhere in the SDK.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Open opens the job file at path, creating it if it does not exist, and
// locks it. A file another Store holds open fails with an error wrapping
// jobs.ErrLocked.
func Open(path string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	o.logger = logx.OrDiscard(o.logger)
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("jsonlstore: open %s (lock file %s.lock): %w", path, path, err)
	}
	s, err := open(path, lock, &o)
	if err != nil {
		return nil, errors.Join(err, unlockFile(lock))
	}
	return s, nil
}

func open(path string, lock *os.File, o *options) (*Store, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("jsonlstore: %w", err)
	}
	j := newJournal(path, f)
	mem := memstore.New(memstore.WithClock(o.clock), memstore.WithJournal(j))
	if err := load(path, f, mem, o.logger); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return &Store{path: path, mem: mem, journal: j, lock: lock}, nil
}

// load replays the file into mem and leaves f positioned after its last
// whole line, cutting off a torn tail and ending a whole but unterminated
// last line, so that appended lines start on a line of their own.
func load(path string, f *os.File, mem *memstore.Store, log *slog.Logger) error {
	r := bufio.NewReaderSize(f, 1<<16)
	var end int64 // offset after the last whole line
	unterminated := false
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("jsonlstore: read %s: %w", path, err)
		}
		if len(line) == 0 {
			break
		}
		last := err == io.EOF
		text := bytes.TrimSpace(line)
		if n == 1 {
			text = bytes.TrimPrefix(text, []byte("\ufeff"))
		}
		if len(text) == 0 {
			if !last {
				end += int64(len(line))
			}
			continue
		}
		rec, derr := decodeLine(text)
		if derr != nil && last {
			log.Warn("jsonlstore: skipping torn last line; the write it belongs to was never acknowledged",
				"file", path, "line", n, "bytes", len(line), "error", derr)
			break
		}
		if derr == nil {
			derr = mem.Restore(rec)
		}
		if derr != nil {
			return fmt.Errorf("jsonlstore: %s:%d: %w", path, n, derr)
		}
		end += int64(len(line))
		unterminated = last
	}

	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("jsonlstore: %w", err)
	}
	repaired := false
	if info.Size() != end {
		if err := f.Truncate(end); err != nil {
			return fmt.Errorf("jsonlstore: cut torn line off %s: %w", path, err)
		}
		repaired = true
	}
	if _, err := f.Seek(end, io.SeekStart); err != nil {
		return fmt.Errorf("jsonlstore: %w", err)
	}
	if unterminated {
		if _, err := f.Write([]byte("\n")); err != nil {
			return fmt.Errorf("jsonlstore: %w", err)
		}
		repaired = true
	}
	if repaired {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("jsonlstore: %w", err)
		}
	}
	return nil
}

// Path returns the path of the job file.
func (s *Store) Path() string { return s.path }

// Track records a job before it is submitted; see jobs.Store.
func (s *Store) Track(ctx context.Context, job jobs.Job) (jobs.Job, bool, error) {
	return s.mem.Track(ctx, job)
}

// RecordSubmission stores the outcome of submitting a job; see jobs.Store.
func (s *Store) RecordSubmission(ctx context.Context, key string, sub jobs.Submission) (jobs.Job, error) {
	return s.mem.RecordSubmission(ctx, key, sub)
}

// Replay prepares a failed job for another submission; see jobs.Store.
func (s *Store) Replay(ctx context.Context, key string) (jobs.Job, error) {
	return s.mem.Replay(ctx, key)
}

// Apply applies a status update; see jobs.Store.
func (s *Store) Apply(ctx context.Context, gen creativeai.Generation) (jobs.ApplyResult, error) {
	return s.mem.Apply(ctx, gen)
}

// Get returns the job with the given key; see jobs.Store.
func (s *Store) Get(ctx context.Context, key string) (jobs.Job, error) {
	return s.mem.Get(ctx, key)
}

// GetByGenerationID returns the job with the given generation; see
// jobs.Store.
func (s *Store) GetByGenerationID(ctx context.Context, id string) (jobs.Job, error) {
	return s.mem.GetByGenerationID(ctx, id)
}

// List yields the jobs that match f in first-tracked order; see
// jobs.Store.
func (s *Store) List(ctx context.Context, f jobs.Filter) iter.Seq2[jobs.Job, error] {
	return s.mem.List(ctx, f)
}

// ClaimDeliveries leases completed jobs whose delivery is due; see
// jobs.Store.
func (s *Store) ClaimDeliveries(ctx context.Context, c jobs.Claim) ([]jobs.Job, error) {
	return s.mem.ClaimDeliveries(ctx, c)
}

// RecordDelivery records a delivery attempt; see jobs.Store.
func (s *Store) RecordDelivery(ctx context.Context, key string, r jobs.DeliveryResult) (jobs.Job, error) {
	return s.mem.RecordDelivery(ctx, key, r)
}

// Compact rewrites the file with one line per job and the events still
// kept, through a synced temporary file renamed over it, so a crash leaves
// either the old file or the new one. Changes wait while it runs.
func (s *Store) Compact(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.mem.Snapshot(s.journal.compact)
}

// Close waits for every change to be durable, closes the file and releases
// the lock. Closing twice is harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = errors.Join(s.mem.Close(), s.journal.close(), unlockFile(s.lock))
	})
	return s.closeErr
}
