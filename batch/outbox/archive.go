package outbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/creativeai-run/catalogvideo/batch/archive"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// archive copies job's output into Config.Archive and records the copy on
// the job, returning the job as recorded. An output that is gone fails the
// delivery for good: no retry can bring it back.
func (d *deliverer) archive(ctx context.Context, job jobs.Job) (jobs.Job, error) {
	a, err := d.cfg.Archive.Archive(ctx, job)
	if err != nil {
		if errors.Is(err, archive.ErrOutputGone) {
			return job, Permanent(fmt.Errorf("archiving before delivery: %w", err))
		}
		return job, fmt.Errorf("archiving before delivery: %w", err)
	}
	stored, err := d.cfg.Store.RecordArchive(ctx, job.Key, a)
	if err != nil {
		// The object stays; the next attempt writes the same one again.
		return job, fmt.Errorf("recording the archive %s: %w", a.ArchiveURL, err)
	}
	d.log.Info("batch: archived", "key", job.Key, "sku", job.SKU, "archive_url", a.ArchiveURL, "sha256", a.SHA256, "bytes", a.ArchiveSize)
	return stored, nil
}

// attemptKey keys the delivery attempt in the context a sink is given.
type attemptKey struct{}

// attemptInfo is what a sink's context carries: the archive, and the jobs
// of the attempt (one, or a BatchSink's batch), for ArchiveTransport to
// find the job a download is for.
type attemptInfo struct {
	archiver *archive.Archiver
	jobs     []jobs.Job
}

func withAttempt(ctx context.Context, a *archive.Archiver, js ...jobs.Job) context.Context {
	return context.WithValue(ctx, attemptKey{}, attemptInfo{a, js})
}

// archivedJob returns the job of the attempt whose output_url is url and
// that has an archived copy.
func (info attemptInfo) archivedJob(url string) (jobs.Job, bool) {
	for _, job := range info.jobs {
		if job.OutputURL == url && job.Archived() {
			return job, true
		}
	}
	return jobs.Job{}, false
}

// ContextWithArchive returns ctx carrying a, for calling Open (or a sink
// that calls it) outside Deliver. Deliver gives sinks such a context when
// Config.Archive is set.
func ContextWithArchive(ctx context.Context, a *archive.Archiver) context.Context {
	return context.WithValue(ctx, attemptKey{}, attemptInfo{archiver: a})
}

// Open opens job's video for a sink: the archived copy when the job has
// one, verified against its sha256 while it streams (a mismatch is a
// *archive.ChecksumError from Read at the end, so an upload made from it
// must be aborted on a read error, as uploads are), and otherwise
// output_url. Pass the ctx Deliver gave the sink, which carries
// Config.Archive. Opening an archived job without an archive in ctx is an
// error naming the archive_url; an output_url that is gone is an error
// wrapping archive.ErrOutputGone that says the job has no archived copy.
func Open(ctx context.Context, job jobs.Job) (*archive.Video, error) {
	info, _ := ctx.Value(attemptKey{}).(attemptInfo)
	if info.archiver != nil {
		return info.archiver.Open(ctx, job)
	}
	if job.Archived() {
		return nil, fmt.Errorf("outbox: job %s was archived at %s, but this process has no archive to read it from: give it that archive (webhook-server -archive URL; in code, Config.Archive and the sink's ctx)", job.Key, job.ArchiveURL)
	}
	return archive.OpenOutput(ctx, nil, job)
}

// ArchiveTransport returns an http.RoundTripper that answers a GET of the
// output_url of a job being delivered from its archived copy (see Open),
// and passes every other request to base (http.DefaultTransport when nil).
// It lets a sink that downloads the output itself, such as a
// shopify.Publisher given an http.Client with this transport
// (shopify.WithTransferClient), publish from the archive without knowing
// about it: the job is found in the request's context, which Deliver sets
// (for a BatchSink, to the batch's jobs, matched by output_url).
// A checksum mismatch surfaces as an error reading the response body.
func ArchiveTransport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &archiveTransport{base: base}
}

type archiveTransport struct{ base http.RoundTripper }

func (t *archiveTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	info, _ := req.Context().Value(attemptKey{}).(attemptInfo)
	if req.Method != http.MethodGet || info.archiver == nil {
		return t.base.RoundTrip(req)
	}
	job, ok := info.archivedJob(req.URL.String())
	if !ok {
		return t.base.RoundTrip(req)
	}
	v, err := info.archiver.Open(req.Context(), job)
	if err != nil {
		return nil, err
	}
	if req.Body != nil {
		_ = req.Body.Close()
	}
	h := http.Header{}
	h.Set("Content-Type", v.ContentType)
	h.Set("Content-Length", strconv.FormatInt(v.Size, 10))
	h.Set("X-Archive-Url", v.Source)
	return &http.Response{
		Status:        strconv.Itoa(http.StatusOK) + " " + http.StatusText(http.StatusOK),
		StatusCode:    http.StatusOK,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          v,
		ContentLength: v.Size,
		Request:       req,
	}, nil
}
