package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// decision is an action that changes chosen jobs one by one: replay,
// approve, reject or retry a delivery. A job it does not apply to is
// skipped.
type decision struct {
	// name is the action's path and past its notice's parameter
	// ("approved"), also the key of its JSON answer.
	name, past string
	// skip is the error meaning the job is not in a state for the action.
	skip error
	// apply changes one job; note is the form's note (a rejection's reason).
	apply func(ctx context.Context, s jobs.Store, key, note string) (jobs.Job, error)
	// scope is the form's scope value that chooses every job in the
	// action's state matching the filters ("failed", "awaiting"); empty
	// when none.
	scope string
	// statuses are the statuses of the jobs scope chooses, which List
	// filters on, and in reports whether such a job is in the action's
	// state.
	statuses []jobs.Status
	in       func(j *jobs.Job) bool
}

var (
	// replayDecision replays failed and submit_failed jobs (scope=failed)
	// or chosen ones, rejected ones among them: each becomes queued and not
	// submitted; nothing is sent from the console.
	replayDecision = decision{name: "replay", past: "replayed", skip: jobs.ErrNotReplayable, scope: "failed",
		statuses: []jobs.Status{jobs.StatusFailed, jobs.StatusSubmitFailed}, in: Replayable,
		apply: func(ctx context.Context, s jobs.Store, key, _ string) (jobs.Job, error) { return s.Replay(ctx, key) }}
	approveDecision = decision{name: "approve", past: "approved", skip: jobs.ErrNotAwaitingReview, scope: "awaiting", statuses: completed, in: Reviewable,
		apply: func(ctx context.Context, s jobs.Store, key, note string) (jobs.Job, error) {
			return s.Approve(ctx, key, note)
		}}
	rejectDecision = decision{name: "reject", past: "rejected", skip: jobs.ErrNotAwaitingReview, scope: "awaiting", statuses: completed, in: Reviewable,
		apply: func(ctx context.Context, s jobs.Store, key, note string) (jobs.Job, error) {
			return s.Reject(ctx, key, note)
		}}
	retryDeliveryDecision = decision{name: "retry-delivery", past: "retried", skip: jobs.ErrNotDeliveryFailed, in: DeliveryRetryable,
		apply: func(ctx context.Context, s jobs.Store, key, _ string) (jobs.Job, error) {
			return s.RetryDelivery(ctx, key)
		}}
)

// completed is the status of the jobs awaiting review.
var completed = []jobs.Status{jobs.StatusCompleted}

// decide answers POST /replay, /approve, /reject and /retry-delivery: the
// jobs named by the form's key values, or with the action's scope
// (scope=failed to replay, scope=awaiting to approve or reject) every job
// in its state that matches the form's filters. note is kept with an
// approval and is a rejection's required reason. It redirects back to the
// page it came from, or answers JSON ({"approved":[keys],"skipped":[keys]})
// to a client that accepts it. Jobs not in a state for the action (a job
// no longer failed or awaiting review, say) are skipped.
func (c *console) decide(d decision) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			c.fail(w, r, fmt.Errorf("%w: %v", errBadQuery, err))
			return
		}
		q, err := parseQuery(r.PostForm, c.cfg.PageSize)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		note := strings.TrimSpace(r.PostForm.Get("note"))
		if d.name == "reject" && note == "" {
			c.fail(w, r, fmt.Errorf("%w: a rejection needs a reason: fill in the note", errBadQuery))
			return
		}
		keys := r.PostForm["key"]
		switch scope := r.PostForm.Get("scope"); {
		case d.scope != "" && scope == d.scope:
			// Keys first, changes after: a store may not take writes
			// while a List is open (one SQLite connection).
			if keys, err = keysWhere(r.Context(), c.cfg.Store, q, d.statuses, d.in); err != nil {
				c.fail(w, r, err)
				return
			}
		case len(keys) == 0:
			c.fail(w, r, fmt.Errorf("%w: no job chosen: send key=KEY (repeatable)%s", errBadQuery, map[bool]string{true: " or scope=" + d.scope}[d.scope != ""]))
			return
		}
		done, skipped := []string{}, []string{}
		for _, key := range keys {
			_, err := d.apply(r.Context(), c.cfg.Store, key, note)
			switch {
			case err == nil:
				done = append(done, key)
			case errors.Is(err, d.skip):
				skipped = append(skipped, key)
			default:
				c.changed()
				c.fail(w, r, fmt.Errorf("%s %s (after %d %s): %w", d.name, key, len(done), d.past, err))
				return
			}
		}
		c.changed()
		c.logger.Info("console: "+d.name, d.past, len(done), "skipped", len(skipped))
		if wantsJSON(r) {
			writeJSON(w, http.StatusOK, map[string][]string{d.past: done, "skipped": skipped})
			return
		}
		back := url.Values{d.past: {strconv.Itoa(len(done))}, "skipped": {strconv.Itoa(len(skipped))}}
		if r.PostForm.Get("back") == "job" && len(keys) == 1 {
			back.Set("key", keys[0])
			seeOther(w, "job?"+back.Encode())
			return
		}
		for k, vs := range q.values("") {
			back[k] = vs
		}
		seeOther(w, "./?"+back.Encode())
	}
}

// keysWhere lists the jobs in statuses matching q's other filters that in
// accepts.
func keysWhere(ctx context.Context, store jobs.Store, q query, statuses []jobs.Status, in func(j *jobs.Job) bool) ([]string, error) {
	q.State = ""
	var keys []string
	for job, err := range store.List(ctx, jobs.Filter{Statuses: statuses}) {
		if err != nil {
			return nil, err
		}
		if in(&job) && q.match(&job) {
			keys = append(keys, job.Key)
		}
	}
	return keys, nil
}

// decisionNotice words what an approve, reject or retry-delivery did, from
// the redirect's parameters; empty when none ran.
func decisionNotice(v url.Values) string {
	skipped, _ := strconv.Atoi(v.Get("skipped"))
	for _, d := range []struct{ param, text, skip string }{
		{"approved", "Approved %s: each is due for delivery now.", "no longer awaiting review"},
		{"rejected", "Rejected %s: they will not be published; replay one to render it again.", "no longer awaiting review"},
		{"retried", "Retrying the delivery of %s now, with the attempts counted afresh.", "their delivery had not failed"},
	} {
		n, err := strconv.Atoi(v.Get(d.param))
		if err != nil {
			continue
		}
		msg := fmt.Sprintf(d.text, plural(n, "job"))
		if skipped > 0 {
			msg += fmt.Sprintf(" %s skipped: %s.", plural(skipped, "job"), d.skip)
		}
		return msg
	}
	return ""
}
