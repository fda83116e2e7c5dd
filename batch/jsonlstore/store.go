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
// written then makes it obsolete. A delivery claim is a line too, so that
// every process sharing the file sees the lease:
//
//	{"delivery_lease":{"key":"SKU-1#k","owner":"host-4242-9f3a/0","until":"2026-03-11T08:49:03Z"}}
//
// The job's line for the recorded delivery attempt ends the lease; a job
// held for review (no attempt) is followed by a lease line without an
// owner, which ends it. Approvals and rejections are job lines like any
// change, so every process sharing the file honours them. Compact
// writes one line per job, in the order the jobs were first tracked,
// followed by the events still kept and the leases held.
//
// # Durability
//
// Open reads the whole file into memory, so a read touches the disk only
// for the lines other processes sharing the file appended since.
// Every change is written and fsynced before the method that made it
// returns; changes made concurrently share one write and one fsync (group
// commit), so many appliers cost little more than one. A delivery lease
// line is only written before ClaimDeliveries returns, which is all other
// processes need to see it, and is made durable by the next fsync: a crash
// of the machine that loses it has ended the delivery it guarded too, and
// the first Store to open the file afterwards ends every lease in it
// anyway (see Sharing the file). A crash can leave only the last line torn:
// Open logs it, skips it, and cuts it off before appending. Any other line
// that does not parse makes Open fail with the file name and line number,
// since skipping it could lose an acknowledged update.
//
// # Sharing the file
//
// Any number of programs on one machine may open the same file at once
// (submit, webhook servers, status, compact). Every operation runs holding
// an flock on the sidecar file path+".lock" (path+".lock.want" queues the
// waiters, path+".lock.open" tells whether any Store has the file open; all
// are left in place, and are given the job file's owner when another user,
// such as root, creates them), and the first operation of a hold first
// reads the lines other processes appended since, so each process acts on
// the whole file: a status never moves backward, and a delivery leased by
// one process is not claimed by another until the lease ends or the owner
// records its attempt. A process under load keeps the lock, and its group
// commit, until another asks for it. Compact renames a new file into place;
// the others notice the new file at their next operation and reread it. A
// process killed at any moment releases the lock, and at most its own
// unacknowledged last line is torn, which the next process cuts off. Its
// delivery leases run out with their Lease, or at once when a Store opens
// the file with no other open (path+".lock.open" tells).
//
// What sharing costs: operations of different processes take turns rather
// than share an fsync (a process hands the lock over after each fsync when
// another waits), so two busy processes together ingest 0.4–0.9 of what
// one does alone (BenchmarkApplyShared), and each process keeps the whole
// file in memory and reads every line the others append. A process alone
// keeps its hold, and pays a few flock calls and a stat per hold, which is
// nothing beside an fsync.
//
// On systems without flock a file cannot be shared: a second Open in the
// same process fails with jobs.ErrLocked, and other processes are not kept
// out.
package jsonlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/internal/logx"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// Store is a jobs.Store kept in a JSON Lines file. It is safe for
// concurrent use, and any number of Stores, in this process or others on
// the same machine, may have one file open at once.
type Store struct {
	path    string
	mem     *memstore.Store
	journal *journal

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
// reads it into memory. Other Stores, in this process or others, may have the
// file open too (on systems without flock, a second Open in this process
// fails with an error wrapping jobs.ErrLocked). A path that is a symbolic
// link stands for the file it points to: the lock files sit beside that
// file, and Compact replaces it, keeping the link.
func Open(path string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	o.logger = logx.OrDiscard(o.logger)
	// Programs that name one file by a link and by its target must take
	// the same lock, and a compaction through the link must not replace
	// the link with a file of its own, which programs that use the target
	// would never read.
	// The file is opened (created through a dangling link) first, so that
	// the link resolves.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("jsonlstore: %w", err)
	}
	file := path
	if target, err := filepath.EvalSymlinks(path); err == nil {
		file = target
	}
	lock, err := openLock(file + ".lock")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("jsonlstore: open %s (lock file %s.lock): %w", path, file, err), f.Close())
	}
	if info, err := f.Stat(); err == nil {
		lock.keepOwner(info)
	}
	j := newJournal(file, f, lock, o.logger)
	j.mem = memstore.New(memstore.WithClock(o.clock), memstore.WithJournal(j))
	// The first hold reads the whole file. A Store that finds no other
	// with the file open ends the leases in it, which belong to processes
	// that are gone (a crash, a kill), so that their jobs are delivered at
	// once rather than when the leases would have run out.
	ctx := context.Background()
	if err := j.enter(ctx); err != nil {
		return nil, errors.Join(err, j.close())
	}
	alone, err := lock.sole()
	if err == nil && alone {
		err = j.mem.ReleaseLeases(ctx)
	}
	j.leave()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("jsonlstore: open %s: %w", path, err), j.mem.Close(), j.close())
	}
	return &Store{path: path, mem: j.mem, journal: j}, nil
}

// Path returns the path of the job file.
func (s *Store) Path() string { return s.path }

// in runs fn as an operation of a hold of the file lock, so that it sees
// every change other processes made before it.
func in[T any](s *Store, ctx context.Context, fn func() (T, error)) (T, error) {
	if err := s.journal.enter(ctx); err != nil {
		var zero T
		return zero, err
	}
	defer s.journal.leave()
	return fn()
}

// Track records a job before it is submitted; see jobs.Store.
func (s *Store) Track(ctx context.Context, job jobs.Job) (stored jobs.Job, created bool, err error) {
	_, err = in(s, ctx, func() (struct{}, error) {
		stored, created, err = s.mem.Track(ctx, job)
		return struct{}{}, err
	})
	return stored, created, err
}

// RecordSubmission stores the outcome of submitting a job; see jobs.Store.
func (s *Store) RecordSubmission(ctx context.Context, key string, sub jobs.Submission) (jobs.Job, error) {
	return in(s, ctx, func() (jobs.Job, error) { return s.mem.RecordSubmission(ctx, key, sub) })
}

// Replay prepares a failed job for another submission; see jobs.Store.
func (s *Store) Replay(ctx context.Context, key string) (jobs.Job, error) {
	return in(s, ctx, func() (jobs.Job, error) { return s.mem.Replay(ctx, key) })
}

// Apply applies a status update; see jobs.Store.
func (s *Store) Apply(ctx context.Context, gen creativeai.Generation) (jobs.ApplyResult, error) {
	return in(s, ctx, func() (jobs.ApplyResult, error) { return s.mem.Apply(ctx, gen) })
}

// Get returns the job with the given key; see jobs.Store.
func (s *Store) Get(ctx context.Context, key string) (jobs.Job, error) {
	return in(s, ctx, func() (jobs.Job, error) { return s.mem.Get(ctx, key) })
}

// GetByGenerationID returns the job with the given generation; see
// jobs.Store.
func (s *Store) GetByGenerationID(ctx context.Context, id string) (jobs.Job, error) {
	return in(s, ctx, func() (jobs.Job, error) { return s.mem.GetByGenerationID(ctx, id) })
}

// List yields the jobs that match f in first-tracked order; see
// jobs.Store. It reads other processes' changes once, before the first job;
// the lock is not held while the loop body runs.
func (s *Store) List(ctx context.Context, f jobs.Filter) iter.Seq2[jobs.Job, error] {
	return func(yield func(jobs.Job, error) bool) {
		if _, err := in(s, ctx, func() (struct{}, error) { return struct{}{}, nil }); err != nil {
			yield(jobs.Job{}, err)
			return
		}
		for j, err := range s.mem.List(ctx, f) {
			if !yield(j, err) {
				return
			}
		}
	}
}

// ClaimDeliveries leases completed jobs whose delivery is due; see
// jobs.Store. Each lease is a line in the file, so processes sharing it
// never claim one job at once.
func (s *Store) ClaimDeliveries(ctx context.Context, c jobs.Claim) ([]jobs.Job, error) {
	return in(s, ctx, func() ([]jobs.Job, error) { return s.mem.ClaimDeliveries(ctx, c) })
}

// RecordDelivery records a delivery attempt; see jobs.Store.
func (s *Store) RecordDelivery(ctx context.Context, key string, r jobs.DeliveryResult) (jobs.Job, error) {
	return in(s, ctx, func() (jobs.Job, error) { return s.mem.RecordDelivery(ctx, key, r) })
}

// Compact rewrites the file with one line per job, the events still kept and
// the leases held, through a synced temporary file renamed over it, so a
// crash leaves either the old file or the new one. Changes wait while it
// runs, in this process and in others sharing the file; those reread the new
// file before their next operation. The new file keeps the job file's
// permissions, owner and group: a Compact that may not give it the owner
// (another user's file, without root) fails naming the owner and leaves the
// file as it was. Compact also removes the temporary files of compactions
// killed before their rename.
func (s *Store) Compact(ctx context.Context) error {
	_, err := in(s, ctx, func() (struct{}, error) {
		return struct{}{}, s.mem.Snapshot(s.journal.compact)
	})
	return err
}

// Err returns why the store cannot work, or nil while it can, for a health
// check to report what a failing Apply tells only its caller:
//
//   - after a failed write or fsync of the file (a full disk, a file size
//     limit, an I/O error), that error for good: this process's memory may
//     be ahead of the file, so the store refuses every later change until
//     it is reopened; the same once the file was replaced by one that is
//     not a compaction of it (it lacks jobs this process had read: a backup
//     moved over it, the file deleted and created anew);
//   - while the file cannot be read (a line that does not parse, a
//     compacted file this process may not open, a file removed), the error
//     of the last operation that tried, until one succeeds;
//   - after Close, jobs.ErrClosed.
func (s *Store) Err() error {
	s.journal.mu.Lock()
	defer s.journal.mu.Unlock()
	return cmp.Or(s.journal.err, s.journal.readErr)
}

// Close waits for every change to be durable and closes the file. Closing
// twice is harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = errors.Join(s.mem.Close(), s.journal.close())
	})
	return s.closeErr
}
