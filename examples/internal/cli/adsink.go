package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sync"

	"github.com/creativeai-run/catalogvideo/batch/archive"
	"github.com/creativeai-run/catalogvideo/batch/outbox"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// AdPipelineSink stands in for an ad pipeline (the workflow's meta-ads
// surface): it reads the finished video (the archived copy when the outbox
// archived it, else output_url; see outbox.Open), checks that it is an MP4, and
// records its size and digest as the delivery reference. A real program
// would hand the bytes to its ad platform here; the download is the part
// every such sink shares, and it proves the output URL works before it
// expires.
type AdPipelineSink struct {
	// Client fetches the video; nil means http.DefaultClient.
	Client *http.Client
	// MaxBytes bounds a download (default 1 GiB, Shopify's video limit).
	MaxBytes int64

	mu       sync.Mutex
	received map[string]int64
}

// Deliver downloads job's video. Client errors (4xx) and a body that is not
// an MP4 are permanent; network errors and 5xx are retried by the outbox.
func (s *AdPipelineSink) Deliver(ctx context.Context, job jobs.Job) (string, error) {
	if job.OutputURL == "" && !job.Archived() {
		return "", outbox.Permanent(errors.New("job has no output_url"))
	}
	// The archived copy when there is one (verified as it is read), else
	// output_url.
	body, err := s.open(ctx, job)
	if err != nil {
		var de *archive.DownloadError
		if errors.Is(err, archive.ErrOutputGone) || errors.As(err, &de) && de.StatusCode != 0 && !de.Temporary() {
			return "", outbox.Permanent(fmt.Errorf("download video: %w", err))
		}
		return "", fmt.Errorf("download video: %w", err)
	}
	defer body.Close()
	limit := s.MaxBytes
	if limit <= 0 {
		limit = 1 << 30
	}
	h := sha256.New()
	var head [12]byte
	n, err := io.ReadFull(body, head[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("download video: %w", err)
	}
	h.Write(head[:n])
	// An MP4 starts with a box whose type, at offset 4, is "ftyp".
	if n < 8 || string(head[4:8]) != "ftyp" {
		return "", outbox.Permanent(errors.New("downloaded file is not an MP4 (no ftyp box)"))
	}
	buf := copyBuffers.Get().(*[]byte)
	rest, err := io.CopyBuffer(h, io.LimitReader(body, limit-int64(n)+1), *buf)
	copyBuffers.Put(buf)
	if err != nil {
		return "", fmt.Errorf("download video: %w", err)
	}
	size := int64(n) + rest
	if size > limit {
		return "", outbox.Permanent(fmt.Errorf("video is larger than %d bytes", limit))
	}
	s.mu.Lock()
	if s.received == nil {
		s.received = make(map[string]int64)
	}
	s.received[job.Key] = size
	s.mu.Unlock()
	return fmt.Sprintf("ads:%d-bytes:sha256:%s", size, hex.EncodeToString(h.Sum(nil))[:16]), nil
}

// copyBuffers hold the buffers downloads are read through, so that a
// delivery does not allocate (and clear) io.Copy's 32 KiB each time.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// Received returns the size of each video handed over, by job key.
func (s *AdPipelineSink) Received() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.received)
}

// open opens job's video: through outbox.Open, or through Client when one
// is set and the job has no archived copy.
func (s *AdPipelineSink) open(ctx context.Context, job jobs.Job) (*archive.Video, error) {
	if s.Client != nil && !job.Archived() {
		return archive.OpenOutput(ctx, s.Client, job)
	}
	return outbox.Open(ctx, job)
}
