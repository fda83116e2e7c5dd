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
	"unique"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// MemoryStore is a Store that keeps jobs in memory. On its own it is the
// store for tests and short-lived programs; given a Journal (see
// WithJournal) it is durable, which is how batch/jsonlstore is built.
//
// Delivery leases live only in memory: after a restart every job in the
// outbox may be claimed at once, which is safe because the journal's owner
// holds the only copy of the store.
//
// A job costs about 160 bytes plus its strings (see memJob), so a store of
// 100,000 jobs fresh from a manifest holds about 45 MB with its indexes.
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
	leases   map[*memJob]lease                  // delivery leases granted, by job
	pos      int64                              // journal position of the last change
}

// lease is a delivery claim on a job. Only jobs in the outbox are leased,
// so leases are kept apart from the jobs rather than in every one of them.
type lease struct {
	owner string
	until time.Time
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
		leases:   make(map[*memJob]lease),
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
		for _, id := range m.generationIDs() {
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
			j := m.job()
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
			j := m.job()
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
			stored = m.job()
			return nil
		}
		for _, id := range generationIDs(&job) {
			if other := s.byGen[id]; other != nil {
				return fmt.Errorf("batch: track %s: generation %s belongs to job %s", job.Key, id, other.key)
			}
		}
		s.applyDeferred(&job, now)
		m := &memJob{}
		if err := s.change(m, job); err != nil {
			return err
		}
		s.jobs[job.Key] = m
		s.order = append(s.order, m)
		stored, created = m.job(), true
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
		if other := s.byGen[j.GenerationID]; other != nil && other.key != key {
			return fmt.Errorf("batch: job %s: generation %s belongs to job %s", key, j.GenerationID, other.key)
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
		j := m.job()
		if j.ApplyGeneration(gen, now) {
			if err := s.change(m, j); err != nil {
				return err
			}
			res.Changed = true
		}
		res.Job = cloneJob(j) // j's slices may belong to m now
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
					if m := s.order[next]; m.matches(&f) {
						page = append(page, m.job())
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

// matches reports whether f selects m. It reads m's fields in place, so a
// listing copies only the jobs it yields.
func (m *memJob) matches(f *Filter) bool {
	return (len(f.Statuses) == 0 || slices.Contains(f.Statuses, m.status.Value())) &&
		(f.UpdatedBefore.IsZero() || m.updatedAt.Before(f.UpdatedBefore)) &&
		(!f.Submitted || m.generationID != "")
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
			if l, leased := s.leases[m]; m.deliveryDue(now) && (!leased || !now.Before(l.until)) {
				due = append(due, m)
			}
		}
		// A due job has a delivery state, so its later fields are set.
		slices.SortFunc(due, func(a, b *memJob) int {
			return cmp.Or(a.later.deliveryNextAt.Compare(b.later.deliveryNextAt), a.createdAt.Compare(b.createdAt), cmp.Compare(a.key, b.key))
		})
		for _, m := range due[:min(len(due), c.Limit)] {
			s.leases[m] = lease{owner: c.Owner, until: now.Add(c.Lease)}
			claimed = append(claimed, m.job())
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
	return s.update(ctx, key, func(j *Job, now time.Time) error {
		m := s.jobs[key]
		if l, leased := s.leases[m]; !leased || l.owner != r.Owner {
			return fmt.Errorf("%w: %s", ErrLeaseLost, key)
		}
		j.RecordDelivery(r, now)
		// Released before the change is journaled: should that fail, the job
		// is merely claimable again, which an expired lease allows anyway.
		delete(s.leases, m)
		return nil
	})
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
		j := m.job()
		if err := fn(&j, now); err != nil {
			return err
		}
		if err := s.change(m, j); err != nil {
			return err
		}
		out = m.job()
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
		out = m.job()
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

// change journals j as m's new state and installs it. j's slices pass to m:
// the caller must not change them afterwards.
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
	m.set(&j)
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

// memJob is how a MemoryStore keeps a job. The store holds every job in
// memory for as long as it is open, one per manifest row, so memJob is laid
// out for size: about 160 bytes where a Job takes 440.
//
//   - The fields every job has from the start are inline.
//   - The status and the settings that most rows of a manifest share are
//     interned: each job holds an 8-byte handle to one shared copy.
//   - The fields a job gains later in its life (its render's outcome,
//     replays, delivery) sit behind a pointer that stays nil until one is
//     set, which for a large batch in flight is most jobs.
//
// Strings are kept as given, not copied, so a job's text costs its bytes
// once however many indexes name it.
type memJob struct {
	key          string
	sku          string
	generationID string
	imageURL     string
	videoPrompt  string
	status       unique.Handle[creativeai.Status]
	settings     unique.Handle[jobSettings]
	createdAt    time.Time
	updatedAt    time.Time
	later        *jobLater
}

// jobSettings are the fields the rows of a manifest mostly have in common.
type jobSettings struct {
	collection    string
	targetSurface string
	model         string
	aspectRatio   string
	duration      creativeai.Duration
}

// jobLater holds the fields a job gains after it is tracked.
type jobLater struct {
	laterFields
	// previousGenerationIDs is apart from laterFields because a slice would
	// keep laterFields from being comparable.
	previousGenerationIDs []string
}

// laterFields are jobLater's comparable fields, so that == tells a job that
// has none of them.
type laterFields struct {
	outputURL        string
	failoverUsed     bool
	completedAt      time.Time
	err              string
	providerStatus   string
	stillPrompt      string
	stillURL         string
	attempt          int
	delivery         creativeai.DeliveryState
	deliveryAttempts int
	deliveryNextAt   time.Time
	deliveryRef      string
	deliveryError    string
}

// set makes j m's state. m takes j's slices, so j must not be changed
// afterwards; set runs with the store's lock held, so no reader sees a half
// set memJob.
func (m *memJob) set(j *Job) {
	m.key, m.sku, m.generationID = j.Key, j.SKU, j.GenerationID
	m.imageURL, m.videoPrompt = j.ImageURL, j.VideoPrompt
	m.status = intern(m.status, j.Status)
	m.settings = intern(m.settings, jobSettings{
		collection:    j.Collection,
		targetSurface: j.TargetSurface,
		model:         j.Model,
		aspectRatio:   j.AspectRatio,
		duration:      j.Duration,
	})
	m.createdAt, m.updatedAt = j.CreatedAt, j.UpdatedAt

	later := laterFields{
		outputURL:        j.OutputURL,
		failoverUsed:     j.FailoverUsed,
		completedAt:      j.CompletedAt,
		err:              j.Error,
		providerStatus:   j.ProviderStatus,
		stillPrompt:      j.StillPrompt,
		stillURL:         j.StillURL,
		attempt:          j.Attempt,
		delivery:         j.Delivery,
		deliveryAttempts: j.DeliveryAttempts,
		deliveryNextAt:   j.DeliveryNextAt,
		deliveryRef:      j.DeliveryRef,
		deliveryError:    j.DeliveryError,
	}
	switch {
	case later == laterFields{} && j.PreviousGenerationIDs == nil:
		m.later = nil
	case m.later == nil:
		m.later = &jobLater{later, j.PreviousGenerationIDs}
	default:
		// Readers copy out of m.later under the lock and keep no pointer
		// to it, so it can be overwritten rather than allocated anew.
		*m.later = jobLater{later, j.PreviousGenerationIDs}
	}
}

// job returns m's state as a Job that shares no slice with the store.
func (m *memJob) job() Job {
	s := m.settings.Value()
	j := Job{
		Key:           m.key,
		SKU:           m.sku,
		Collection:    s.collection,
		TargetSurface: s.targetSurface,
		GenerationID:  m.generationID,
		Status:        m.status.Value(),
		ImageURL:      m.imageURL,
		VideoPrompt:   m.videoPrompt,
		Model:         s.model,
		Duration:      s.duration,
		AspectRatio:   s.aspectRatio,
		CreatedAt:     m.createdAt,
		UpdatedAt:     m.updatedAt,
	}
	if l := m.later; l != nil {
		j.OutputURL = l.outputURL
		j.FailoverUsed = l.failoverUsed
		j.CompletedAt = l.completedAt
		j.Error = l.err
		j.ProviderStatus = l.providerStatus
		j.StillPrompt = l.stillPrompt
		j.StillURL = l.stillURL
		j.Attempt = l.attempt
		j.PreviousGenerationIDs = slices.Clone(l.previousGenerationIDs)
		j.Delivery = l.delivery
		j.DeliveryAttempts = l.deliveryAttempts
		j.DeliveryNextAt = l.deliveryNextAt
		j.DeliveryRef = l.deliveryRef
		j.DeliveryError = l.deliveryError
	}
	return j
}

// deliveryDue is Job.DeliveryDue for m, without copying the whole job: a
// claim looks at every job in the outbox.
func (m *memJob) deliveryDue(now time.Time) bool {
	if m.later == nil {
		return false // no delivery state
	}
	j := Job{Status: m.status.Value(), Delivery: m.later.delivery, DeliveryNextAt: m.later.deliveryNextAt}
	return j.DeliveryDue(now)
}

// generationIDs returns m's current and earlier generation ids; none for a
// memJob not yet set.
func (m *memJob) generationIDs() []string {
	var ids []string
	if m.later != nil {
		ids = m.later.previousGenerationIDs
	}
	if m.generationID != "" {
		ids = append(slices.Clip(ids), m.generationID)
	}
	return ids
}

// intern returns h when it already stands for v, sparing the lookup in the
// common case of a change that leaves the value as it was, and otherwise
// the shared handle for v.
func intern[T comparable](h unique.Handle[T], v T) unique.Handle[T] {
	if h != (unique.Handle[T]{}) && h.Value() == v {
		return h
	}
	return unique.Make(v)
}
