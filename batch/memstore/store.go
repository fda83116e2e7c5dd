package memstore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sync"
	"time"
	"unique"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// Store is a Store that keeps jobs in memory. On its own it is the
// store for tests and short-lived programs; given a Journal (see
// WithJournal) it is durable, which is how batch/jsonlstore is built.
//
// Delivery leases are journaled like changes (Record.Lease), so that stores
// sharing a journal (batch/jsonlstore) see one another's claims, and a
// restarted process waits for the leases its predecessor held to expire.
//
// A job costs about 160 bytes plus its strings (see memJob), so a store of
// 100,000 jobs fresh from a manifest holds about 45 MB with its indexes.
type Store struct {
	clock   jobs.Clock
	journal Journal

	mu       sync.Mutex
	closed   bool
	byKey    map[string]*memJob
	order    []*memJob                        // first-tracked order
	byGen    map[string]*memJob               // current and earlier generation ids
	deferred map[string]creativeai.Generation // the event kept for each id no job has yet (jobs.SupersedesDeferred)
	outbox   outbox                           // completed jobs whose delivery is pending, with their leases
	pos      int64                            // journal position of the last change
	spend    spendIndex                       // spending by day (spend.go)
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock the store stamps jobs with; nil (the default)
// means jobs.WallClock.
func WithClock(c jobs.Clock) Option {
	return func(s *Store) { s.clock = c }
}

// WithJournal makes the store durable through j: every change is appended to
// j, and a method returns only once j has committed every change the method
// made or saw.
func WithJournal(j Journal) Option {
	return func(s *Store) { s.journal = j }
}

// Journal makes a Store durable. The store appends a Record for
// every change, in the order the changes happen, and acknowledges a change
// (or returns what it read) only once Commit says every record up to that
// point is durable. Because appending and committing are separate, a journal
// can write and sync the records of many concurrent callers at once (group
// commit).
type Journal interface {
	// Append queues r and returns its position; positions increase. The
	// store calls Append with its lock held, so Append must not wait for
	// I/O. When Append fails the change is dropped.
	Append(r Record) (pos int64, err error)
	// Commit returns once every record up to pos is durable. A journal
	// may leave a Lease record to be made durable with the next record
	// that is not one, as long as every store sharing the journal can read
	// it when Commit returns: a lease lost in a crash only lets its job be
	// claimed sooner. An error means the record may be lost; the journal
	// should then fail every later Commit too, since the store's memory is
	// ahead of its journal.
	Commit(pos int64) error
}

// Record is one change a Store journals: a job's new state, an event kept
// for a generation no job has yet, or a delivery lease granted. Exactly one
// field is set.
type Record struct {
	Job   *jobs.Job
	Event *creativeai.Generation
	Lease *Lease
}

// Lease is a delivery claim on a job, journaled so that every process
// sharing a journal sees it: the job is not claimed again before Until
// unless Owner records its delivery first. Recording a delivery (a job
// record with more DeliveryAttempts) releases it.
type Lease struct {
	Key   string
	Owner string
	Until time.Time
}

// New returns an empty store.
func New(opts ...Option) *Store {
	s := &Store{
		byKey:    make(map[string]*memJob),
		byGen:    make(map[string]*memJob),
		deferred: make(map[string]creativeai.Generation),
		outbox:   newOutbox(),
	}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	s.clock = jobs.OrWall(s.clock)
	return s
}

// Restore loads a record read back from a journal, as it is and without
// journaling it: a job replaces any job with its key (keeping that job's
// place in the order), an event is applied to the job that has its
// generation or kept for later, and a lease is granted to its owner.
// Replaying a journal's records in order rebuilds the store that wrote them.
// Call Restore before the store is used, or, for records another process
// appended to a shared journal, when the changes of this one are committed.
func (s *Store) Restore(r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return jobs.ErrClosed
	}
	switch {
	case r.Lease != nil && r.Job == nil && r.Event == nil:
		if m := s.byKey[r.Lease.Key]; m != nil {
			s.outbox.lease(m, r.Lease.Owner, r.Lease.Until)
		}
	case r.Job != nil && r.Event == nil && r.Lease == nil:
		j := cloneJob(*r.Job)
		if j.Key == "" {
			return errors.New("batch: restore: job has no key")
		}
		m := s.byKey[j.Key]
		if m == nil {
			m = &memJob{}
			s.byKey[j.Key] = m
			s.order = append(s.order, m)
		} else if m.later != nil && j.DeliveryAttempts > m.later.deliveryAttempts {
			// A delivery was recorded, which releases the job's lease.
			s.outbox.release(m)
		}
		// The record replaces the job whole, so generation ids it no longer
		// lists (a job file's later line for the same SKU) stop pointing at it.
		for _, id := range m.generationIDs() {
			if s.byGen[id] == m && !j.HasGeneration(id) {
				delete(s.byGen, id)
			}
		}
		s.install(m, j)
	case r.Event != nil && r.Job == nil && r.Lease == nil:
		gen := *r.Event
		if gen.ID == "" {
			return jobs.ErrNoGenerationID
		}
		if m := s.byGen[gen.ID]; m != nil {
			j := m.job()
			if j.ApplyGeneration(gen, s.clock.Now()) {
				s.install(m, j)
			}
			return nil
		}
		s.keepDeferred(gen)
	default:
		return errors.New("batch: restore: record must have exactly one of Job, Event and Lease")
	}
	return nil
}

// Snapshot calls fn with the records that rebuild the store: every job in
// first-tracked order, then every kept event, then every delivery lease. The store is locked until fn
// returns, so nothing changes meanwhile; a journal compacts itself this way.
func (s *Store) Snapshot(fn func(records iter.Seq[Record]) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return jobs.ErrClosed
	}
	return fn(func(yield func(Record) bool) {
		for _, m := range s.order {
			j := m.job()
			if !yield(Record{Job: &j}) {
				return
			}
		}
		// Sorted so that a snapshot of the same state is the same bytes.
		for _, id := range slices.Sorted(maps.Keys(s.deferred)) {
			gen := s.deferred[id]
			if !yield(Record{Event: &gen}) {
				return
			}
		}
		for _, l := range s.outbox.leases() {
			if !yield(Record{Lease: &l}) {
				return
			}
		}
	})
}

// Track records a job before it is submitted; see Store.
func (s *Store) Track(ctx context.Context, job jobs.Job) (jobs.Job, bool, error) {
	if err := ctx.Err(); err != nil {
		return jobs.Job{}, false, err
	}
	now := s.clock.Now()
	if err := job.PrepareTrack(now); err != nil {
		return jobs.Job{}, false, err
	}
	job = cloneJob(job)

	var (
		stored  jobs.Job
		created bool
	)
	pos, err := s.locked(func() error {
		if m := s.byKey[job.Key]; m != nil {
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
		s.byKey[job.Key] = m
		s.order = append(s.order, m)
		stored, created = m.job(), true
		return nil
	})
	if err = s.commit(pos, err); err != nil {
		return jobs.Job{}, false, err
	}
	return stored, created, nil
}

// RecordSubmission stores the outcome of submitting a job; see Store.
func (s *Store) RecordSubmission(ctx context.Context, key string, sub jobs.Submission) (jobs.Job, error) {
	return s.update(ctx, key, func(j *jobs.Job, now time.Time) error {
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
func (s *Store) Replay(ctx context.Context, key string) (jobs.Job, error) {
	return s.update(ctx, key, func(j *jobs.Job, now time.Time) error {
		return j.Replay(now)
	})
}

// Apply applies a status update; see Store.
func (s *Store) Apply(ctx context.Context, gen creativeai.Generation) (jobs.ApplyResult, error) {
	if err := ctx.Err(); err != nil {
		return jobs.ApplyResult{}, err
	}
	if gen.ID == "" {
		return jobs.ApplyResult{}, jobs.ErrNoGenerationID
	}
	now := s.clock.Now()
	var res jobs.ApplyResult
	pos, err := s.locked(func() error {
		m := s.byGen[gen.ID]
		if m == nil {
			res.Deferred = true
			if kept, ok := s.deferred[gen.ID]; ok && !jobs.SupersedesDeferred(kept, gen) {
				return nil // a duplicate, or less advanced than the kept event
			}
			if err := s.append(Record{Event: &gen}); err != nil {
				return err
			}
			s.deferred[gen.ID] = gen
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
		return jobs.ApplyResult{}, err
	}
	return res, nil
}

// Get returns the job with the given key; see Store.
func (s *Store) Get(ctx context.Context, key string) (jobs.Job, error) {
	return s.read(ctx, func() *memJob { return s.byKey[key] }, "key "+key)
}

// GetByGenerationID returns the job with the given generation; see Store.
func (s *Store) GetByGenerationID(ctx context.Context, id string) (jobs.Job, error) {
	return s.read(ctx, func() *memJob { return s.byGen[id] }, "generation "+id)
}

// listPage bounds how many jobs List copies per lock, so that a long listing
// neither holds the lock nor copies the whole store at once.
const listPage = 256

// List yields the jobs that match f in first-tracked order; see Store. The
// loop body may use the store: List holds no lock while it yields.
func (s *Store) List(ctx context.Context, f jobs.Filter) iter.Seq2[jobs.Job, error] {
	return func(yield func(jobs.Job, error) bool) {
		page := make([]jobs.Job, 0, listPage)
		for next := 0; ; {
			if err := ctx.Err(); err != nil {
				yield(jobs.Job{}, err)
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
				yield(jobs.Job{}, err)
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
func (m *memJob) matches(f *jobs.Filter) bool {
	return (len(f.Statuses) == 0 || slices.Contains(f.Statuses, m.status.Value())) &&
		(f.UpdatedBefore.IsZero() || m.updatedAt.Before(f.UpdatedBefore)) &&
		(f.UpdatedSince.IsZero() || !m.updatedAt.Before(f.UpdatedSince)) &&
		(!f.Submitted || m.generationID != "")
}

// ClaimDeliveries leases completed jobs whose delivery is due, earliest due
// first (a job whose lease expired is due from the lease's end); see Store.
// It costs O(s + log n) per job claimed, for n jobs in the outbox and s
// target surfaces.
func (s *Store) ClaimDeliveries(ctx context.Context, c jobs.Claim) ([]jobs.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	now := c.Now
	if now.IsZero() {
		now = s.clock.Now()
	}
	var claimed []jobs.Job
	pos, err := s.locked(func() error {
		until := now.Add(c.Lease)
		leased := s.outbox.claim(now, c.Limit, c.TargetSurfaces, c.Owner, until)
		for i, m := range leased {
			if err := s.append(Record{Lease: &Lease{Key: m.key, Owner: c.Owner, Until: until}}); err != nil {
				for _, m := range leased[i:] {
					s.outbox.release(m)
				}
				return err
			}
			claimed = append(claimed, m.job())
		}
		return nil
	})
	if err = s.commit(pos, err); err != nil {
		return nil, err
	}
	return claimed, nil
}

// RecordDelivery records a delivery attempt and releases the lease; see
// Store.
func (s *Store) RecordDelivery(ctx context.Context, key string, r jobs.DeliveryResult) (jobs.Job, error) {
	if err := ctx.Err(); err != nil {
		return jobs.Job{}, err
	}
	if err := r.Validate(); err != nil {
		return jobs.Job{}, fmt.Errorf("batch: record delivery of %s: %w", key, err)
	}
	return s.update(ctx, key, func(j *jobs.Job, now time.Time) error {
		m := s.byKey[key]
		if owner := s.outbox.owner(m); owner == "" || owner != r.Owner {
			return fmt.Errorf("%w: %s", jobs.ErrLeaseLost, key)
		}
		j.RecordDelivery(r, now)
		if r.State == jobs.DeliveryAwaitingReview {
			// No attempt is counted, so the job's record does not end the
			// lease for stores sharing the journal (see Restore): say so.
			if err := s.append(Record{Lease: &Lease{Key: key}}); err != nil {
				return err
			}
		}
		// Released before the change is journaled: should that fail, the job
		// is merely claimable again, which an expired lease allows anyway.
		s.outbox.release(m)
		return nil
	})
}

// ReleaseLeases ends every delivery lease, journaling the end of each, and
// returns once that is durable. A journal's owner calls it on finding that
// no other process has the journal open: the leases in it belong to
// processes that are gone, and their jobs can be claimed at once.
func (s *Store) ReleaseLeases(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	pos, err := s.locked(func() error {
		for _, l := range s.outbox.leases() {
			if err := s.append(Record{Lease: &Lease{Key: l.Key}}); err != nil {
				return err
			}
			s.outbox.release(s.byKey[l.Key])
		}
		return nil
	})
	return s.commit(pos, err)
}

// Close marks the store closed once every change is committed; later calls
// return jobs.ErrClosed. Closing twice is harmless.
func (s *Store) Close() error {
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
func (s *Store) update(ctx context.Context, key string, fn func(j *jobs.Job, now time.Time) error) (jobs.Job, error) {
	if err := ctx.Err(); err != nil {
		return jobs.Job{}, err
	}
	now := s.clock.Now()
	var out jobs.Job
	pos, err := s.locked(func() error {
		m := s.byKey[key]
		if m == nil {
			return fmt.Errorf("%w: key %s", jobs.ErrNotFound, key)
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
		return jobs.Job{}, err
	}
	return out, nil
}

func (s *Store) read(ctx context.Context, find func() *memJob, what string) (jobs.Job, error) {
	if err := ctx.Err(); err != nil {
		return jobs.Job{}, err
	}
	var out jobs.Job
	pos, err := s.locked(func() error {
		m := find()
		if m == nil {
			return fmt.Errorf("%w: %s", jobs.ErrNotFound, what)
		}
		out = m.job()
		return nil
	})
	if err = s.commit(pos, err); err != nil {
		return jobs.Job{}, err
	}
	return out, nil
}

// locked runs fn with the lock held and returns the journal position the
// caller must wait for: everything fn saw or did is durable up to there.
func (s *Store) locked(fn func() error) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, jobs.ErrClosed
	}
	err := fn()
	return s.pos, err
}

// commit waits until the journal has made pos durable. A failed operation
// still waits: its error may rest on state a concurrent change made.
func (s *Store) commit(pos int64, err error) error {
	if s.journal != nil && pos > 0 {
		if cerr := s.journal.Commit(pos); cerr != nil {
			return fmt.Errorf("batch: job store journal: %w", cerr)
		}
	}
	return err
}

// change journals j as m's new state and installs it. j's slices pass to m:
// the caller must not change them afterwards.
func (s *Store) change(m *memJob, j jobs.Job) error {
	if err := s.append(Record{Job: &j}); err != nil {
		return err
	}
	s.install(m, j)
	return nil
}

func (s *Store) append(r Record) error {
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
func (s *Store) install(m *memJob, j jobs.Job) {
	s.spend.update(m, &j)
	m.set(&j)
	for _, id := range generationIDs(&j) {
		s.byGen[id] = m
		delete(s.deferred, id)
	}
	if j.Status == jobs.StatusCompleted && j.Delivery == jobs.DeliveryPending {
		s.outbox.put(m, j.TargetSurface, j.DeliveryNextAt)
	} else {
		s.outbox.remove(m)
	}
}

// applyDeferred applies the event kept for j's generation; install drops
// it once j is stored.
func (s *Store) applyDeferred(j *jobs.Job, now time.Time) {
	if gen, ok := s.deferred[j.GenerationID]; ok && j.GenerationID != "" {
		j.ApplyGeneration(gen, now)
	}
}

// keepDeferred keeps gen for an id no job has yet, unless the event kept
// for it is more advanced.
func (s *Store) keepDeferred(gen creativeai.Generation) {
	if kept, ok := s.deferred[gen.ID]; ok && !jobs.SupersedesDeferred(kept, gen) {
		return
	}
	s.deferred[gen.ID] = gen
}

// generationIDs returns j's current and earlier generation ids.
func generationIDs(j *jobs.Job) []string {
	if j.GenerationID == "" {
		return j.PreviousGenerationIDs
	}
	return append(slices.Clip(j.PreviousGenerationIDs), j.GenerationID)
}

// cloneJob copies j so that the caller and the store share no slice.
func cloneJob(j jobs.Job) jobs.Job {
	j.PreviousGenerationIDs = slices.Clone(j.PreviousGenerationIDs)
	j.EarlierCharges = slices.Clone(j.EarlierCharges)
	return j
}

// memJob is how a Store keeps a job. The store holds every job in
// memory for as long as it is open, one per manifest row, so memJob is laid
// out for size: about 160 bytes where a jobs.Job takes 440.
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
	status       unique.Handle[jobs.Status]
	settings     unique.Handle[jobSettings]
	createdAt    time.Time
	updatedAt    time.Time
	later        *jobLater
	spend        *jobSpend // nil until the job reserves (spend.go)
}

// jobSettings are the fields the rows of a manifest mostly have in common.
type jobSettings struct {
	collection    string
	targetSurface string
	model         string
	aspectRatio   string
	duration      creativeai.Duration

	// The prompt template that wrote the rows' prompts, if any.
	template, templateVersion string
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
	delivery         jobs.DeliveryState
	deliveryAttempts int
	deliveryNextAt   time.Time
	deliveryRef      string
	deliveryError    string
	failureClass     jobs.FailureClass
	notBilled        bool
	archive          jobs.Archive
	approvedAt       time.Time
	reviewNote       string
}

// set makes j m's state. m takes j's slices, so j must not be changed
// afterwards; set runs with the store's lock held, so no reader sees a half
// set memJob.
func (m *memJob) set(j *jobs.Job) {
	m.key, m.sku, m.generationID = j.Key, j.SKU, j.GenerationID
	m.imageURL, m.videoPrompt = j.ImageURL, j.VideoPrompt
	m.status = intern(m.status, j.Status)
	m.settings = intern(m.settings, jobSettings{
		collection:    j.Collection,
		targetSurface: j.TargetSurface,
		model:         j.Model,
		aspectRatio:   j.AspectRatio,
		duration:      j.Duration,

		template: j.Template, templateVersion: j.TemplateVersion,
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
		failureClass:     j.FailureClass,
		notBilled:        j.NotBilled,
		archive:          j.Archive,
		approvedAt:       j.ApprovedAt,
		reviewNote:       j.ReviewNote,
	}
	m.spend = newJobSpend(j)
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

// job returns m's state as a jobs.Job that shares no slice with the store.
func (m *memJob) job() jobs.Job {
	s := m.settings.Value()
	j := jobs.Job{
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
	j.Template, j.TemplateVersion = s.template, s.templateVersion
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
		j.FailureClass = l.failureClass
		j.NotBilled = l.notBilled
		j.Archive = l.archive
		j.ApprovedAt = l.approvedAt
		j.ReviewNote = l.reviewNote
	}
	m.spend.fill(&j)
	return j
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
