package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"iter"
	"math"
	"regexp"
	"slices"
	"sync/atomic"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// DefaultTablePrefix starts the names of the store's tables unless
// WithTablePrefix says otherwise, so that they do not collide with an
// application's own tables in a shared database.
const DefaultTablePrefix = "catalogvideo_"

// maxClaim caps how many jobs one ClaimDeliveries call leases, which keeps
// the statement's parameter count within every database's limit.
const maxClaim = 1000

// listPage is how many jobs List reads per query. No connection is held
// while the caller's loop runs, so the loop may write to the store, even
// through a single-connection pool.
const listPage = 500

// Option configures New and Migrate.
type Option func(*config)

type config struct {
	prefix  string
	now     jobs.Clock
	migrate bool
}

// WithTablePrefix names the store's tables <prefix>jobs,
// <prefix>job_generations, <prefix>deferred_events and
// <prefix>schema_migrations. The prefix is lower-case ASCII letters, digits
// and underscores, starting with a letter or underscore, at most 32 bytes;
// the default is DefaultTablePrefix. Stores with different prefixes share a
// database without seeing each other's jobs.
func WithTablePrefix(prefix string) Option {
	return func(c *config) { c.prefix = prefix }
}

// WithClock makes the store read the time from clock instead of the
// system clock (in UTC): it stamps CreatedAt and UpdatedAt, a finished
// render's CompletedAt when the event carries none, the time a completed job
// becomes due for delivery, and claims whose Now is zero. A nil clock means
// the system clock.
func WithClock(clock jobs.Clock) Option {
	return func(c *config) { c.now = clock }
}

// WithoutMigrations makes New check that the database's schema is current
// instead of migrating it, for deployments that run Migrate as a separate
// step with other privileges.
func WithoutMigrations() Option {
	return func(c *config) { c.migrate = false }
}

var validPrefix = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,31}$`)

func newConfig(db *sql.DB, d Dialect, opts []Option) (*config, error) {
	if db == nil {
		return nil, errors.New("sqlstore: the *sql.DB is nil")
	}
	if !d.valid() {
		return nil, fmt.Errorf("sqlstore: unknown dialect %v: use sqlstore.SQLite or sqlstore.Postgres", d)
	}
	cfg := &config{prefix: DefaultTablePrefix, migrate: true}
	for _, o := range opts {
		if o != nil {
			o(cfg)
		}
	}
	if cfg.now == nil {
		cfg.now = jobs.ClockFunc(func() time.Time { return time.Now().UTC() })
	}
	if cfg.prefix != "" && !validPrefix.MatchString(cfg.prefix) {
		return nil, fmt.Errorf("sqlstore: table prefix %q: want at most 32 lower-case letters, digits and underscores, not starting with a digit", cfg.prefix)
	}
	return cfg, nil
}

// Store is a jobs.Store kept in a SQL database: SQLite for a single host,
// PostgreSQL for several processes (webhook receivers, delivery workers)
// sharing one set of jobs. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	prefix  string
	now     jobs.Clock
	w       *writer
	q       queries
	// lockClass is the first half of the PostgreSQL advisory lock keys that
	// serialize deferring an event with recording its generation id.
	lockClass int32
	closed    atomic.Bool
}

var _ jobs.Store = (*Store)(nil)

// New returns a store keeping its jobs in db, which speaks dialect d. It
// migrates the schema first (see Migrate) unless WithoutMigrations is given.
// The caller keeps ownership of db: Close does not close it.
func New(ctx context.Context, db *sql.DB, d Dialect, opts ...Option) (*Store, error) {
	cfg, err := newConfig(db, d, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{
		db:        db,
		dialect:   d,
		prefix:    cfg.prefix,
		now:       cfg.now,
		w:         newWriter(db, d),
		q:         buildQueries(d, cfg.prefix),
		lockClass: hash32("catalogvideo/sqlstore/generation:" + cfg.prefix),
	}
	if cfg.migrate {
		err = migrate(ctx, s.w, cfg.prefix, 0)
	} else {
		err = checkSchema(ctx, db, d, cfg.prefix)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Dialect returns the dialect the store was opened with.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close marks the store closed; later calls return jobs.ErrClosed. It does
// not close the *sql.DB, which belongs to the caller.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

// ready reports why the store cannot serve a call: it is closed, or ctx has
// ended. Checking first means a cancelled call changes nothing even where
// the driver would have run a statement before noticing.
func (s *Store) ready(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("sqlstore: %w", jobs.ErrClosed)
	}
	return ctx.Err()
}

// queries holds the store's SQL, rewritten once for its dialect and prefix.
type queries struct {
	getJob                                                       string
	selectJob                                                    string    // the same, locking the row for a write
	getJobByGen, selectJobByGen                                  [2]string // by current attempt, by earlier ones
	insertJob, updateJob, updateRecord, releaseLease             string
	insertGen, selectGenKey                                      string
	selectDeferred, upsertDeferred, takeDeferred, lockGeneration string
	claimCandidates, claimSurfaceCandidates                      string
}

// jobColumns are the columns rowArgs gives values for, in its order.
const jobColumns = `key, sku, generation_id, status, delivery, delivery_next_at, updated_at, record, target_surface`

// claimCandidates selects due, unleased jobs from the outbox: with the
// surface condition it reads the jobs_outbox_surface index, without it
// jobs_outbox, in index order either way, so a claim reads about as many
// rows as it leases (plus those leased by others) however long the outbox.
const claimCandidates = `SELECT seq, record, delivery_next_at FROM {prefix}jobs
	WHERE status = 'completed' AND delivery = 'pending' AND delivery_next_at <= $1 AND lease_until <= $1 `

func buildQueries(d Dialect, prefix string) queries {
	forUpdate, forUpdateOfJ, skipLocked := "", "", ""
	if d == Postgres {
		// SQLite needs none of these: its writers hold the database lock.
		forUpdate, forUpdateOfJ, skipLocked = " FOR UPDATE", " FOR UPDATE OF j", " FOR UPDATE SKIP LOCKED"
	}
	r := func(q string) string { return d.rebind(prefix, q) }
	const (
		byKey = `SELECT record, lease_owner FROM {prefix}jobs WHERE key = $1`
		byGen = `SELECT record, lease_owner FROM {prefix}jobs WHERE generation_id = $1`
		// Events for earlier attempts are rare, so the common lookup reads
		// one index and job_generations is consulted only when it misses.
		byEarlierGen = `SELECT j.record, j.lease_owner FROM {prefix}jobs j
			JOIN {prefix}job_generations g ON g.key = j.key WHERE g.generation_id = $1`
	)
	return queries{
		insertJob: r(`INSERT INTO {prefix}jobs (` + jobColumns + `)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (key) DO NOTHING`),
		getJob:         r(byKey),
		getJobByGen:    [2]string{r(byGen), r(byEarlierGen)},
		selectJob:      r(byKey + forUpdate),
		selectJobByGen: [2]string{r(byGen + forUpdate), r(byEarlierGen + forUpdateOfJ)},
		updateJob: r(`UPDATE {prefix}jobs SET sku = $2, generation_id = $3, status = $4, delivery = $5,
			delivery_next_at = $6, updated_at = $7, record = $8, target_surface = $9 WHERE key = $1`),
		updateRecord:   r(`UPDATE {prefix}jobs SET sku = $2, updated_at = $3, record = $4 WHERE key = $1`),
		releaseLease:   r(`UPDATE {prefix}jobs SET lease_owner = '', lease_until = $2 WHERE key = $1`),
		insertGen:      r(`INSERT INTO {prefix}job_generations (generation_id, key) VALUES ($1, $2) ON CONFLICT (generation_id) DO NOTHING`),
		selectGenKey:   r(`SELECT key FROM {prefix}job_generations WHERE generation_id = $1`),
		selectDeferred: r(`SELECT event FROM {prefix}deferred_events WHERE generation_id = $1`),
		upsertDeferred: r(`INSERT INTO {prefix}deferred_events (generation_id, event, received_at) VALUES ($1, $2, $3)
			ON CONFLICT (generation_id) DO UPDATE SET event = excluded.event, received_at = excluded.received_at`),
		takeDeferred:    r(`DELETE FROM {prefix}deferred_events WHERE generation_id = $1 RETURNING event`),
		lockGeneration:  `SELECT pg_advisory_xact_lock($1::integer, $2::integer)`,
		claimCandidates: r(claimCandidates + `ORDER BY delivery_next_at, seq LIMIT $2` + skipLocked),
		claimSurfaceCandidates: r(claimCandidates + `AND target_surface = $3
			ORDER BY delivery_next_at, seq LIMIT $2` + skipLocked),
	}
}

// Track records job before it is submitted; see jobs.Store. A job without
// a status is tracked as pending, and zero CreatedAt and UpdatedAt are set
// to now. Generation ids the job already carries (a job imported from a job
// file) are indexed, and events kept for them are applied.
func (s *Store) Track(ctx context.Context, job jobs.Job) (jobs.Job, bool, error) {
	if err := s.ready(ctx); err != nil {
		return jobs.Job{}, false, err
	}
	if err := job.ValidateTrack(); err != nil {
		return jobs.Job{}, false, fmt.Errorf("sqlstore: %w", err)
	}
	var (
		stored  jobs.Job
		created bool
	)
	err := s.w.run(ctx, func(ctx context.Context, q querier) error {
		now := s.now.Now()
		j := job
		if err := j.PrepareTrack(now); err != nil {
			return err
		}
		args, err := rowArgs(&j)
		if err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, s.q.insertJob, args...)
		if err != nil {
			return fmt.Errorf("sqlstore: Track %s: %w", j.Key, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: Track %s: %w", j.Key, err)
		} else if n == 0 {
			created = false
			stored, _, err = s.load(ctx, q, s.q.selectJob, j.Key)
			return err
		}
		created = true
		if err := s.indexSpend(ctx, q, &j, false); err != nil {
			return err
		}
		before := indexedOf(&j)
		ids := append([]string{j.GenerationID}, j.PreviousGenerationIDs...)
		changed, err := s.attachGenerations(ctx, q, &j, ids, now)
		if err != nil {
			return err
		}
		if changed {
			if err := s.save(ctx, q, before, &j); err != nil {
				return err
			}
		}
		stored = j
		return nil
	})
	if err == nil {
		stored, err = roundTrip(stored)
	}
	if err != nil {
		return jobs.Job{}, false, err
	}
	return stored, created, nil
}

// RecordSubmission stores the outcome of submitting the job's current
// attempt (see jobs.Job.RecordSubmission) and applies an event kept for
// the generation id it records.
func (s *Store) RecordSubmission(ctx context.Context, key string, sub jobs.Submission) (jobs.Job, error) {
	return s.update(ctx, "RecordSubmission", key, func(ctx context.Context, q querier, j *jobs.Job, now time.Time) (bool, error) {
		if err := j.RecordSubmission(sub, now); err != nil {
			return false, err
		}
		if j.GenerationID != "" {
			if _, err := s.attachGenerations(ctx, q, j, []string{j.GenerationID}, now); err != nil {
				return false, err
			}
		}
		return true, nil
	})
}

// Replay prepares a submit_failed or failed job for another submission (see
// jobs.Job.Replay).
func (s *Store) Replay(ctx context.Context, key string) (jobs.Job, error) {
	return s.update(ctx, "Replay", key, func(_ context.Context, _ querier, j *jobs.Job, now time.Time) (bool, error) {
		return true, j.Replay(now)
	})
}

// update runs change on the job with the given key, locked for the rest of
// the transaction, and saves the job when change reports a change.
func (s *Store) update(ctx context.Context, op, key string, change func(ctx context.Context, q querier, j *jobs.Job, now time.Time) (bool, error)) (jobs.Job, error) {
	if err := s.ready(ctx); err != nil {
		return jobs.Job{}, err
	}
	var out jobs.Job
	err := s.w.run(ctx, func(ctx context.Context, q querier) error {
		j, _, err := s.load(ctx, q, s.q.selectJob, key)
		if err != nil {
			return fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		before := indexedOf(&j)
		changed, err := change(ctx, q, &j, s.now.Now())
		if err != nil {
			return err
		}
		if changed {
			if err := s.save(ctx, q, before, &j); err != nil {
				return err
			}
		}
		out = j
		return nil
	})
	if err != nil {
		return jobs.Job{}, err
	}
	return roundTrip(out)
}

// Apply applies a status update from a webhook or a poll; see jobs.Store.
// The job's row stays locked from reading to writing, so concurrent events
// for one job apply one after the other and none is lost.
func (s *Store) Apply(ctx context.Context, gen creativeai.Generation) (jobs.ApplyResult, error) {
	if err := s.ready(ctx); err != nil {
		return jobs.ApplyResult{}, err
	}
	if gen.ID == "" {
		return jobs.ApplyResult{}, jobs.ErrNoGenerationID
	}
	var res jobs.ApplyResult
	err := s.w.run(ctx, func(ctx context.Context, q querier) error {
		res = jobs.ApplyResult{}
		now := s.now.Now()
		j, found, err := s.loadByGeneration(ctx, q, s.q.selectJobByGen, gen.ID)
		if err != nil {
			return err
		}
		if !found && s.dialect == Postgres {
			// Look again holding the id's lock: a RecordSubmission that
			// committed the id meanwhile is now visible, and one still
			// running will find the event kept below.
			if err := s.lockGeneration(ctx, q, gen.ID); err != nil {
				return err
			}
			if j, found, err = s.loadByGeneration(ctx, q, s.q.selectJobByGen, gen.ID); err != nil {
				return err
			}
		}
		if !found {
			res.Deferred = true
			return s.deferEvent(ctx, q, gen, now)
		}
		before := indexedOf(&j)
		if res.Changed = j.ApplyGeneration(gen, now); res.Changed {
			if err := s.save(ctx, q, before, &j); err != nil {
				return err
			}
		}
		res.Job = j
		return nil
	})
	if err == nil && !res.Deferred {
		res.Job, err = roundTrip(res.Job)
	}
	if err != nil {
		return jobs.ApplyResult{}, err
	}
	return res, nil
}

// deferEvent keeps gen for a generation id no job has yet, unless the
// event kept for it supersedes it (jobs.SupersedesDeferred: the rule every
// store follows).
func (s *Store) deferEvent(ctx context.Context, q querier, gen creativeai.Generation, now time.Time) error {
	var raw []byte
	switch err := q.QueryRowContext(ctx, s.q.selectDeferred, gen.ID).Scan(&raw); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("sqlstore: Apply %s: reading the kept event: %w", gen.ID, err)
	default:
		var kept creativeai.Generation
		if err := json.Unmarshal(raw, &kept); err != nil {
			return fmt.Errorf("sqlstore: Apply %s: decoding the kept event: %w", gen.ID, err)
		}
		if !jobs.SupersedesDeferred(kept, gen) {
			return nil
		}
	}
	b, err := json.Marshal(gen)
	if err != nil {
		return fmt.Errorf("sqlstore: Apply %s: encoding the event: %w", gen.ID, err)
	}
	if _, err := q.ExecContext(ctx, s.q.upsertDeferred, gen.ID, string(b), nanos(now)); err != nil {
		return fmt.Errorf("sqlstore: Apply %s: keeping the event: %w", gen.ID, err)
	}
	return nil
}

// attachGenerations indexes ids as generations of j and applies to j the
// events kept for them. It reports whether j changed.
func (s *Store) attachGenerations(ctx context.Context, q querier, j *jobs.Job, ids []string, now time.Time) (bool, error) {
	changed := false
	for _, id := range ids {
		if id == "" {
			continue
		}
		res, err := q.ExecContext(ctx, s.q.insertGen, id, j.Key)
		if err != nil {
			return false, fmt.Errorf("sqlstore: job %s: indexing generation %s: %w", j.Key, id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return false, fmt.Errorf("sqlstore: job %s: indexing generation %s: %w", j.Key, id, err)
		} else if n == 0 {
			var owner string
			if err := q.QueryRowContext(ctx, s.q.selectGenKey, id).Scan(&owner); err != nil {
				return false, fmt.Errorf("sqlstore: job %s: indexing generation %s: %w", j.Key, id, err)
			}
			if owner != j.Key {
				return false, fmt.Errorf("sqlstore: job %s: generation %s already belongs to job %s", j.Key, id, owner)
			}
			continue // indexed before, so no event can have been kept for it since
		}
		if s.dialect == Postgres {
			if err := s.lockGeneration(ctx, q, id); err != nil {
				return false, err
			}
		}
		var raw []byte
		switch err := q.QueryRowContext(ctx, s.q.takeDeferred, id).Scan(&raw); {
		case errors.Is(err, sql.ErrNoRows):
			continue
		case err != nil:
			return false, fmt.Errorf("sqlstore: job %s: reading the event kept for %s: %w", j.Key, id, err)
		}
		var gen creativeai.Generation
		if err := json.Unmarshal(raw, &gen); err != nil {
			return false, fmt.Errorf("sqlstore: job %s: decoding the event kept for %s: %w", j.Key, id, err)
		}
		changed = j.ApplyGeneration(gen, now) || changed
	}
	return changed, nil
}

// lockGeneration takes, until the transaction ends, a PostgreSQL advisory
// lock on a generation id. Apply holds it between finding no job for the id
// and keeping the event; recording the id takes it before looking for kept
// events. Without it each could miss the other's uncommitted row and the
// event would be kept forever. Unrelated ids that hash alike only wait for
// each other.
func (s *Store) lockGeneration(ctx context.Context, q querier, id string) error {
	if _, err := q.ExecContext(ctx, s.q.lockGeneration, s.lockClass, hash32(id)); err != nil {
		return fmt.Errorf("sqlstore: locking generation %s: %w", id, err)
	}
	return nil
}

// Get returns the job with the given key, or an error wrapping
// jobs.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (jobs.Job, error) {
	if err := s.ready(ctx); err != nil {
		return jobs.Job{}, err
	}
	j, _, err := s.load(ctx, s.db, s.q.getJob, key)
	return j, err
}

// GetByGenerationID returns the job whose current or earlier attempt has
// the given generation id, or an error wrapping jobs.ErrNotFound.
func (s *Store) GetByGenerationID(ctx context.Context, id string) (jobs.Job, error) {
	if err := s.ready(ctx); err != nil {
		return jobs.Job{}, err
	}
	j, found, err := s.loadByGeneration(ctx, s.db, s.q.getJobByGen, id)
	if err == nil && !found {
		err = fmt.Errorf("%w: no job has generation %s", jobs.ErrNotFound, id)
	}
	return j, err
}

// List yields the jobs that match f in the order they were first tracked.
// It reads them a page at a time and holds no connection between pages, so
// the loop body may update the store; a job is yielded at most once, as it
// was when its page was read.
func (s *Store) List(ctx context.Context, f jobs.Filter) iter.Seq2[jobs.Job, error] {
	return func(yield func(jobs.Job, error) bool) {
		if err := s.ready(ctx); err != nil {
			yield(jobs.Job{}, err)
			return
		}
		var after int64
		for {
			page, last, err := s.listPage(ctx, f, after)
			if err != nil {
				yield(jobs.Job{}, err)
				return
			}
			for _, j := range page {
				if !yield(j, nil) {
					return
				}
			}
			if len(page) < listPage {
				return
			}
			after = last
		}
	}
}

func (s *Store) listPage(ctx context.Context, f jobs.Filter, after int64) (jobList []jobs.Job, last int64, err error) {
	stmt, args := s.listQuery(f, after)
	rows, err := s.db.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: List: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&last, &raw); err != nil {
			return nil, 0, fmt.Errorf("sqlstore: List: %w", err)
		}
		j, err := decodeRecord(raw)
		if err != nil {
			return nil, 0, fmt.Errorf("sqlstore: List: row %d: %w", last, err)
		}
		jobList = append(jobList, j)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("sqlstore: List: %w", err)
	}
	return jobList, last, nil
}

// listQuery is the statement of one page of List: the jobs f selects after
// seq, in seq order.
func (s *Store) listQuery(f jobs.Filter, after int64) (string, []any) {
	var qb query
	from := `{prefix}jobs`
	if s.dialect == SQLite && !f.UpdatedSince.IsZero() && len(f.Statuses) > 0 {
		// SQLite's planner reads the seq order (the rowid, or the status
		// index) to spare the sort, whatever the statistics say, and so
		// every job of the statuses; the recent ones are few.
		from += ` INDEXED BY {prefix}jobs_status_updated`
	}
	qb.add(`SELECT seq, record FROM ` + from + ` WHERE seq > `).param(after)
	if len(f.Statuses) > 0 {
		statuses := make([]any, len(f.Statuses))
		for i, st := range f.Statuses {
			statuses[i] = string(st)
		}
		qb.add(` AND status IN (`).list(statuses...).add(`)`)
	}
	if !f.UpdatedBefore.IsZero() {
		qb.add(` AND updated_at < `).param(nanos(f.UpdatedBefore))
	}
	if !f.UpdatedSince.IsZero() {
		qb.add(` AND updated_at >= `).param(nanos(f.UpdatedSince))
	}
	if f.Submitted {
		qb.add(` AND generation_id <> ''`)
	}
	qb.add(` ORDER BY seq LIMIT `).param(listPage)
	return qb.build(s.dialect, s.prefix)
}

// ClaimDeliveries leases up to c.Limit (at most 1000) completed jobs whose
// delivery is due at c.Now (the clock's time when zero), oldest due first;
// see jobs.Store. A lease lasts while a claim's Now is before the claim
// time plus c.Lease. On PostgreSQL, rows another claimer has locked are
// skipped rather than waited for (FOR UPDATE SKIP LOCKED), so concurrent
// claimers in any number of processes each get different jobs without
// queueing behind one another.
func (s *Store) ClaimDeliveries(ctx context.Context, c jobs.Claim) ([]jobs.Job, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("sqlstore: ClaimDeliveries: %w", err)
	}
	if c.Now.IsZero() {
		c.Now = s.now.Now()
	}
	limit := min(c.Limit, maxClaim)
	surfaces := slices.Compact(slices.Sorted(slices.Values(c.TargetSurfaces)))
	var claimed []jobs.Job
	err := s.w.run(ctx, func(ctx context.Context, q querier) error {
		var cands []candidate
		if len(surfaces) == 0 {
			var err error
			if cands, err = s.candidates(ctx, q, c.Now, s.q.claimCandidates, nanos(c.Now), limit); err != nil {
				return err
			}
		}
		// One index range per surface, merged here: an IN list would make
		// the database sort every due job of those surfaces.
		for _, surface := range surfaces {
			more, err := s.candidates(ctx, q, c.Now, s.q.claimSurfaceCandidates, nanos(c.Now), limit, surface)
			if err != nil {
				return err
			}
			cands = append(cands, more...)
		}
		if len(surfaces) > 1 {
			slices.SortFunc(cands, func(a, b candidate) int { return cmp.Or(cmp.Compare(a.nextAt, b.nextAt), cmp.Compare(a.seq, b.seq)) })
			cands = cands[:min(len(cands), limit)]
		}
		claimed = claimed[:0]
		seqs := make([]any, 0, len(cands))
		for _, cd := range cands {
			seqs = append(seqs, cd.seq)
			claimed = append(claimed, cd.job)
		}
		if len(seqs) == 0 {
			return nil
		}
		var qb query
		qb.add(`UPDATE {prefix}jobs SET lease_owner = `).param(c.Owner).
			add(`, lease_until = `).param(nanos(c.Now.Add(c.Lease))).
			add(` WHERE seq IN (`).list(seqs...).add(`)`)
		stmt, args := qb.build(s.dialect, s.prefix)
		if _, err := q.ExecContext(ctx, stmt, args...); err != nil {
			return fmt.Errorf("sqlstore: ClaimDeliveries: leasing: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return claimed, nil
}

// candidate is a job a claim may lease.
type candidate struct {
	seq, nextAt int64
	job         jobs.Job
}

// candidates runs a claim query and returns the rows whose job is due at now.
func (s *Store) candidates(ctx context.Context, q querier, now time.Time, query string, args ...any) ([]candidate, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: ClaimDeliveries: %w", err)
	}
	defer rows.Close()
	var out []candidate
	for rows.Next() {
		var (
			cd  candidate
			raw []byte
		)
		if err := rows.Scan(&cd.seq, &raw, &cd.nextAt); err != nil {
			return nil, fmt.Errorf("sqlstore: ClaimDeliveries: %w", err)
		}
		if cd.job, err = decodeRecord(raw); err != nil {
			return nil, fmt.Errorf("sqlstore: ClaimDeliveries: row %d: %w", cd.seq, err)
		}
		// The columns are copies of the record; the job's own rule decides.
		if cd.job.DeliveryDue(now) {
			out = append(out, cd)
		}
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("sqlstore: ClaimDeliveries: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: ClaimDeliveries: %w", err)
	}
	return out, nil
}

// RecordDelivery records a delivery attempt (see jobs.Job.RecordDelivery)
// and releases the lease. It returns an error wrapping jobs.ErrLeaseLost
// unless r.Owner holds the job's lease; a lease that expired but that no one
// claimed since is still held. r.State must be pending, delivered, failed
// or awaiting_review (a hold for review, which counts no attempt).
func (s *Store) RecordDelivery(ctx context.Context, key string, r jobs.DeliveryResult) (jobs.Job, error) {
	if err := s.ready(ctx); err != nil {
		return jobs.Job{}, err
	}
	if err := r.Validate(); err != nil {
		return jobs.Job{}, fmt.Errorf("sqlstore: RecordDelivery %s: %w", key, err)
	}
	var out jobs.Job
	err := s.w.run(ctx, func(ctx context.Context, q querier) error {
		j, owner, err := s.load(ctx, q, s.q.selectJob, key)
		if err != nil {
			return fmt.Errorf("sqlstore: RecordDelivery: %w", err)
		}
		switch {
		case owner == "":
			return fmt.Errorf("sqlstore: RecordDelivery: %w: job %s is not leased", jobs.ErrLeaseLost, key)
		case owner != r.Owner:
			return fmt.Errorf("sqlstore: RecordDelivery: %w: job %s is leased to %q, not %q", jobs.ErrLeaseLost, key, owner, r.Owner)
		}
		before := indexedOf(&j)
		j.RecordDelivery(r, s.now.Now())
		if err := s.save(ctx, q, before, &j); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, s.q.releaseLease, key, nanos(time.Time{})); err != nil {
			return fmt.Errorf("sqlstore: RecordDelivery %s: releasing the lease: %w", key, err)
		}
		out = j
		return nil
	})
	if err != nil {
		return jobs.Job{}, err
	}
	return roundTrip(out)
}

// load reads one job with query (by key) and its lease owner.
func (s *Store) load(ctx context.Context, q querier, query, key string) (jobs.Job, string, error) {
	var (
		raw   []byte
		owner string
	)
	switch err := q.QueryRowContext(ctx, query, key).Scan(&raw, &owner); {
	case errors.Is(err, sql.ErrNoRows):
		return jobs.Job{}, "", fmt.Errorf("%w: %s", jobs.ErrNotFound, key)
	case err != nil:
		return jobs.Job{}, "", fmt.Errorf("sqlstore: reading job %s: %w", key, err)
	}
	j, err := decodeRecord(raw)
	if err != nil {
		return jobs.Job{}, "", fmt.Errorf("sqlstore: job %s: %w", key, err)
	}
	return j, owner, nil
}

// loadByGeneration reads with queries (getJobByGen or selectJobByGen) the
// job with generation id in its current attempt or, failing that, in an
// earlier one.
func (s *Store) loadByGeneration(ctx context.Context, q querier, queries [2]string, id string) (jobs.Job, bool, error) {
	if id == "" {
		return jobs.Job{}, false, nil // the generation id of every job not yet submitted
	}
	var raw []byte
	var owner string
	err := q.QueryRowContext(ctx, queries[0], id).Scan(&raw, &owner)
	if errors.Is(err, sql.ErrNoRows) {
		err = q.QueryRowContext(ctx, queries[1], id).Scan(&raw, &owner)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return jobs.Job{}, false, nil
	case err != nil:
		return jobs.Job{}, false, fmt.Errorf("sqlstore: finding the job of generation %s: %w", id, err)
	}
	j, err := decodeRecord(raw)
	if err != nil {
		return jobs.Job{}, false, fmt.Errorf("sqlstore: job of generation %s: %w", id, err)
	}
	return j, true, nil
}

// indexed holds the columns of a job's row that indexes cover.
type indexed struct {
	generationID string
	status       jobs.Status
	delivery     jobs.DeliveryState
	nextAt       int64
	surface      string
}

func indexedOf(j *jobs.Job) indexed {
	return indexed{j.GenerationID, j.Status, j.Delivery, nanos(j.DeliveryNextAt), j.TargetSurface}
}

// save writes j back over its row; before is how it was read. The indexed
// columns are written only when they changed: SQLite updates every index
// on a column named in SET, whether or not its value changed, and many
// changes (an unknown provider status, an error text) touch none.
func (s *Store) save(ctx context.Context, q querier, before indexed, j *jobs.Job) error {
	args, err := rowArgs(j)
	if err != nil {
		return err
	}
	query := s.q.updateJob
	if indexedOf(j) == before {
		query = s.q.updateRecord
		args = []any{args[0], args[1], args[6], args[7]}
	}
	if _, err := q.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("sqlstore: writing job %s: %w", j.Key, err)
	}
	replayed := j.SpendDay == "" && (before.status == jobs.StatusFailed || before.status == jobs.StatusSubmitFailed)
	return s.indexSpend(ctx, q, j, replayed)
}

// rowArgs returns the column values of j in the order insertJob and
// updateJob take them.
func rowArgs(j *jobs.Job) ([]any, error) {
	b, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: encoding job %s: %w", j.Key, err)
	}
	return []any{j.Key, j.SKU, j.GenerationID, string(j.Status), string(j.Delivery),
		nanos(j.DeliveryNextAt), nanos(j.UpdatedAt), string(b), j.TargetSurface}, nil
}

func decodeRecord(raw []byte) (jobs.Job, error) {
	var j jobs.Job
	if err := json.Unmarshal(raw, &j); err != nil {
		return jobs.Job{}, fmt.Errorf("decoding the stored record: %w", err)
	}
	return j, nil
}

// roundTrip returns j as reading it back would, so that every method
// returns what a later Get returns (times in the location JSON gives them).
// Methods call it after committing, outside the write lock.
func roundTrip(j jobs.Job) (jobs.Job, error) {
	b, err := json.Marshal(j)
	if err != nil {
		return jobs.Job{}, fmt.Errorf("sqlstore: encoding job %s: %w", j.Key, err)
	}
	return decodeRecord(b)
}

// Times are stored as Unix nanoseconds so that the database compares them
// exactly as time.Time does. Times outside the int64 range (years before
// 1678 or after 2261, the zero time among them) are clamped to its ends.
var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

func nanos(t time.Time) int64 {
	switch {
	case t.Before(minNanoTime):
		return math.MinInt64
	case t.After(maxNanoTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func hash32(s string) int32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return int32(h.Sum32())
}
