package archive

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/internal/backoff"
	"github.com/creativeai-run/catalogvideo/internal/logx"
)

// Defaults of an Archiver.
const (
	// DefaultMaxAttempts is how many times a download is tried before the
	// archive fails.
	DefaultMaxAttempts = 4
	// DefaultContentType is recorded when the output is served without a
	// Content-Type.
	DefaultContentType = "video/mp4"
)

// defaultBackoff spaces download retries: a CDN hiccup passes in seconds.
var defaultBackoff = backoff.Policy{Initial: time.Second, Max: 30 * time.Second}

// copyBufferSize is the size of the one buffer each download streams
// through: large enough for file and loopback throughput, small enough that
// many downloads at once stay far from the 32 MiB budget of a 1 GB video.
const copyBufferSize = 256 << 10

// Archiver copies completed jobs' outputs into a Bucket. It is safe for
// concurrent use.
type Archiver struct {
	bucket      Bucket
	client      *http.Client
	prefix      string
	maxAttempts int
	wait        func(n int) time.Duration
	log         *slog.Logger
}

// Option configures an Archiver.
type Option func(*Archiver) error

// WithHTTPClient sets the client that downloads outputs (default
// http.DefaultClient). A nil client is skipped.
func WithHTTPClient(c *http.Client) Option {
	return func(a *Archiver) error {
		if c != nil {
			a.client = c
		}
		return nil
	}
}

// WithPrefix sets the folder objects are named under (default
// [DefaultPrefix]); see [ObjectKey]. It must be made of [ObjectKey]'s safe
// characters and slashes, with no "." or ".." segment.
func WithPrefix(prefix string) Option {
	return func(a *Archiver) error {
		p := strings.Trim(prefix, "/")
		for seg := range strings.SplitSeq(p, "/") {
			if s, lossy := sanitize(seg); lossy || s != seg || (seg == "" && p != "") {
				return fmt.Errorf("archive: WithPrefix(%q): segment %q; use letters, digits, '.', '_' and '-' between slashes", prefix, seg)
			}
		}
		a.prefix = p
		return nil
	}
}

// WithMaxAttempts sets how many times a download is tried (default
// [DefaultMaxAttempts]); n must be at least 1.
func WithMaxAttempts(n int) Option {
	return func(a *Archiver) error {
		if n < 1 {
			return fmt.Errorf("archive: WithMaxAttempts(%d): want at least 1", n)
		}
		a.maxAttempts = n
		return nil
	}
}

// WithBackoff sets the wait before the next download after n failed ones
// (n ≥ 1). The default grows from 1s to 30s with jitter; a Retry-After the
// server sends is honoured when longer. A nil function is skipped.
func WithBackoff(wait func(n int) time.Duration) Option {
	return func(a *Archiver) error {
		if wait != nil {
			a.wait = wait
		}
		return nil
	}
}

// WithLogger receives retried downloads at warn level (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(a *Archiver) error {
		a.log = logx.OrDiscard(l)
		return nil
	}
}

// New returns an Archiver writing into b. It returns an error for a nil
// bucket or an invalid option; nil options are skipped.
func New(b Bucket, opts ...Option) (*Archiver, error) {
	if b == nil {
		return nil, errors.New("archive: New: nil Bucket")
	}
	a := &Archiver{
		bucket:      b,
		client:      http.DefaultClient,
		prefix:      DefaultPrefix,
		maxAttempts: DefaultMaxAttempts,
		wait:        func(n int) time.Duration { return defaultBackoff.Delay(n - 1) },
		log:         logx.OrDiscard(nil),
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(a); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Key returns the key of the object that keeps job's output in this
// Archiver's bucket; see [ObjectKey].
func (a *Archiver) Key(job jobs.Job) string { return ObjectKey(a.prefix, job) }

// DownloadError is a download of an output_url that failed: an HTTP status
// other than 200, a transport error, or a body that ended early or did not
// match its Content-Length. URLs are shown without their query, which may
// hold a signature.
type DownloadError struct {
	URL string
	// StatusCode is the HTTP status; 0 when none was received or the body
	// was at fault, -1 when the request could not be made (a malformed
	// URL).
	StatusCode int
	Err        error
	// retryAfter is the wait the server asked for, if any.
	retryAfter time.Duration
}

// Error describes the download and its failure.
func (e *DownloadError) Error() string {
	if e.StatusCode > 0 {
		return fmt.Sprintf("archive: GET %s: HTTP %d: %v", e.URL, e.StatusCode, e.Err)
	}
	return fmt.Sprintf("archive: GET %s: %v", e.URL, e.Err)
}

// Unwrap returns the cause.
func (e *DownloadError) Unwrap() error { return e.Err }

// Temporary reports whether another download may succeed: a transport
// error, a truncated body, 408, 429 or a 5xx.
func (e *DownloadError) Temporary() bool {
	if errors.Is(e.Err, ErrOutputGone) {
		return false
	}
	switch c := e.StatusCode; {
	case c == 0:
		return true
	case c == http.StatusRequestTimeout, c == http.StatusTooManyRequests, c >= 500:
		return true
	}
	return false
}

// Archive streams job's output_url into the bucket at [Archiver.Key](job)
// and returns the record to store on the job (jobs.Store.RecordArchive):
// the object's URL, SHA-256, size and content type.
//
// The object is committed only after the whole body has arrived, matched
// its Content-Length and, when the server sent a Repr-Digest with sha-256
// (RFC 9530), that digest; otherwise the write is abandoned and the
// download tried again from the start, up to the configured attempts, on a
// transport error, a truncated body, 408, 429 or 5xx. Memory use is one
// 256 KiB buffer whatever the video's size.
//
// When output_url answers 403, 404 or 410 (the error wraps
// [ErrOutputGone]) and the bucket already holds the object — an earlier
// run archived it and crashed before recording it — that object is read
// back, hashed and returned instead: objects are only ever committed
// whole. Errors are a *DownloadError, a *ChecksumError, the bucket's error,
// or ctx's.
func (a *Archiver) Archive(ctx context.Context, job jobs.Job) (jobs.Archive, error) {
	switch {
	case job.Status != jobs.StatusCompleted:
		return jobs.Archive{}, fmt.Errorf("archive: %w: %s is %s", jobs.ErrNotCompleted, job.Key, job.Status)
	case job.OutputURL == "":
		return jobs.Archive{}, fmt.Errorf("archive: completed job %s has no output_url", job.Key)
	}
	key := a.Key(job)
	for n := 1; ; n++ {
		rec, err := a.copyOnce(ctx, job.OutputURL, key)
		if err == nil {
			return rec, nil
		}
		if errors.Is(err, ErrOutputGone) {
			if rec, aerr := a.adopt(ctx, key); aerr == nil {
				return rec, nil
			} else if !errors.Is(aerr, ErrNotExist) {
				return jobs.Archive{}, errors.Join(err, aerr)
			}
			return jobs.Archive{}, err
		}
		if ctx.Err() != nil || !temporary(err) || n >= a.maxAttempts {
			if n > 1 {
				err = fmt.Errorf("archive: %s: gave up after %d attempts: %w", job.Key, n, err)
			}
			return jobs.Archive{}, err
		}
		wait := a.wait(n)
		var de *DownloadError
		if errors.As(err, &de) && de.retryAfter > wait {
			wait = defaultBackoff.Cap(de.retryAfter)
		}
		a.log.Warn("archive: download failed; retrying", "key", job.Key, "attempt", n, "wait", wait, "error", err)
		if err := backoff.Sleep(ctx, wait); err != nil {
			return jobs.Archive{}, err
		}
	}
}

// temporary reports whether err may pass on another try. A checksum
// mismatch of a download is a corrupt transfer; storage errors are retried
// too, since buckets fail transiently.
func temporary(err error) bool {
	var de *DownloadError
	if errors.As(err, &de) {
		return de.Temporary()
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// copyOnce makes one download of rawURL into the object at key.
func (a *Archiver) copyOnce(ctx context.Context, rawURL, key string) (jobs.Archive, error) {
	shown := redact(rawURL)
	resp, err := get(ctx, a.client, rawURL)
	if err != nil {
		return jobs.Archive{}, err
	}
	defer resp.Body.Close()
	contentType := cmp.Or(resp.Header.Get("Content-Type"), DefaultContentType)
	announced, hasDigest := reprDigestSHA256(resp.Header.Values("Repr-Digest"))

	// The writer's own context: cancelling it abandons the object.
	wctx, abandon := context.WithCancel(ctx)
	defer abandon()
	w, err := a.bucket.NewWriter(wctx, key, contentType)
	if err != nil {
		return jobs.Archive{}, fmt.Errorf("archive: writing %s: %w", a.bucket.URL(key), err)
	}
	h := sha256.New()
	n, err := copyHashed(w, resp.Body, h)
	if err != nil {
		abandon()
		_ = w.Close()
		var we *writeError
		if errors.As(err, &we) {
			return jobs.Archive{}, fmt.Errorf("archive: writing %s: %w", a.bucket.URL(key), we.err)
		}
		return jobs.Archive{}, &DownloadError{URL: shown, Err: fmt.Errorf("body ended after %d bytes: %w", n, err)}
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		// net/http reports a short body as io.ErrUnexpectedEOF; this catches
		// any transport that does not.
		abandon()
		_ = w.Close()
		return jobs.Archive{}, &DownloadError{URL: shown, Err: fmt.Errorf("got %d bytes, Content-Length says %d", n, resp.ContentLength)}
	}
	sum := h.Sum(nil)
	if hasDigest && string(sum) != string(announced) {
		abandon()
		_ = w.Close()
		return jobs.Archive{}, &ChecksumError{What: shown + " (its Repr-Digest)", WantSHA256: hex.EncodeToString(announced), GotSHA256: hex.EncodeToString(sum), WantSize: -1, GotSize: n}
	}
	if err := w.Close(); err != nil {
		return jobs.Archive{}, fmt.Errorf("archive: committing %s: %w", a.bucket.URL(key), err)
	}
	return jobs.Archive{ArchiveURL: a.bucket.URL(key), SHA256: hex.EncodeToString(sum), ArchiveSize: n, ArchiveContentType: contentType}, nil
}

// get sends GET rawURL and returns the response when it is 200 OK. Any
// other answer is a *DownloadError, wrapping ErrOutputGone for 403, 404 and
// 410, with the Retry-After the server asked for.
func get(ctx context.Context, client *http.Client, rawURL string) (*http.Response, error) {
	shown := redact(rawURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, &DownloadError{URL: shown, StatusCode: -1, Err: err}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, &DownloadError{URL: shown, Err: err}
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_ = resp.Body.Close()
	de := &DownloadError{URL: shown, StatusCode: resp.StatusCode, Err: errors.New(strings.TrimSpace(string(snippet)))}
	switch resp.StatusCode {
	case http.StatusForbidden, http.StatusNotFound, http.StatusGone:
		de.Err = fmt.Errorf("%w: %s", ErrOutputGone, de.Err)
	}
	de.retryAfter, _ = backoff.RetryAfter(resp.Header, time.Now())
	return nil, de
}

// writeError marks a failure of the destination in copyHashed.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

// copyHashed copies src to dst through one buffer, hashing what it copies.
// A failure to write is returned as a *writeError.
func copyHashed(dst io.Writer, src io.Reader, h hash.Hash) (int64, error) {
	buf := make([]byte, copyBufferSize)
	var n int64
	for {
		nr, rerr := src.Read(buf)
		if nr > 0 {
			h.Write(buf[:nr])
			nw, werr := dst.Write(buf[:nr])
			n += int64(nw)
			if werr == nil && nw < nr {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return n, &writeError{werr}
			}
		}
		switch {
		case rerr == io.EOF:
			return n, nil
		case rerr != nil:
			return n, rerr
		}
	}
}

// adopt reads back the object at key, which an earlier Archive committed
// whole, and returns its record.
func (a *Archiver) adopt(ctx context.Context, key string) (jobs.Archive, error) {
	r, err := a.bucket.NewReader(ctx, key)
	if err != nil {
		return jobs.Archive{}, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, r, make([]byte, copyBufferSize))
	if err != nil {
		return jobs.Archive{}, fmt.Errorf("archive: reading back %s: %w", a.bucket.URL(key), err)
	}
	ct := cmp.Or(mime.TypeByExtension(path.Ext(key)), DefaultContentType)
	a.log.Info("archive: output_url is gone; recording the object archived earlier", "object", a.bucket.URL(key))
	return jobs.Archive{ArchiveURL: a.bucket.URL(key), SHA256: hex.EncodeToString(h.Sum(nil)), ArchiveSize: n, ArchiveContentType: ct}, nil
}

// redact returns rawURL without its query and fragment, which may hold a
// signature or token.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	u.Fragment, u.User = "", nil
	return u.String()
}
