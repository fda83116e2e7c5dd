package console

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// Config configures the console.
type Config struct {
	// Store holds the jobs shown; required. The console reads it with List
	// and Get, and changes it only with Replay, Approve, Reject and
	// RetryDelivery.
	Store jobs.Store
	// Addr is the host:port the handler is served on, if known. New refuses
	// an Addr that is not a loopback address (127.0.0.0/8, ::1, localhost)
	// when Token is empty, with an error wrapping ErrTokenRequired.
	Addr string
	// Token, when set, is required on every request but the login page and
	// the static files: as "Authorization: Bearer TOKEN", or through the
	// login form, which sets an HttpOnly, SameSite=Strict session cookie.
	// When empty, the console answers only requests whose Host is a
	// loopback name or address, so that a web page cannot reach it through
	// a DNS name rebound to 127.0.0.1; serve it behind a proxy or on any
	// other address with a Token.
	Token string
	// BuyerCopy words the buyer-facing lines (default
	// jobs.DefaultBuyerCopy()).
	BuyerCopy *jobs.BuyerCopy
	// Pricing prices the cost columns (default creativeai.DefaultPricing()).
	Pricing *creativeai.Pricing
	// PageSize is the number of jobs a table page shows (default 50, at
	// most MaxPageSize).
	PageSize int
	// PollInterval is how often the page asks for fresh numbers (default
	// 5s). The counts are a full read of the store, so a busy store with
	// many open pages wants a longer interval.
	PollInterval time.Duration
	// Clock tells the time of the day's cost summary and ages the counts
	// that open pages share for a second (default the wall clock).
	Clock jobs.Clock
	// Metrics, if set, is served at "/metrics" behind the same token as the
	// page, such as the Prometheus handler of package
	// batch/console/consolemetrics. (A scraper sends the token as
	// "Authorization: Bearer TOKEN".)
	Metrics http.Handler
	// Logger receives failures the console answers with 500; nil discards.
	Logger *slog.Logger
}

// ErrTokenRequired is wrapped by New's error when Config.Addr is not a
// loopback address and Config.Token is empty.
var ErrTokenRequired = errors.New("a console served on a non-loopback address requires a token")

// summaryMaxAge bounds how stale the counts may be: several open pages
// polling at once share one read of the store.
const summaryMaxAge = time.Second

// sessionCookie names the cookie the login form sets.
const sessionCookie = "catalogvideo_console"

//go:embed assets
var assets embed.FS

// console is the handler New returns.
type console struct {
	cfg       Config
	copy      *jobs.BuyerCopy
	pricing   creativeai.Pricing
	clock     jobs.Clock
	logger    *slog.Logger
	tokenHash [sha256.Size]byte
	session   string // the session cookie's value: derived from the token, never the token
	pages     *template.Template
	mux       *http.ServeMux
	// failures spends a token on each wrong token or login (10 at most,
	// one back a second by the clock); while none is left every check is
	// refused, so guessing runs at one try a second. A right token is
	// never spent.
	failures *rate.Limiter

	mu        sync.Mutex
	summary   *Summary // cached counts; nil after a change the console made
	summaryAt time.Time
}

// New returns the console's http.Handler: the page at "/", a job at
// "job?key=KEY", the JSON API under "api/", the exports and the actions.
// Every link and redirect it writes is relative, so it can be mounted under
// a prefix with http.StripPrefix. Every state-changing request passes
// http.CrossOriginProtection, which refuses cross-site POSTs.
//
// It returns an error for a nil Store, a bad PageSize or PollInterval, and
// for a non-loopback Addr without a Token (wrapping ErrTokenRequired).
func New(cfg Config) (http.Handler, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("console: Config.Store is nil")
	case cfg.PageSize < 0 || cfg.PageSize > MaxPageSize:
		return nil, fmt.Errorf("console: Config.PageSize is %d; want 1 to %d (0 for %d)", cfg.PageSize, MaxPageSize, DefaultPageSize)
	case cfg.PollInterval < 0:
		return nil, fmt.Errorf("console: Config.PollInterval is %s; want a positive duration (0 for 5s)", cfg.PollInterval)
	}
	if cfg.Addr != "" && cfg.Token == "" {
		loop, err := IsLoopback(cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("console: Config.Addr: %w", err)
		}
		if !loop {
			return nil, fmt.Errorf("console: %s: %w", cfg.Addr, ErrTokenRequired)
		}
	}
	c := &console{cfg: cfg, copy: cfg.BuyerCopy, clock: jobs.OrWall(cfg.Clock), logger: cfg.Logger,
		failures: rate.NewLimiter(rate.Every(time.Second), 10)}
	if c.copy == nil {
		c.copy = jobs.DefaultBuyerCopy()
	}
	c.pricing = creativeai.DefaultPricing()
	if cfg.Pricing != nil {
		c.pricing = *cfg.Pricing
	}
	if c.cfg.PageSize == 0 {
		c.cfg.PageSize = DefaultPageSize
	}
	if c.cfg.PollInterval == 0 {
		c.cfg.PollInterval = 5 * time.Second
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Token != "" {
		c.tokenHash = sha256.Sum256([]byte(cfg.Token))
		s := sha256.Sum256([]byte("catalogvideo console session\x00" + cfg.Token))
		c.session = fmt.Sprintf("%x", s)
	}
	var err error
	c.pages, err = template.New("").Funcs(template.FuncMap{
		"cost":      func(j jobs.Job) string { return Cost(&j, c.pricing).String() },
		"state":     func(j jobs.Job) State { return StateOf(&j) },
		"buyer":     func(j jobs.Job) string { return j.BuyerStatus(c.copy) },
		"canReplay": func(j jobs.Job) bool { return Replayable(&j) },
		"canReview": func(j jobs.Job) bool { return Reviewable(&j) },
		"canRetry":  func(j jobs.Job) bool { return DeliveryRetryable(&j) },
		"when":      when,
		"plural":    plural,
	}).ParseFS(assets, "assets/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	static, _ := fs.Sub(assets, "assets")

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.index)
	mux.HandleFunc("GET /job", c.job)
	mux.HandleFunc("GET /api/page", c.apiPage)
	mux.HandleFunc("GET /api/job", c.apiJob)
	mux.HandleFunc("GET /export", c.export)
	mux.HandleFunc("POST /replay", c.decide(replayDecision))
	mux.HandleFunc("POST /approve", c.decide(approveDecision))
	mux.HandleFunc("POST /reject", c.decide(rejectDecision))
	mux.HandleFunc("POST /retry-delivery", c.decide(retryDeliveryDecision))
	mux.HandleFunc("GET /login", c.loginForm)
	mux.HandleFunc("POST /login", c.login)
	mux.HandleFunc("POST /logout", c.logout)
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics)
	}
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	c.mux = mux

	return http.NewCrossOriginProtection().Handler(c), nil
}

// IsLoopback reports whether the host of addr (host:port, or a bare host)
// is a loopback address or "localhost". An empty host, which listens on
// every interface, is not.
func IsLoopback(addr string) (bool, error) {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	} else if strings.Count(addr, ":") == 1 {
		return false, fmt.Errorf("%q: %w", addr, err)
	}
	return loopbackHost(host), nil
}

// ServeHTTP checks the request's right to the console and routes it.
func (c *console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Output URLs may be signed; the page keeps them out of Referer headers
	// and shows media from anywhere, but runs only its own script.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src * data:; media-src * blob:; frame-ancestors 'none'; form-action 'self'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	if c.cfg.Token == "" {
		if !loopbackHost(r.Host) {
			http.Error(w, "console: this console has no token and answers only requests addressed to a loopback host (127.0.0.1, ::1, localhost), not "+strconv.Quote(r.Host), http.StatusForbidden)
			return
		}
	} else if !strings.HasPrefix(r.URL.Path, "/static/") && r.URL.Path != "/login" {
		switch c.authorize(r) {
		case authOK:
		case authThrottled:
			tooManyTries(w)
			return
		default:
			if strings.Contains(r.Header.Get("Accept"), "text/html") && r.Method == http.MethodGet {
				seeOther(w, "login")
				return
			}
			h.Set("WWW-Authenticate", `Bearer realm="catalogvideo console"`)
			http.Error(w, "console: a token is required (Authorization: Bearer TOKEN, or sign in at login)", http.StatusUnauthorized)
			return
		}
	}
	c.mux.ServeHTTP(w, r)
}

// loopbackHost reports whether a Host header (host or host:port) names a
// loopback host.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// The results of authorize.
const (
	authMissing   = iota // no token or session offered
	authWrong            // a wrong one
	authThrottled        // not checked: wrong tokens used up the budget
	authOK
)

// authorize checks the token or session cookie r carries. Both are
// compared in constant time; the token through its hash, so that its length
// does not show either. A wrong one spends one of the failure budget's
// tokens; while none is left nothing is checked, not even the right token,
// until the budget refills.
func (c *console) authorize(r *http.Request) int {
	tok, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	ck, err := r.Cookie(sessionCookie)
	if !bearer && err != nil {
		return authMissing
	}
	if c.failures.TokensAt(c.clock.Now()) < 1 {
		return authThrottled
	}
	var ok bool
	if bearer {
		got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		ok = subtle.ConstantTimeCompare(got[:], c.tokenHash[:]) == 1
	} else {
		ok = subtle.ConstantTimeCompare([]byte(ck.Value), []byte(c.session)) == 1
	}
	if !ok {
		c.failures.AllowN(c.clock.Now(), 1)
		return authWrong
	}
	return authOK
}

// tooManyTries answers while wrong tokens have used up the failure budget.
func tooManyTries(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	http.Error(w, "console: too many wrong tokens; wait a few seconds", http.StatusTooManyRequests)
}

func (c *console) loginForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, "login.html", map[string]any{"Title": "Sign in", "Error": "", "Auth": c.cfg.Token != ""})
}

func (c *console) login(w http.ResponseWriter, r *http.Request) {
	if c.cfg.Token == "" {
		seeOther(w, "./")
		return
	}
	if c.failures.TokensAt(c.clock.Now()) < 1 {
		tooManyTries(w)
		return
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(r.PostFormValue("token"))))
	if subtle.ConstantTimeCompare(got[:], c.tokenHash[:]) != 1 {
		c.failures.AllowN(c.clock.Now(), 1)
		c.render(w, http.StatusUnauthorized, "login.html", map[string]any{"Title": "Sign in", "Error": "That token is not this console's token.", "Auth": true})
		return
	}
	// No Path: the cookie belongs to the directory the console is mounted
	// at, whatever its prefix.
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: c.session, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	seeOther(w, "./")
}

func (c *console) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	seeOther(w, "login")
}

// seeOther redirects with a relative Location, which the browser resolves
// against the URL it asked for, prefix included.
func seeOther(w http.ResponseWriter, location string) {
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusSeeOther)
}

// currentSummary returns the counts, reading the store at most once per
// summaryMaxAge however many pages poll.
func (c *console) currentSummary(ctx context.Context) (*Summary, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	if c.summary != nil && now.Sub(c.summaryAt) < summaryMaxAge && !now.Before(c.summaryAt) {
		return c.summary, nil
	}
	s, err := summarize(ctx, c.cfg.Store, c.copy, c.pricing, now)
	if err != nil {
		return nil, err
	}
	c.summary, c.summaryAt = s, now
	return s, nil
}

// changed drops the cached counts after the console changed the store.
func (c *console) changed() {
	c.mu.Lock()
	c.summary = nil
	c.mu.Unlock()
}

// Row is one job as the table and the JSON API ("rows" of api/page) show it.
type Row struct {
	Key           string `json:"key"`
	SKU           string `json:"sku"`
	Collection    string `json:"collection,omitempty"`
	TargetSurface string `json:"target_surface,omitempty"`
	State         State  `json:"state"`
	StateLabel    string `json:"state_label"`
	BuyerStatus   string `json:"buyer_status"`
	Error         string `json:"error,omitempty"`
	Cost          string `json:"cost"`
	Replayable    bool   `json:"replayable"`
	// Reviewable reports a job awaiting review (approve, reject);
	// DeliveryRetryable one whose delivery failed (retry-delivery).
	Reviewable        bool      `json:"reviewable"`
	DeliveryRetryable bool      `json:"delivery_retryable"`
	UpdatedAt         time.Time `json:"updated_at,omitzero"`
}

func (c *console) row(j *jobs.Job) Row {
	st := StateOf(j)
	return Row{Key: j.Key, SKU: j.SKU, Collection: j.Collection, TargetSurface: j.TargetSurface,
		State: st, StateLabel: st.Label(), BuyerStatus: j.BuyerStatus(c.copy),
		Error: errorText(j), Cost: Cost(j, c.pricing).String(), Replayable: Replayable(j),
		Reviewable: Reviewable(j), DeliveryRetryable: DeliveryRetryable(j), UpdatedAt: j.UpdatedAt}
}

// errorText is the render's error, the delivery's, or a rejection's
// reason.
func errorText(j *jobs.Job) string {
	switch {
	case j.Error != "":
		return j.Error
	case j.Delivery == jobs.DeliveryRejected:
		return "rejected: " + j.ReviewNote
	}
	return j.DeliveryError
}

// pageData is what the index page and api/page show.
type pageData struct {
	Summary *Summary `json:"summary"`
	Rows    []Row    `json:"rows"`
	// Next is the query string of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
	// First is the query string of the first page of the same filters.
	First string `json:"first"`
}

func (c *console) pageData(r *http.Request) (*pageData, query, error) {
	q, err := parseQuery(r.URL.Query(), c.cfg.PageSize)
	if err != nil {
		return nil, q, err
	}
	s, err := c.currentSummary(r.Context())
	if err != nil {
		return nil, q, err
	}
	list, next, err := page(r.Context(), c.cfg.Store, q)
	if err != nil {
		return nil, q, err
	}
	d := &pageData{Summary: s, Rows: make([]Row, 0, len(list)), First: q.values("").Encode()}
	for i := range list {
		d.Rows = append(d.Rows, c.row(&list[i]))
	}
	if next != "" {
		d.Next = q.values(next).Encode()
	}
	return d, q, nil
}

func (c *console) index(w http.ResponseWriter, r *http.Request) {
	d, q, err := c.pageData(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := r.URL.Query()
	exp := q.values("")
	exp.Del("state")
	exp.Set("format", "csv")
	csvURL := "export?" + exp.Encode()
	exp.Set("format", "jsonl")
	var next template.URL
	if d.Next != "" {
		next = template.URL("?" + d.Next)
	}
	c.render(w, http.StatusOK, "index.html", map[string]any{
		"APIURL":   template.URL("api/page?" + q.values(q.After).Encode()),
		"FirstURL": template.URL("?" + d.First), "NextURL": next,
		"ExportCSV": template.URL(csvURL), "ExportJSONL": template.URL("export?" + exp.Encode()),
		"Title": "Catalog video console", "Page": d, "Query": q, "States": States(),
		"Filtered": q.State != "" || q.Collection != "" || q.Surface != "" || q.SKU != "",
		"Notice":   notice(v), "Poll": c.cfg.PollInterval.Milliseconds(), "Auth": c.cfg.Token != "",
		"PageSize": c.cfg.PageSize, "Pricing": c.pricing,
	})
}

// notice words what the last action did, from the redirect's parameters.
func notice(v url.Values) string {
	n, err := strconv.Atoi(v.Get("replayed"))
	if err != nil {
		return decisionNotice(v)
	}
	msg := fmt.Sprintf("Replayed %s: each is queued again and not yet submitted. Nothing is sent from this page; "+
		"the next submit of their manifest (batch.Run) sends them again with a new Idempotency-Key.", plural(n, "job"))
	if k, _ := strconv.Atoi(v.Get("skipped")); k > 0 {
		msg += fmt.Sprintf(" %s skipped: no longer failed.", plural(k, "job"))
	}
	return msg
}

func (c *console) apiPage(w http.ResponseWriter, r *http.Request) {
	d, _, err := c.pageData(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// JobView is a job as api/job answers: the job's record, its state, the
// buyer-facing line and its cost.
type JobView struct {
	Job         jobs.Job `json:"job"`
	State       State    `json:"state"`
	BuyerStatus string   `json:"buyer_status"`
	Cost        string   `json:"cost"`
	Clips       int      `json:"clips"`
	Stills      int      `json:"stills"`
	Replayable  bool     `json:"replayable"`
	// Reviewable and DeliveryRetryable are as in Row.
	Reviewable        bool `json:"reviewable"`
	DeliveryRetryable bool `json:"delivery_retryable"`
}

func (c *console) jobView(r *http.Request) (*JobView, error) {
	key := r.URL.Query().Get("key")
	if key == "" {
		return nil, fmt.Errorf("%w: key is missing (job?key=KEY)", errBadQuery)
	}
	j, err := c.cfg.Store.Get(r.Context(), key)
	if err != nil {
		return nil, err
	}
	clips, stills := Units(&j)
	return &JobView{Job: j, State: StateOf(&j), BuyerStatus: j.BuyerStatus(c.copy), Cost: Cost(&j, c.pricing).String(),
		Clips: clips, Stills: stills, Replayable: Replayable(&j), Reviewable: Reviewable(&j), DeliveryRetryable: DeliveryRetryable(&j)}, nil
}

func (c *console) job(w http.ResponseWriter, r *http.Request) {
	v, err := c.jobView(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, http.StatusOK, "job.html", map[string]any{
		"Title": v.Job.SKU, "View": v, "Poll": c.cfg.PollInterval.Milliseconds(), "Auth": c.cfg.Token != "",
		"Notice": notice(r.URL.Query()), "Pricing": c.pricing,
	})
}

func (c *console) apiJob(w http.ResponseWriter, r *http.Request) {
	v, err := c.jobView(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// fail answers an error: 400 for a bad query, 404 for an unknown job, 500
// (logged) for anything else.
func (c *console) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, errBadQuery), errors.Is(err, errCursorGone):
		code = http.StatusBadRequest
	case errors.Is(err, jobs.ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, context.Canceled):
		return
	default:
		c.logger.Error("console: request failed", "path", r.URL.Path, "error", err)
	}
	if wantsJSON(r) || strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, code, map[string]string{"error": err.Error()})
		return
	}
	http.Error(w, "console: "+err.Error(), code)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (c *console) render(w http.ResponseWriter, code int, name string, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := c.pages.ExecuteTemplate(w, name, data); err != nil {
		c.logger.Error("console: rendering page", "page", name, "error", err)
	}
}

// when formats a time for the page, or "-" for the zero time.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// plural formats a count with its noun, such as "1 job" or "2 jobs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
