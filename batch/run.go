package batch

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/time/rate"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/manifest"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/internal/logx"
)

// Defaults of Config and ReconcileConfig.
const (
	DefaultConcurrency = 4
	// DefaultRate is the default number of API calls per second.
	DefaultRate = 2.0
	// DefaultStillModel renders refreshed stills.
	DefaultStillModel = "gpt-image-1"
)

// Config configures Run.
type Config struct {
	// Client submits the renders. It may be nil for a dry run.
	Client *creativeai.Client
	// Store tracks every row. It may be nil for a dry run; a dry run only
	// reads from it, to tell which rows are already tracked.
	Store Store

	// Concurrency bounds the rows in flight at once (default 4).
	Concurrency int
	// Rate bounds the API calls per second (default 2); a row with a
	// still_prompt makes two calls. math.Inf(1) turns the limit off.
	Rate float64
	// Burst is how many calls may go out at once after an idle spell
	// (default 1).
	Burst int

	// Model, Duration and AspectRatio apply to rows that leave them empty
	// (defaults kling-v3, 5s, 16:9). They are part of each row's key, so
	// changing one renders the affected rows again.
	Model       string
	Duration    creativeai.Duration
	AspectRatio string
	// StillModel and StillSize configure refreshed stills (defaults
	// gpt-image-1 and the service's default size).
	StillModel string
	StillSize  string
	// WebhookURL receives render events. Leave it empty to poll instead
	// (see Reconcile). It is part of the request an Idempotency-Key stands
	// for: keep it when rerunning after a crash. If it changed, a row that
	// was in flight is refused as a key conflict and becomes submit_failed;
	// RetryFailed then renders it anew under a new key.
	WebhookURL string

	// RetryFailed replays rows that ended submit_failed and renders that
	// failed. Without it such rows are skipped (but see TransientRetry).
	RetryFailed bool
	// RetryClasses narrows RetryFailed to jobs whose failure is of these
	// classes (see jobs.FailureClass); empty means every class.
	RetryClasses []jobs.FailureClass
	// TransientRetry replays renders that failed for a transient reason
	// without RetryFailed, up to a number of attempts and after a backoff.
	// The zero value retries nothing automatically.
	TransientRetry TransientRetry
	// PolicyBreaker stops submitting when moderation refusals spike; it is
	// on by default (see PolicyBreaker for its defaults).
	PolicyBreaker PolicyBreaker
	// Budget caps the spending of the run and of each calendar day; a row
	// over a cap is held back (OutcomeHeld). The zero Budget caps nothing.
	Budget Budget
	// DryRun validates the rows and estimates the cost; nothing is sent and
	// nothing is written.
	DryRun bool
	// Pricing estimates costs (default creativeai.DefaultPricing).
	Pricing creativeai.Pricing
	// Preflight, if set, checks rows in batches of PreflightBatch before
	// they are submitted. A row it refuses is not submitted and reserves
	// nothing: it ends submit_failed (failure class input) with an error
	// starting "preflight: ", and RetryFailed checks it again. When the
	// check itself fails, Run starts no new row and returns the error.
	// Dry runs skip it.
	Preflight Preflighter

	// Progress, if set, is called once per finished row. Calls are
	// serialized; a slow callback slows the run.
	Progress func(Progress)
	// Logger receives a line per row at debug level and problems at warn
	// level (default: discard).
	Logger *slog.Logger
	// Clock times the summary and stamps the jobs Run creates (CreatedAt
	// and UpdatedAt); pass the store's clock so that a job's times all come
	// from one clock (default jobs.WallClock).
	Clock jobs.Clock
}

// Outcome is what Run did with one row.
type Outcome string

// The outcomes of a row.
const (
	// OutcomeSubmitted: the service accepted the row's render.
	OutcomeSubmitted Outcome = "submitted"
	// OutcomeReplayed: a submit_failed or failed row was submitted again
	// (Config.RetryFailed).
	OutcomeReplayed Outcome = "replayed"
	// OutcomeSkipped: the row was already tracked; nothing was sent.
	OutcomeSkipped Outcome = "skipped"
	// OutcomeSubmitFailed: the submission failed for good; the row is
	// tracked as submit_failed with the error.
	OutcomeSubmitFailed Outcome = "submit_failed"
	// OutcomeInvalid: the row has a problem (see RowResult.Error) and was
	// not sent.
	OutcomeInvalid Outcome = "invalid"
	// OutcomeInterrupted: the run stopped before the row's submission was
	// answered: ctx ended, or the rate limit left no call before ctx's
	// deadline. RowResult.Error says what stopped it. The row is either
	// untracked or tracked as pending without a generation (with the
	// refreshed still already rendered for it, if any); the next run submits
	// it with the same Idempotency-Key and reuses that still.
	OutcomeInterrupted Outcome = "interrupted"
	// OutcomePlanned: a dry run would submit the row.
	OutcomePlanned Outcome = "planned"
	// OutcomeHeld: a budget cap held the row back (RowResult.Error says
	// which). The row is tracked, pending and unsubmitted, and a later run
	// submits it; in a dry run, the caps would hold it back.
	OutcomeHeld Outcome = "held"
)

// Counts tallies rows by outcome.
type Counts struct {
	Submitted    int
	Replayed     int
	Skipped      int
	SubmitFailed int
	Invalid      int
	Interrupted  int
	Planned      int
	Held         int
}

// Total returns the number of rows counted.
func (c Counts) Total() int {
	return c.Submitted + c.Replayed + c.Skipped + c.SubmitFailed + c.Invalid + c.Interrupted + c.Planned + c.Held
}

func (c *Counts) add(o Outcome) {
	switch o {
	case OutcomeSubmitted:
		c.Submitted++
	case OutcomeReplayed:
		c.Replayed++
	case OutcomeSkipped:
		c.Skipped++
	case OutcomeSubmitFailed:
		c.SubmitFailed++
	case OutcomeInvalid:
		c.Invalid++
	case OutcomeInterrupted:
		c.Interrupted++
	case OutcomePlanned:
		c.Planned++
	case OutcomeHeld:
		c.Held++
	}
}

// RowResult is what happened to one row.
type RowResult struct {
	// Line is the row's manifest line, zero when unknown.
	Line int
	SKU  string
	// Key is the row's key (see RowKey); empty for invalid rows.
	Key     string
	Outcome Outcome
	// Status is the job's status after the run; empty when not tracked.
	Status       jobs.Status
	GenerationID string
	// Cost is what this run is estimated to have spent on the row: a clip
	// the service accepted, plus a still when this run rendered one (a still
	// is paid for even when the clip is then refused or interrupted; a still
	// an earlier run rendered is reused and not counted again).
	Cost creativeai.Cents
	// Error says why the row is invalid, failed, or was interrupted.
	Error string
}

// Progress reports a finished row and the counts so far.
type Progress struct {
	Row    RowResult
	Counts Counts
}

// Summary is the outcome of a Run.
type Summary struct {
	Counts
	// Rows holds one result per input row, in input order.
	Rows []RowResult
	// EstimatedCost is the sum of the rows' costs.
	EstimatedCost creativeai.Cents
	Elapsed       time.Duration
	DryRun        bool
	// Spend is what the run reserved against Config.Budget, and the day's
	// total in the store.
	Spend SpendSummary
	// Stopped says why the run stopped submitting early, such as a spike of
	// moderation refusals (see PolicyBreaker); empty when it did not.
	Stopped string
}

// WriteTo prints the summary as a table, one line per row, followed by the
// totals.
func (s *Summary) WriteTo(w io.Writer) (int64, error) {
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LINE\tSKU\tOUTCOME\tSTATUS\tGENERATION\tCOST\tERROR")
	for _, r := range s.Rows {
		line := "-"
		if r.Line > 0 {
			line = fmt.Sprint(r.Line)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", line, cmp.Or(r.SKU, "-"), r.Outcome,
			cmp.Or(string(r.Status), "-"), cmp.Or(r.GenerationID, "-"), r.Cost, oneLine(r.Error))
	}
	_ = tw.Flush() // writes to a bytes.Buffer cannot fail
	var out bytes.Buffer
	for line := range bytes.Lines(table.Bytes()) {
		// tabwriter pads an empty last cell; drop the trailing spaces.
		out.Write(bytes.TrimRight(line, " \n"))
		out.WriteByte('\n')
	}
	verb := "estimated cost"
	if s.DryRun {
		verb = "dry run, estimated cost"
	}
	fmt.Fprintf(&out, "%d rows: %s; %s %s; elapsed %s\n", s.Total(), s.countsText(), verb,
		s.EstimatedCost, s.Elapsed.Round(time.Millisecond))
	if s.Spend.Budget.PerRun > 0 || s.Spend.Budget.PerDay > 0 || s.Held > 0 {
		fmt.Fprintln(&out, s.Spend.String())
	}
	if s.Stopped != "" {
		fmt.Fprintln(&out, "stopped: "+s.Stopped)
	}
	return out.WriteTo(w)
}

func (s *Summary) countsText() string {
	parts := []string{}
	for _, p := range []struct {
		name string
		n    int
	}{
		{"submitted", s.Submitted}, {"replayed", s.Replayed}, {"planned", s.Planned},
		{"skipped", s.Skipped}, {"submit_failed", s.SubmitFailed}, {"invalid", s.Invalid},
		{"interrupted", s.Interrupted}, {"held by budget", s.Held},
	} {
		if p.n > 0 || p.name == "submitted" && !s.DryRun || p.name == "planned" && s.DryRun {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.name))
		}
	}
	return strings.Join(parts, ", ")
}

// String returns the table WriteTo prints.
func (s *Summary) String() string {
	var b strings.Builder
	_, _ = s.WriteTo(&b)
	return b.String()
}

func oneLine(s string) string {
	if s == "" {
		return ""
	}
	return strings.Join(strings.Fields(s), " ")
}

// Run submits the rows to the render service and tracks each in cfg.Store.
//
// Every row is recorded in the store before its API call, and the
// Idempotency-Key sent is derived from the row's key, so after a crash at any
// point a rerun of the same manifest never renders a row twice and never
// leaves a render untracked:
//
//   - a row not yet tracked is tracked as pending and submitted;
//   - a pending row without a generation id was in flight when an earlier run
//     stopped; it is submitted again with the same key, and the service
//     answers with the render it already has, if any;
//   - a submitted or completed row is skipped;
//   - a submit_failed row or failed render is replayed only with
//     cfg.RetryFailed, keeping its earlier generation ids (see Job.Replay).
//
// Job files written by the original workflow key their lines by SKU. A row
// whose key is not tracked but whose SKU is such a job's key counts as
// tracked and is skipped (replayed as a new job, when it failed and
// cfg.RetryFailed is set).
//
// A submission that fails after the client's retries, or with a permanent
// error, makes its row submit_failed and the other rows go on. Row errors
// from the input (a *RowError) and rows that fail Row.Validate or repeat an
// earlier row are counted as invalid and never sent; any other error from
// rows stops the run.
//
// With cfg.Preflight, rows are checked in batches before they are
// submitted, and a row it refuses becomes submit_failed with nothing sent or
// reserved (see Config.Preflight).
//
// A row's refreshed still is recorded on its job as soon as it is rendered,
// before the clip is sent, so a still paid for is never lost: a rerun that
// resubmits the row reuses it.
//
// When ctx ends, Run starts no new row, records the outcome of every
// submission the service already answered, and returns ctx.Err() with the
// summary so far. Rows not yet read are left out of the summary; rows in
// flight are OutcomeInterrupted, with what stopped them in RowResult.Error.
// The rate limiter refuses a call whose turn would come after ctx's deadline
// at once, before ctx ends: Run then also starts no new row, lets the rows
// whose calls fit before the deadline go on, and returns an error wrapping
// context.DeadlineExceeded. A store failure also stops the run and is
// returned.
func Run(ctx context.Context, cfg Config, rows iter.Seq2[manifest.Row, error]) (*Summary, error) {
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	return r.run(ctx, rows)
}

type runner struct {
	cfg      Config
	defaults manifest.Defaults
	limiter  *rate.Limiter
	log      *slog.Logger

	spend    *spender
	refusals *refusalWindow

	mu     sync.Mutex
	sum    Summary
	judged time.Time // when the policy breaker last judged
}

func newRunner(cfg Config) (*runner, error) {
	if cfg.Client == nil && !cfg.DryRun {
		return nil, errors.New("batch: Config.Client is nil")
	}
	if cfg.Store == nil && !cfg.DryRun {
		return nil, errors.New("batch: Config.Store is nil")
	}
	if cfg.Concurrency < 0 {
		return nil, fmt.Errorf("batch: Config.Concurrency is %d; want 0 (default %d) or more", cfg.Concurrency, DefaultConcurrency)
	}
	if cfg.Duration < 0 {
		return nil, fmt.Errorf("batch: Config.Duration is %s; want a positive duration", cfg.Duration)
	}
	if cfg.AspectRatio != "" {
		if err := manifest.CheckAspectRatio(cfg.AspectRatio); err != nil {
			return nil, fmt.Errorf("batch: Config.AspectRatio: %w", err)
		}
	}
	lim, err := newLimiter("Config", cfg.Rate, cfg.Burst)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(cfg.Budget.validate(), cfg.TransientRetry.validate(), cfg.PolicyBreaker.validate()); err != nil {
		return nil, err
	}
	for _, c := range cfg.RetryClasses {
		if !c.Known() {
			return nil, fmt.Errorf("batch: Config.RetryClasses: unknown failure class %q (want transient, input or policy)", c)
		}
	}
	cfg.Concurrency = cmp.Or(cfg.Concurrency, DefaultConcurrency)
	cfg.Clock = jobs.OrWall(cfg.Clock)
	cfg.StillModel = cmp.Or(cfg.StillModel, DefaultStillModel)
	if cfg.Pricing == (creativeai.Pricing{}) {
		cfg.Pricing = creativeai.DefaultPricing()
	}
	return &runner{
		cfg:      cfg,
		defaults: manifest.Defaults{Model: cfg.Model, Duration: cfg.Duration, AspectRatio: cfg.AspectRatio},
		limiter:  lim,
		log:      logx.OrDiscard(cfg.Logger),
		sum:      Summary{DryRun: cfg.DryRun},
		spend:    &spender{budget: cfg.Budget, pricing: cfg.Pricing, clock: cfg.Clock, store: cfg.Store, dry: cfg.DryRun},
		refusals: newRefusalWindow(cfg.PolicyBreaker, cfg.Store, cfg.Budget.Location),
	}, nil
}

// newLimiter builds the API call limiter shared by Run and Reconcile.
func newLimiter(owner string, perSecond float64, burst int) (*rate.Limiter, error) {
	switch {
	case math.IsNaN(perSecond) || perSecond < 0:
		return nil, fmt.Errorf("batch: %s.Rate is %v; want 0 (default %v per second), a positive rate, or math.Inf(1)", owner, perSecond, DefaultRate)
	case burst < 0:
		return nil, fmt.Errorf("batch: %s.Burst is %d; want 0 (default 1) or more", owner, burst)
	}
	limit := rate.Limit(cmp.Or(perSecond, DefaultRate))
	if math.IsInf(perSecond, 1) {
		limit = rate.Inf
	}
	return rate.NewLimiter(limit, cmp.Or(burst, 1)), nil
}

// task is one valid row on its way to a worker.
type task struct {
	i   int          // index of the row's result in the summary
	row manifest.Row // with defaults applied
	key string
	// preflight is why Config.Preflight refused the row; empty when it
	// passed or was not checked.
	preflight string
}

func (r *runner) run(parent context.Context, rows iter.Seq2[manifest.Row, error]) (*Summary, error) {
	start := r.cfg.Clock.Now()
	// ctx ends every call when the store fails; admit only stops new rows
	// from starting, when the rate limit leaves no call before the
	// deadline, so that the rows whose calls still fit go on.
	ctx, stop := context.WithCancelCause(parent)
	defer stop(nil)
	admit, halt := context.WithCancelCause(ctx)
	defer halt(nil)
	if r.cfg.DryRun {
		if err := r.spend.seedDryRun(ctx); err != nil {
			return &r.sum, err
		}
	} else {
		r.judged = start
		if err := r.refusals.judge(ctx, start); err != nil {
			halt(err)
		}
	}

	work := make(chan task)
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Go(func() {
			for t := range work {
				res, err := r.handle(ctx, admit, t)
				var h *haltError
				switch {
				case errors.As(err, &h):
					halt(h.err)
				case err != nil:
					stop(err)
				}
				r.finish(t.i, res)
			}
		})
	}

	// seen finds rows that resolve to the same key, which the manifest
	// reader cannot see because it does not know the defaults.
	seen := make(manifest.DigestSet)
	var srcErr error
	seq := 0
	var checking []task // rows waiting for Config.Preflight
	preflight := r.cfg.Preflight != nil && !r.cfg.DryRun
feed:
	for row, err := range rows {
		if admit.Err() != nil {
			break
		}
		seq++
		var re *manifest.RowError
		if err != nil && !errors.As(err, &re) {
			srcErr = err
			break
		}
		i := r.reserve()
		if err != nil {
			r.finish(i, RowResult{Line: re.Line, SKU: re.SKU, Outcome: OutcomeInvalid, Error: err.Error()})
			continue
		}
		if err := row.Validate(); err != nil {
			r.finish(i, RowResult{Line: row.Line, SKU: row.SKU, Outcome: OutcomeInvalid, Error: err.Error()})
			continue
		}
		resolved := r.defaults.Apply(row)
		digest := resolved.Digest()
		if first, dup := seen.Add(digest, cmp.Or(row.Line, seq)); dup {
			what := "line"
			if row.Line == 0 {
				what = "row" // rows without lines are numbered by position
			}
			re := &manifest.RowError{File: row.File, Line: row.Line, SKU: row.SKU,
				Err: fmt.Errorf("duplicates %s %d (same sku and render inputs after defaults)", what, first)}
			r.finish(i, RowResult{Line: row.Line, SKU: row.SKU, Outcome: OutcomeInvalid, Error: re.Error()})
			continue
		}
		t := task{i: i, row: resolved, key: manifest.Key(row.SKU, digest)}
		if preflight {
			if checking = append(checking, t); len(checking) == PreflightBatch {
				if !r.dispatchChecked(ctx, admit, halt, work, checking) {
					checking = nil
					break feed
				}
				checking = checking[:0]
			}
			continue
		}
		select {
		case work <- t:
		case <-admit.Done():
			// Like the rows not yet read, the row is left out of the summary.
			r.unreserve(i)
			break feed
		}
	}
	if len(checking) > 0 {
		r.dispatchChecked(ctx, admit, halt, work, checking)
	}
	close(work)
	wg.Wait()

	r.mu.Lock()
	defer r.mu.Unlock()
	sum := &r.sum
	sum.Elapsed = r.cfg.Clock.Now().Sub(start)
	sum.Spend = r.spend.summary()
	if cause := context.Cause(admit); errors.Is(cause, ErrPolicySpike) {
		sum.Stopped = cause.Error()
	}
	switch {
	case parent.Err() != nil:
		return sum, parent.Err()
	case context.Cause(admit) != nil: // a store failure, or no call left before the deadline
		return sum, context.Cause(admit)
	case srcErr != nil:
		return sum, fmt.Errorf("batch: reading rows: %w", srcErr)
	}
	return sum, nil
}

// reserve makes room in the summary for the next row's result and returns
// its index. Rows thus keep their input order however the workers finish,
// without a sort or a position kept in every result.
func (r *runner) reserve() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum.Rows = append(r.sum.Rows, RowResult{})
	return len(r.sum.Rows) - 1
}

// unreserve gives back the room reserve last made, at index i.
func (r *runner) unreserve(i int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum.Rows = r.sum.Rows[:i]
}

// finish records the result of the row reserved at index i and reports
// progress.
func (r *runner) finish(i int, res RowResult) {
	// The SKU is a substring of its whole manifest line, which the summary
	// must not keep alive. A row's key starts with its SKU, so the SKU can
	// share the key's bytes; only a row without a key needs a copy.
	if strings.HasPrefix(res.Key, res.SKU) {
		res.SKU = res.Key[:len(res.SKU)]
	} else {
		res.SKU = strings.Clone(res.SKU)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum.Rows[i] = res
	r.sum.add(res.Outcome)
	r.sum.EstimatedCost += res.Cost
	if r.cfg.Progress != nil {
		r.cfg.Progress(Progress{Row: res, Counts: r.sum.Counts})
	}
	level := slog.LevelDebug
	if res.Error != "" {
		level = slog.LevelWarn
	}
	r.log.Log(context.Background(), level, "batch: row", "line", res.Line, "sku", res.SKU, "key", res.Key,
		"outcome", res.Outcome, "status", res.Status, "generation_id", res.GenerationID, "error", res.Error)
}

// action is what a row needs, decided from its tracked job.
type action int

const (
	actSubmit   action = iota // new row: track, then submit
	actResubmit               // tracked, pending, never answered: submit with the same key
	actReplay                 // submit_failed or failed, and RetryFailed
	actSkip
)

// decide picks the action for a row whose job is job (nil when untracked).
func (r *runner) decide(job *Job) action {
	switch {
	case job == nil:
		return actSubmit
	case job.Status == jobs.StatusSubmitFailed || job.Status == jobs.StatusFailed:
		if r.cfg.RetryFailed && (len(r.cfg.RetryClasses) == 0 || slices.Contains(r.cfg.RetryClasses, failureClass(job))) {
			return actReplay
		}
		if at, ok := r.cfg.TransientRetry.due(job); ok && !r.cfg.Clock.Now().Before(at) {
			return actReplay
		}
		return actSkip
	case job.Status == jobs.StatusPending && !job.Submitted():
		return actResubmit
	default:
		return actSkip
	}
}

// lookup returns the job tracking t and the action it needs. A job keyed by
// the row's SKU alone comes from a job file of the original workflow and
// stands for the row (see Run).
func (r *runner) lookup(ctx context.Context, t task) (*Job, action, error) {
	job, err := r.cfg.Store.Get(ctx, t.key)
	if err == nil {
		return &job, r.decide(&job), nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, actSkip, storeError("get", t.key, err)
	}
	legacy, err := r.cfg.Store.Get(ctx, t.row.SKU)
	switch {
	case errors.Is(err, ErrNotFound) || err == nil && legacy.Key != t.row.SKU:
		return nil, actSubmit, nil
	case err != nil:
		return nil, actSkip, storeError("get", t.row.SKU, err)
	}
	if r.decide(&legacy) == actReplay {
		// The legacy job has no render inputs to replay; the row becomes a
		// job of its own and the legacy line stays as the earlier record.
		r.log.Info("batch: replaying a failed legacy job as a new job", "sku", t.row.SKU, "key", t.key, "legacy_status", legacy.Status)
		return nil, actSubmit, nil
	}
	r.log.Info("batch: row tracked by a legacy job keyed by SKU; skipping", "sku", t.row.SKU, "key", t.key, "status", legacy.Status)
	return &legacy, actSkip, nil
}

func storeError(op, key string, err error) error {
	return fmt.Errorf("batch: store %s %s: %w", op, key, err)
}

// handle takes one row through lookup, tracking and submission. It returns a
// non-nil error only when the run must stop: a store failure, which ends
// every call, or a *haltError, after which no new row starts (admit ends).
func (r *runner) handle(ctx, admit context.Context, t task) (RowResult, error) {
	res := RowResult{Line: t.row.Line, SKU: t.row.SKU, Key: t.key}
	if cause := context.Cause(admit); cause != nil {
		res.Outcome, res.Error = OutcomeInterrupted, "not started: "+cause.Error()
		return res, nil
	}
	// A dry run may have no store; with one, it skips what a real run would.
	var (
		job *Job
		act = actSubmit
	)
	if r.cfg.Store != nil {
		var err error
		if job, act, err = r.lookup(ctx, t); err != nil {
			res.Outcome, res.Error = OutcomeInterrupted, err.Error()
			return res, err
		}
		if act == actSkip {
			return skipped(res, job), nil
		}
	}
	if r.cfg.DryRun {
		cost := priceOf(r.cfg.Pricing, t.row.StillPrompt != "")
		if _, err := r.spend.reserve(ctx, Job{}, cost); err != nil {
			res.Outcome, res.Error = OutcomeHeld, err.Error()
			return res, nil
		}
		res.Outcome = OutcomePlanned
		res.Cost = cost.cents
		return res, nil
	}
	outcome := OutcomeSubmitted
	switch act {
	case actSubmit:
		newJob := r.newJob(t)
		if t.preflight == "" {
			r.spend.prefill(&newJob, costPerSKU(r.cfg.Pricing, newJob.StillPrompt != ""))
		}
		stored, created, err := r.cfg.Store.Track(ctx, newJob)
		if err != nil {
			res.Outcome, res.Error = OutcomeInterrupted, err.Error()
			return res, storeError("track", t.key, err)
		}
		if !created {
			// Another process tracked the row since the lookup.
			if act = r.decide(&stored); act == actSkip {
				return skipped(res, &stored), nil
			}
		}
		job = &stored
	}
	// A still the job already has was rendered for this attempt by a run
	// that stopped before the clip was answered: it is paid for, and the
	// clip that run may have sent was made from it. Only a failed render's
	// replay, a new attempt, renders anew.
	reuseStill := true
	if act == actReplay {
		replayed, err := r.cfg.Store.Replay(ctx, t.key)
		if errors.Is(err, ErrNotReplayable) {
			return skipped(res, job), nil
		}
		if err != nil {
			res.Outcome, res.Error = OutcomeInterrupted, err.Error()
			return res, storeError("replay", t.key, err)
		}
		reuseStill = replayed.Attempt == job.Attempt
		job, outcome = &replayed, OutcomeReplayed
	}
	if t.preflight != "" {
		// Nothing was reserved or sent: the row fails before both.
		return r.record(ctx, *job, Submission{Error: t.preflight, Class: jobs.FailureInput}, outcome, res)
	}
	if err := r.judgeRefusals(ctx); err != nil {
		res.Outcome, res.Error, res.Status = OutcomeInterrupted, "not submitted: "+err.Error(), job.Status
		return res, &haltError{err}
	}
	cost := rowCost(r.cfg.Pricing, job, reuseStill)
	reserved, err := r.spend.reserve(ctx, *job, cost)
	switch {
	case errors.Is(err, ErrBudget):
		res.Outcome, res.Error, res.Status = OutcomeHeld, err.Error(), job.Status
		return res, nil
	case errors.Is(err, jobs.ErrNotReservable):
		// Another run on the store (a second submit on the job file)
		// submitted this attempt since the lookup: the row is tracked.
		if cur, gerr := r.cfg.Store.Get(ctx, t.key); gerr == nil {
			job = &cur
		}
		return skipped(res, job), nil
	case err != nil:
		res.Outcome, res.Error = OutcomeInterrupted, err.Error()
		return res, err
	}
	cost = recordedPrice(&reserved) // a reservation kept from an interrupted run may be at other prices
	if err := waitToken(ctx, r.limiter); err != nil {
		r.spend.release(cost, 0, false) // nothing was sent; the store keeps the reservation for the rerun
		res.Outcome, res.Error, res.Status = OutcomeInterrupted, "not submitted: "+err.Error(), job.Status
		return res, haltOnly(err)
	}
	res, err = r.submit(ctx, reserved, outcome, reuseStill, res)
	if res.Outcome == OutcomeSubmitFailed {
		// No render was made: the run's cap gets back all but a still
		// that was rendered and paid for.
		r.spend.release(cost, res.Cost, true)
	}
	return res, err
}

// judgeRefusals runs the policy breaker again once its interval has passed
// since it last did.
func (r *runner) judgeRefusals(ctx context.Context) error {
	if r.cfg.PolicyBreaker.Window < 0 {
		return nil
	}
	now := r.cfg.Clock.Now()
	r.mu.Lock()
	due := now.Sub(r.judged) >= cmp.Or(r.cfg.PolicyBreaker.Interval, DefaultBreakerInterval)
	if due {
		r.judged = now
	}
	r.mu.Unlock()
	if !due {
		return nil
	}
	return r.refusals.judge(ctx, now)
}

// haltError says that the run must start no new row, while the rows already
// in flight go on: the rate limit leaves no call before the deadline.
type haltError struct{ err error }

func (e *haltError) Error() string { return e.err.Error() }
func (e *haltError) Unwrap() error { return e.err }

// haltOnly returns err if it is a *haltError and nil otherwise: the other
// errors of a wait mean that ctx has ended, which stops the run anyway.
func haltOnly(err error) error {
	if h := (*haltError)(nil); errors.As(err, &h) {
		return err
	}
	return nil
}

// waitToken takes lim's token for one API call. It returns why there is
// none: ctx's cause when ctx has ended, and otherwise a *haltError.
// rate.Limiter.Wait refuses at once, with an error of its own, when the
// token would come after ctx's deadline, while ctx is still live; the
// *haltError then wraps context.DeadlineExceeded and that error.
func waitToken(ctx context.Context, lim *rate.Limiter) error {
	err := lim.Wait(ctx)
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	if _, ok := ctx.Deadline(); ok {
		return &haltError{fmt.Errorf("batch: the rate limit (%g calls per second) allows no further call before the deadline: %w (%w)",
			float64(lim.Limit()), context.DeadlineExceeded, err)}
	}
	return &haltError{fmt.Errorf("batch: waiting for the rate limit: %w", err)}
}

func skipped(res RowResult, job *Job) RowResult {
	res.Outcome = OutcomeSkipped
	res.Key = job.Key
	res.Status = job.Status
	res.GenerationID = job.GenerationID
	return res
}

func (r *runner) newJob(t task) Job {
	now := r.cfg.Clock.Now()
	j := Job{
		Key:           t.key,
		SKU:           t.row.SKU,
		Collection:    t.row.Collection,
		TargetSurface: t.row.TargetSurface,
		Status:        jobs.StatusPending,
		ImageURL:      t.row.ImageURL,
		VideoPrompt:   t.row.VideoPrompt,
		StillPrompt:   t.row.StillPrompt,
		Model:         t.row.Model,
		Duration:      t.row.Duration,
		AspectRatio:   t.row.AspectRatio,
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	j.Template, j.TemplateVersion = t.row.Template, t.row.TemplateVersion
	return j
}

// submit makes the API calls of the job's current attempt, the optional
// still and then the clip, and records the answer. A failure the service
// answered, or one that outlasted the client's retries, makes the job
// submit_failed. When the calls stop before an answer (ctx ended, or no
// token before the deadline), the row is interrupted and its job stays in
// doubt, pending without a generation, for a rerun to submit again.
func (r *runner) submit(ctx context.Context, job Job, outcome Outcome, reuseStill bool, res RowResult) (RowResult, error) {
	res.Status = job.Status
	imageURL := job.ImageURL
	var sub Submission
	if job.StillPrompt != "" {
		if reuseStill && job.StillURL != "" {
			imageURL = job.StillURL
		} else {
			still, err := r.refreshStill(ctx, job)
			if err != nil {
				if cause := r.interrupted(ctx, err); cause != nil {
					res.Outcome, res.Error = OutcomeInterrupted, "still not answered: "+cause.Error()
					return res, nil
				}
				return r.record(ctx, job, Submission{Error: "refreshing still: " + err.Error()}, outcome, res)
			}
			// The still is paid for: keep it on the job before anything
			// can stop the row, so that no rerun pays for it again.
			if _, err := r.cfg.Store.RecordSubmission(context.WithoutCancel(ctx), job.Key, Submission{StillURL: still}); err != nil {
				res.Outcome, res.Error = OutcomeInterrupted, err.Error()
				return res, storeError("record still", job.Key, err)
			}
			res.Cost += job.StillCents // as reserved, at the prices of the reservation
			imageURL = still
			// The clip is a second API call and waits for its own token.
			if err := waitToken(ctx, r.limiter); err != nil {
				res.Outcome, res.Error = OutcomeInterrupted, "still rendered and kept; clip not submitted: "+err.Error()
				return res, haltOnly(err)
			}
		}
		sub.StillURL = imageURL
	}
	req := &creativeai.VideoRequest{
		Model:       job.Model,
		Prompt:      job.VideoPrompt,
		ImageURL:    imageURL,
		Duration:    job.Duration,
		AspectRatio: job.AspectRatio,
		WebhookURL:  r.cfg.WebhookURL,
	}
	gen, _, err := r.cfg.Client.Videos.Create(ctx, req, creativeai.WithIdempotencyKey(job.IdempotencyKey()))
	switch {
	case err != nil:
		if cause := r.interrupted(ctx, err); cause != nil {
			res.Outcome, res.Error = OutcomeInterrupted, "submission not answered: "+cause.Error()
			return res, nil
		}
		sub.Error = err.Error()
		sub.Class = jobs.ClassifySubmitError(err)
		if creativeai.IsIdempotencyConflict(err) {
			sub.KeyConflict = true
			sub.Error += " (an interrupted earlier run sent this row with other settings, such as another webhook URL;" +
				" rerun with those settings to pick up its render, or with RetryFailed to render it anew)"
		}
	case gen == nil || gen.ID == "":
		sub.Error = "the service accepted the render but sent no generation id"
	default:
		sub.Generation = gen
	}
	return r.record(ctx, job, sub, outcome, res)
}

// record stores the answer to the job's submission.
func (r *runner) record(ctx context.Context, job Job, sub Submission, outcome Outcome, res RowResult) (RowResult, error) {
	// The service has answered: record it even if ctx has just ended, or a
	// render would exist that only a rerun's idempotent replay finds.
	stored, err := r.cfg.Store.RecordSubmission(context.WithoutCancel(ctx), job.Key, sub)
	if err != nil {
		res.Outcome, res.Error = OutcomeInterrupted, err.Error()
		return res, storeError("record submission", job.Key, err)
	}
	res.Status, res.GenerationID = stored.Status, stored.GenerationID
	if sub.Generation == nil {
		res.Outcome, res.Error = OutcomeSubmitFailed, sub.Error
		return res, nil
	}
	res.Outcome = outcome
	res.Cost += job.PriceCents - job.StillCents // the clip's part of the reservation
	return res, nil
}

// interrupted reports the cause when err came from ctx ending rather than
// from an answer of the service. A permanent error the service sent is an
// answer even if ctx ended meanwhile.
func (r *runner) interrupted(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return nil
	}
	var apiErr *creativeai.APIError
	if errors.As(err, &apiErr) && !creativeai.IsRetryable(err) {
		return nil
	}
	return context.Cause(ctx)
}

// refreshStill renders the refreshed still the clip starts from, anchored on
// the hero image.
func (r *runner) refreshStill(ctx context.Context, job Job) (string, error) {
	req := &creativeai.ImageRequest{
		Model:    r.cfg.StillModel,
		Prompt:   job.StillPrompt,
		Size:     r.cfg.StillSize,
		N:        1,
		ImageURL: job.ImageURL,
	}
	res, _, err := r.cfg.Client.Images.Create(ctx, req, creativeai.WithIdempotencyKey(job.StillIdempotencyKey()))
	if err != nil {
		return "", err
	}
	if len(res.Data) == 0 || res.Data[0].URL == "" {
		return "", errors.New("the service returned no image")
	}
	return res.Data[0].URL, nil
}

// costPerSKU returns what one row costs: one clip, plus one refreshed still
// when the row asks for one.
func costPerSKU(p creativeai.Pricing, withStill bool) creativeai.Cents {
	if withStill {
		return p.Total(1, 1)
	}
	return p.Total(1, 0)
}
