package console

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// Page sizes of the table.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// maxChoices bounds the collections and surfaces offered as filter choices;
// a catalog with more is filtered by typing (the JSON API takes any value).
const maxChoices = 200

// query is the table's filter and position, read from a request's URL.
type query struct {
	State      State
	Collection string
	Surface    string
	SKU        string // case-insensitive substring of the SKU
	After      string // key of the last job of the previous page
	Limit      int
}

// errBadQuery marks a query parameter the console cannot use.
var errBadQuery = errors.New("bad query")

// parseQuery reads the table's query parameters: state, collection,
// surface, sku, after and limit.
func parseQuery(v url.Values, pageSize int) (query, error) {
	q := query{
		Collection: strings.TrimSpace(v.Get("collection")),
		Surface:    strings.TrimSpace(v.Get("surface")),
		SKU:        strings.TrimSpace(v.Get("sku")),
		After:      v.Get("after"),
		Limit:      pageSize,
	}
	if s := v.Get("state"); s != "" {
		st, ok := ParseState(s)
		if !ok {
			return q, fmt.Errorf("%w: state %q: want one of %v", errBadQuery, s, States())
		}
		q.State = st
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			return q, fmt.Errorf("%w: limit %q: want 1 to %d", errBadQuery, s, MaxPageSize)
		}
		q.Limit = n
	}
	return q, nil
}

// values is q as URL parameters, without the position; setting after moves
// to another page.
func (q query) values(after string) url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"state": string(q.State), "collection": q.Collection,
		"surface": q.Surface, "sku": q.SKU, "after": after} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// filter is the part of q the store applies.
func (q query) filter() jobs.Filter {
	return jobs.Filter{Statuses: q.State.statuses()}
}

// match reports whether j passes the filters the store does not apply.
func (q query) match(j *jobs.Job) bool {
	if q.State != "" && StateOf(j) != q.State {
		return false
	}
	if q.Collection != "" && j.Collection != q.Collection {
		return false
	}
	if q.Surface != "" && j.TargetSurface != q.Surface {
		return false
	}
	if q.SKU != "" && !containsFold(j.SKU, q.SKU) {
		return false
	}
	return true
}

// containsFold reports whether substr is within s, ignoring case, without
// allocating: a search reads every job of the store.
func containsFold(s, substr string) bool {
	for i := 0; i+len(substr) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(substr)], substr) {
			return true
		}
	}
	return false
}

// errCursorGone reports that the job a page starts after is not in the
// store.
var errCursorGone = errors.New("the page's position (after=) names no job in the store; start from the first page")

// page returns up to q.Limit jobs matching q after the job q.After, in the
// order they were tracked, and the key to continue after (empty on the last
// page). It reads the store's List and stops as soon as it has one job more
// than the page, so a page costs the scan up to its end, not the whole
// store.
//
// The store filters by status. When the job a page starts after has since
// changed status (say, it was replayed) it is not in that filtered list, so
// the position is found again in the unfiltered one, whose order the
// filtered list follows.
func page(ctx context.Context, store jobs.Store, q query) ([]jobs.Job, string, error) {
	rows, next, found, err := scanPage(ctx, store, q, q.filter())
	if err == nil && !found && len(q.filter().Statuses) > 0 {
		rows, next, found, err = scanPage(ctx, store, q, jobs.Filter{})
	}
	if err == nil && !found {
		err = errCursorGone
	}
	return rows, next, err
}

func scanPage(ctx context.Context, store jobs.Store, q query, f jobs.Filter) (rows []jobs.Job, next string, found bool, err error) {
	found = q.After == ""
	for job, err := range store.List(ctx, f) {
		if err != nil {
			return nil, "", found, err
		}
		if !found {
			found = job.Key == q.After
			continue
		}
		if !q.match(&job) {
			continue
		}
		if len(rows) == q.Limit {
			return rows, rows[len(rows)-1].Key, true, nil
		}
		rows = append(rows, job)
	}
	return rows, "", found, nil
}

// Summary is the head of the page: jobs by state and what the run has
// cost. It is the "summary" of the JSON API.
type Summary struct {
	// States lists every state in page order, with its count.
	States []StateCount `json:"states"`
	// Total is the number of jobs in the store.
	Total int `json:"total"`
	// Cost is the spend of every job in the store.
	Cost CostSummary `json:"cost"`
	// Today is the spend of the jobs created since midnight UTC.
	Today CostSummary `json:"today"`
	// Collections and Surfaces are the distinct values seen, sorted, for
	// the filter choices (at most 200 each).
	Collections []string `json:"collections"`
	Surfaces    []string `json:"surfaces"`
	// AsOf is when the store was read.
	AsOf time.Time `json:"as_of"`
}

// StateCount is the number of jobs in one state, with the line buyers see.
type StateCount struct {
	State     State  `json:"state"`
	Label     string `json:"label"`
	Count     int    `json:"count"`
	BuyerCopy string `json:"buyer_copy"`
}

// CostSummary totals what jobs have been charged for: their units (see
// Units) and what they cost (see Cost: the prices recorded on the jobs, or
// the configured pricing for jobs tracked before prices were recorded).
type CostSummary struct {
	Jobs   int              `json:"jobs"`
	Clips  int              `json:"clips"`
	Stills int              `json:"stills"`
	Cents  creativeai.Cents `json:"cents"`
	// Text is Cents as dollars, such as "$12.50".
	Text string `json:"text"`
}

func (c *CostSummary) add(j *jobs.Job, p creativeai.Pricing) {
	clips, stills := Units(j)
	c.Jobs++
	c.Clips += clips
	c.Stills += stills
	c.Cents += Cost(j, p)
}

// summarize reads every job once.
func summarize(ctx context.Context, store jobs.Store, copy *jobs.BuyerCopy, p creativeai.Pricing, now time.Time) (*Summary, error) {
	counts := map[State]int{}
	collections, surfaces := map[string]bool{}, map[string]bool{}
	s := &Summary{AsOf: now}
	midnight := now.UTC().Truncate(24 * time.Hour)
	for job, err := range store.List(ctx, jobs.Filter{}) {
		if err != nil {
			return nil, err
		}
		counts[StateOf(&job)]++
		s.Total++
		s.Cost.add(&job, p)
		if !job.CreatedAt.Before(midnight) {
			s.Today.add(&job, p)
		}
		if job.Collection != "" && len(collections) < maxChoices {
			collections[job.Collection] = true
		}
		if job.TargetSurface != "" && len(surfaces) < maxChoices {
			surfaces[job.TargetSurface] = true
		}
	}
	for _, st := range States() {
		s.States = append(s.States, StateCount{State: st, Label: st.Label(), Count: counts[st], BuyerCopy: st.buyerLine(copy)})
	}
	s.Cost.Text, s.Today.Text = s.Cost.Cents.String(), s.Today.Cents.String()
	s.Collections = sortedKeys(collections)
	s.Surfaces = sortedKeys(surfaces)
	return s, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
