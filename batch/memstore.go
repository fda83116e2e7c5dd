package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// MemoryStore is a Store that keeps jobs in memory. On its own it is the
// store for tests and short-lived programs; given a Journal (see
// WithJournal) it is durable, which is how batch/jsonlstore is built.
//
// Delivery leases live only in memory: after a restart every job in the
// outbox may be claimed at once, which is safe because the journal's owner
// holds the only copy of the store.
type MemoryStore struct {
	clock   Clock
	journal Journal

	mu       sync.Mutex
	closed   bool
	jobs     map[string]*memJob
	order    []*memJob                          // first-tracked order
	byGen    map[string]*memJob                 // current and earlier generation ids
	deferred map[string][]creativeai.Generation // events for ids no job has yet, in arrival order
	outbox   map[*memJob]struct{}               // completed jobs whose delivery is pending
	pos      int64                              // journal position of the last change
}

type memJob struct {
	job        Job
	leaseOwner string
	leaseUntil time.Time
}

// MemoryOption configures a MemoryStore.
type MemoryOption func(*MemoryStore)

// WithClock sets the clock the store stamps jobs with; the default is
// time.Now.
func WithClock(c Clock) MemoryOption {
	return func(s *MemoryStore) { s.clock = c }
}

// WithJournal makes the store durable through j: every change is appended to
// j, and a method returns only once j has committed every change the method
// made or saw.
func WithJournal(j Journal) MemoryOption {
	return func(s *MemoryStore) { s.journal = j }
}

// Journal makes a MemoryStore durable. The store appends a JournalRecord for
// every change, in the order the changes happen, and acknowledges a change
// (or returns what it read) only once Commit says every record up to that
// point is durable. Because appending and committing are separate, a journal
// can write and sync the records of many concurrent callers at once (group
// commit).
type Journal interface {
	// Append queues r and returns its position; positions increase. The
	// store calls Append with its lock held, so Append must not wait for
	// I/O. When Append fails the change is dropped.
	Append(r JournalRecord) (pos int64, err error)
	// Commit returns once every record up to pos is durable. An error means
	// the record may be lost; the journal should then fail every later
	// Commit too, since the store's memory is ahead of its journal.
	Commit(pos int64) error
}

// JournalRecord is one change a MemoryStore journals: a job's new state, or
// an event kept for a generation no job has yet. Exactly one field is set.
type JournalRecord struct {
	Job   *Job
	Event *creativeai.Generation
}

// NewMemoryStore returns an empty store.
func NewMemoryStore(opts ...MemoryOption) *MemoryStore {
	s := &MemoryStore{
		jobs:     make(map[string]*memJob),
		byGen:    make(map[string]*memJob),
		deferred: make(map[string][]creativeai.Generation),
		outbox:   make(map[*memJob]struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Restore loads a record read back from a journal, as it is and without
// journaling it: a job replaces any job with its key (keeping that job's
// place in the order), and an event is applied to the job that has its
// generation or kept for later. Replaying a journal's records in order
// rebuilds the store that wrote them. Call Restore before the store is used.
func (s *MemoryStore) Restore(r JournalRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	switch {
	case r.Job != nil && r.Event == nil:
		j := cloneJob(*r.Job)
		if j.Key == "" {
			return errors.New("batch: restore: job has no key")
		}
		m := s.jobs[j.Key]
		if m == nil {
			m = &memJob{}
			s.jobs[j.Key] = m
			s.order = append(s.order, m)
		}
		// The record replaces the job whole, so generation ids it no longer
		// lists (a job file's later line for the same SKU) stop pointing at it.
		for _, id := range generationIDs(&m.job) {
			if s.byGen[id] == m && !j.HasGeneration(id) {
				delete(s.byGen, id)
			}
		}
		s.install(m, j)
	case r.Event != nil && r.Job == nil:
		gen := *r.Event
		if gen.ID == "" {
			return ErrInvalidEvent
		}
		if m := s.byGen[gen.ID]; m != nil {
			j := m.job
			if j.ApplyGeneration(gen, s.clock.Now()) {
				s.install(m, j)
			}
			return nil
		}
		s.deferred[gen.ID] = append(s.deferred[gen.ID], gen)
	default:
		return errors.New("batch: restore: record must have exactly one of Job and Event")
	}
	return nil
}

// Snapshot calls fn with the records that rebuild the store: every job in
// first-tracked order, then every kept event. The store is locked until fn
// returns, so nothing changes meanwhile; a journal compacts itself this way.
func (s *MemoryStore) Snapshot(fn func(records iter.Seq[JournalRecord]) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return fn(func(yield func(JournalRecord) bool) {
		for _, m := range s.order {
			j := cloneJob(m.job)
			if !yield(JournalRecord{Job: &j}) {
				return
			}
		}
		// Sorted so that a snapshot of the same state is the same bytes.
		for _, id := range slices.Sorted(maps.Keys(s.deferred)) {
			for _, gen := range s.deferred[id] {
				if !yield(JournalRecord{Event: &gen}) {
					return
				}
			}
		}
	})
}

// Track records a job before it is submitted; see Store.
func (s *MemoryStore) Track(ctx context.Context, job Job) (Job, bool, error) {
	if err := ctx.Err(); err != nil {
		return Job{}, false, err
	}
	if job.Key == "" {
		return Job{}, false, errors.New("batch: track: job has no key")
	}
	if job.Status == "" {
		job.Status = creativeai.StatusPending
	} else if !job.Status.Known() {
		return Job{}, false, fmt.Errorf("batch: track %s: unknown status %q", job.Key, job.Status)
	}
	now := s.clock.Now()
	if job.CreatedAt.IsZero() {
		job.CreatedAt = now
	}
	if job.UpdatedAt.IsZero() {
		job.UpdatedAt = now
	}
	job = cloneJob(job)

	var (
		stored  Job
		created bool
	)
	pos, err := s.locked(func() error {
		if m := s.jobs[job.Key]; m != nil {
			stored = cloneJob(m.job)
			return nil
		}
		for _, id := range generationIDs(&job) {
			if other := s.byGen[id]; other != nil {
				return fmt.Errorf("batch: track %s: generation %s belongs to job %s", job.Key, id, other.job.Key)
			}
		}
		s.applyDeferred(&job, now)
		m := &memJob{}
		if err := s.change(m, job); err != nil {
			return err
		}
		s.jobs[job.Key] = m
		s.order = append(s.order, m)
		stored, created = cloneJob(job), true
		return nil
	})
	if err = s.commit(pos, err); err != nil {
		return Job{}, false, err
	}
	return stored, created, nil
}

// RecordSubmission stores the outcome of submitting a job; see Store.
func (s *MemoryStore) RecordSubmission(ctx context.Context, key string, sub Submission) (Job, error) {
	return s.update(ctx, key, func(j *Job, now time.Time) error {
		if err := j.RecordSubmission(sub, now); err != nil {
			return err
		}
		if other := s.byGen[j.GenerationID]; other != nil && other.job.Key != key {
			return fmt.Errorf("batch: job %s: generation %s belongs to job %s", key, j.GenerationID, other.job.Key)
		}
		s.applyDeferred(j, now)
		return nil
	})
}

// Replay prepares a failed job for another submission; see Store.
func (s *MemoryStore) Replay(ctx context.Context, key string) (Job, error) {
	return s.update(ctx, key, func(j *Job, now time.Time) error {
		return j.Replay(now)
	})
}

// Apply applies a status update; see Store.
func (s *MemoryStore) Apply(ctx context.Context, gen creativeai.Generation) (ApplyResult, error) {
	if err := ctx.Err(); err != nil {
		return ApplyResult{}, err
	}
	if gen.ID == "" {
		return ApplyResult{}, ErrInvalidEvent
	}
	now := s.clock.Now()
	var res ApplyResult
	pos, err := s.locked(func() error {
		m := s.byGen[gen.ID]
		if m == nil {
			res.Deferred = true
			if slices.Contains(s.deferred[gen.ID], gen) {
				return nil // a duplicate delivery of a kept event
			}
			if err := s.append(JournalRecord{Event: &gen}); err != nil {
				return err
			}
			s.deferred[gen.ID] = append(s.deferred[gen.ID], gen)
			return nil
		}
		j := m.job
		if j.ApplyGeneration(gen, now) {
			if err := s.change(m, j); err != nil {
				return err
			}
			res.Changed = true
		}
		res.Job = cloneJob(m.job)
		return nil
	})
	if err = s.commit(pos, err); err != nil {
		return ApplyResult{}, err
	}
	return res, nil
}

// Get returns the job with the given key; see Store.
func (s *MemoryStore) Get(ctx context.Context, key string) (Job, error) {
	return s.read(ctx, func() *memJob { return s.jobs[key] }, "key "+key)
}

// GetByGenerationID returns the job with the given generation; see Store.
func (s *MemoryStore) GetByGenerationID(ctx context.Context, id string) (Job, error) {
	return s.read(ctx, func() *memJob { return s.byGen[id] }, "generation "+id)
}

// listPage bounds how many jobs List copies per lock, so that a long listing
// neither holds the lock nor copies the whole store at once.
const listPage = 256

// List yields the jobs that match f in first-tracked order; see Store. The
// loop body may use the store: List holds no lock while it yields.
func (s *MemoryStore) List(ctx context.Context, f Filter) iter.Seq2[Job, error] {
	return func(yield func(Job, error) bool) {
		page := make([]Job, 0, listPage)
		for next := 0; ; {
			if err := ctx.Err(); err != nil {
				yield(Job{}, err)
				return
			}
			page = page[:0]
			pos, err := s.locked(func() error {
				for ; next < len(s.order) && len(page) < listPage; next++ {
					if j := &s.order[next].job; matches(&f, j) {
						page = append(page, cloneJob(*j))
					}
				}
				return nil
			})
			if err = s.commit(pos, err); err != nil {
				yield(Job{}, err)
				return
			}
			if len(page) == 0 {
				return
			}
			for _, j := range page {
				if !yield(j, nil) {
					return
				}
			}
		}
	}
}

func matches(f *Filter, j *Job) bool {
	return (len(f.Statuses) == 0 || slices.Contains(f.Statuses, j.Status)) &&
		(f.UpdatedBefore.IsZero() || j.UpdatedAt.Before(f.UpdatedBefore)) &&
		(!f.Submitted || j.Submitted())
}

// ClaimDeliveries leases completed jobs whose delivery is due, earliest due
// first; see Store.
func (s *MemoryStore) ClaimDeliveries(ctx context.Context, c Claim) ([]Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	now := c.Now
	if now.IsZero() {
		now = s.clock.Now()
	}
	var claimed []Job
	pos, err := s.locked(func() error {
		var due []*memJob
		for m := range s.outbox {
			if m.job.DeliveryDue(now) && (m.leaseOwner == "" || !now.Before(m.leaseUntil)) {
				due = append(due, m)
			}
		}
		slices.SortFunc(due, func(a, b *memJob) int {
			return cmp.Or(a.job.DeliveryNextAt.Compare(b.job.DeliveryNextAt), a.job.CreatedAt.Compare(b.job.CreatedAt), cmp.Compare(a.job.Key, b.job.Key))
		})
		for _, m := range due[:min(len(due), c.Limit)] {
			m.leaseOwner, m.leaseUntil = c.Owner, now.Add(c.Lease)
			claimed = append(claimed, cloneJob(m.job))
		}
		return nil
	})
	if err = s.commit(pos, err); err != nil {
		return nil, err
	}
	return claimed, nil
}

// validate reports what is wrong with a claim.
func (c *Claim) validate() error {
	switch {
	case c.Owner == "":
		return errors.New("batch: claim has no owner")
	case c.Limit < 1:
		return fmt.Errorf("batch: claim limit %d: want at least 1", c.Limit)
	case c.Lease <= 0:
		return fmt.Errorf("batch: claim lease %v: want a positive duration", c.Lease)
	}
	return nil
}

// RecordDelivery records a delivery attempt and releases the lease; see
// Store.
func (s *MemoryStore) RecordDelivery(ctx context.Context, key string, r DeliveryResult) (Job, error) {
	if err := ctx.Err(); err != nil {
		return Job{}, err
	}
	switch r.State {
	case creativeai.DeliveryPending, creativeai.DeliveryDelivered, creativeai.DeliveryFailed:
	default:
		return Job{}, fmt.Errorf("batch: record delivery of %s: unknown state %q", key, r.State)
	}
	now := s.clock.Now()
	var out Job
	pos, err := s.locked(func() error {
		m := s.jobs[key]
		if m == nil {
			return fmt.Errorf("%w: key %s", ErrNotFound, key)
		}
		if m.leaseOwner == "" || m.leaseOwner != r.Owner {
			return fmt.Errorf("%w: %s", ErrLeaseLost, key)
		}
		j := m.job
		j.RecordDelivery(r, now)
		if err := s.change(m, j); err != nil {
			return err
		}
		m.leaseOwner, m.leaseUntil = "", time.Time{}
		out = cloneJob(m.job)
		return nil
	})
	if err = s.commit(pos, err); err != nil {
		return Job{}, err
	}
	return out, nil
}

// Close marks the store closed once every change is committed; later calls
// return ErrClosed. Closing twice is harmless.
func (s *MemoryStore) Close() error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	pos := s.pos
	s.mu.Unlock()
	if already {
		return nil
	}
	return s.commit(pos, nil)
}

// update loads the job with key, lets fn change a copy of it, and stores the
// copy; fn runs with the lock held and may use the store's indexes.
func (s *MemoryStore) update(ctx context.Context, key string, fn func(j *Job, now time.Time) error) (Job, error) {
	if err := ctx.Err(); err != nil {
		return Job{}, err
	}
	now := s.clock.Now()
	var out Job
	pos, err := s.locked(func() error {
		m := s.jobs[key]
		if m == nil {
			return fmt.Errorf("%w: key %s", ErrNotFound, key)
		}
		j := m.job
		if err := fn(&j, now); err != nil {
			return err
		}
		if err := s.change(m, j); err != nil {
			return err
		}
		out = cloneJob(m.job)
		return nil
	})
	if err = s.commit(pos, err); err != nil {
		return Job{}, err
	}
	return out, nil
}

func (s *MemoryStore) read(ctx context.Context, find func() *memJob, what string) (Job, error) {
	if err := ctx.Err(); err != nil {
		return Job{}, err
	}
	var out Job
	pos, err := s.locked(func() error {
		m := find()
		if m == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, what)
		}
		out = cloneJob(m.job)
		return nil
	})
	if err = s.commit(pos, err); err != nil {
		return Job{}, err
	}
	return out, nil
}

// locked runs fn with the lock held and returns the journal position the
// caller must wait for: everything fn saw or did is durable up to there.
func (s *MemoryStore) locked(fn func() error) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	err := fn()
	return s.pos, err
}

// commit waits until the journal has made pos durable. A failed operation
// still waits: its error may rest on state a concurrent change made.
func (s *MemoryStore) commit(pos int64, err error) error {
	if s.journal != nil && pos > 0 {
		if cerr := s.journal.Commit(pos); cerr != nil {
			return fmt.Errorf("batch: job store journal: %w", cerr)
		}
	}
	return err
}

// change journals j as m's new state and installs it.
func (s *MemoryStore) change(m *memJob, j Job) error {
	if err := s.append(JournalRecord{Job: &j}); err != nil {
		return err
	}
	s.install(m, j)
	return nil
}

func (s *MemoryStore) append(r JournalRecord) error {
	if s.journal == nil {
		return nil
	}
	pos, err := s.journal.Append(r)
	if err != nil {
		return fmt.Errorf("batch: job store journal: %w", err)
	}
	s.pos = pos
	return nil
}

// install makes j m's state and updates the indexes. Events kept for j's
// generations have been applied to it (or, for earlier attempts, no longer
// matter), so they are dropped.
func (s *MemoryStore) install(m *memJob, j Job) {
	m.job = j
	for _, id := range generationIDs(&j) {
		s.byGen[id] = m
		delete(s.deferred, id)
	}
	if j.Status == creativeai.StatusCompleted && j.Delivery == creativeai.DeliveryPending {
		s.outbox[m] = struct{}{}
	} else {
		delete(s.outbox, m)
	}
}

// applyDeferred applies the events kept for j's generation, in arrival
// order; install drops them once j is stored.
func (s *MemoryStore) applyDeferred(j *Job, now time.Time) {
	if j.GenerationID == "" {
		return
	}
	for _, gen := range s.deferred[j.GenerationID] {
		j.ApplyGeneration(gen, now)
	}
}

// generationIDs returns j's current and earlier generation ids.
func generationIDs(j *Job) []string {
	if j.GenerationID == "" {
		return j.PreviousGenerationIDs
	}
	return append(slices.Clip(j.PreviousGenerationIDs), j.GenerationID)
}

// cloneJob copies j so that the caller and the store share no slice.
func cloneJob(j Job) Job {
	j.PreviousGenerationIDs = slices.Clone(j.PreviousGenerationIDs)
	return j
}
