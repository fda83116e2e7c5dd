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
	"net/http"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// Video is a job's video opened for streaming, from its archived copy or
// from output_url. Read it to the end and Close it.
type Video struct {
	body io.ReadCloser
	// Size is the length in bytes, or -1 when unknown (an output_url
	// served without Content-Length).
	Size int64
	// ContentType is the media type, such as video/mp4.
	ContentType string
	// Source is where the bytes come from: the archive_url, or the
	// output_url without its query.
	Source string
	// Archived reports whether the bytes come from the archived copy.
	Archived bool
}

// Read reads the video. From an archived copy, reading past the last byte
// returns a *ChecksumError instead of io.EOF when the bytes read do not
// match the job's sha256 and archive_size, so a consumer that streams the
// video elsewhere sees the corruption before it commits.
func (v *Video) Read(p []byte) (int, error) { return v.body.Read(p) }

// Close releases the video's reader or connection.
func (v *Video) Close() error { return v.body.Close() }

// Open opens job's archived copy in this Archiver's bucket, verified
// against the job's sha256 and archive_size while it streams (see
// [Video.Read]), or, when the job has none, its output_url. It returns
// [ErrNotArchived] wrapped with a clear message when the job has neither,
// an error naming both URLs when the job's archive_url is not an object of
// this bucket (an Archiver configured with another bucket or prefix), and
// for output_url the same errors as [OpenOutput].
func (a *Archiver) Open(ctx context.Context, job jobs.Job) (*Video, error) {
	if !job.Archived() {
		return OpenOutput(ctx, a.client, job)
	}
	key := a.Key(job)
	if u := a.bucket.URL(key); u != job.ArchiveURL {
		return nil, fmt.Errorf("archive: job %s was archived at %s, but this archive would keep it at %s (another bucket or prefix?)", job.Key, job.ArchiveURL, u)
	}
	r, err := a.bucket.NewReader(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("archive: opening %s for job %s: %w", job.ArchiveURL, job.Key, err)
	}
	return &Video{
		body:        &verifyingReader{r: r, h: sha256.New(), what: job.ArchiveURL, wantSum: job.SHA256, wantSize: job.ArchiveSize},
		Size:        job.ArchiveSize,
		ContentType: cmp.Or(job.ArchiveContentType, DefaultContentType),
		Source:      job.ArchiveURL,
		Archived:    true,
	}, nil
}

// OpenOutput opens job's output_url with client (http.DefaultClient when
// nil), for jobs with no archived copy. An answer of 403, 404 or 410 is an
// error wrapping [ErrOutputGone] and, when the job has no archive, saying
// so; other failures are a *DownloadError.
func OpenOutput(ctx context.Context, client *http.Client, job jobs.Job) (*Video, error) {
	if job.OutputURL == "" {
		return nil, fmt.Errorf("archive: job %s has neither an archived copy nor an output_url: %w", job.Key, ErrNotArchived)
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := get(ctx, client, job.OutputURL)
	if errors.Is(err, ErrOutputGone) {
		return nil, fmt.Errorf("archive: job %s has no archived copy (configure an archive to keep outputs): %w", job.Key, err)
	}
	if err != nil {
		return nil, err
	}
	return &Video{
		body:        resp.Body,
		Size:        resp.ContentLength,
		ContentType: cmp.Or(resp.Header.Get("Content-Type"), DefaultContentType),
		Source:      redact(job.OutputURL),
	}, nil
}

// verifyingReader hashes what it reads and, at the end, compares the
// digest and size with the job's record.
type verifyingReader struct {
	r        io.ReadCloser
	h        hash.Hash
	n        int64
	what     string
	wantSum  string
	wantSize int64
	checked  bool // the digest was compared when the size was reached
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	switch {
	case v.n > v.wantSize:
		return n, v.mismatch()
	case v.n == v.wantSize && !v.checked:
		// Checked with the last byte, not at EOF: a consumer that knows
		// the size (an upload with Content-Length) may never read again.
		v.checked = true
		if hex.EncodeToString(v.h.Sum(nil)) != v.wantSum {
			return n, v.mismatch()
		}
	case err == io.EOF && v.n < v.wantSize:
		return n, v.mismatch()
	}
	return n, err
}

func (v *verifyingReader) mismatch() error {
	return &ChecksumError{What: v.what, WantSHA256: v.wantSum, GotSHA256: hex.EncodeToString(v.h.Sum(nil)), WantSize: v.wantSize, GotSize: v.n}
}

func (v *verifyingReader) Close() error { return v.r.Close() }
