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

	"github.com/creativeai-run/catalogvideo/batch/outbox"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// AdPipelineSink stands in for an ad pipeline (the workflow's meta-ads
// surface): it downloads the finished video, checks that it is an MP4, and
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
	if job.OutputURL == "" {
		return "", outbox.Permanent(errors.New("job has no output_url"))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, job.OutputURL, nil)
	if err != nil {
		return "", outbox.Permanent(fmt.Errorf("bad output_url: %w", err))
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("download video: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("download video: HTTP %d", resp.StatusCode)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout {
			return "", outbox.Permanent(err)
		}
		return "", err
	}
	limit := s.MaxBytes
	if limit <= 0 {
		limit = 1 << 30
	}
	h := sha256.New()
	var head [12]byte
	n, err := io.ReadFull(resp.Body, head[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("download video: %w", err)
	}
	h.Write(head[:n])
	// An MP4 starts with a box whose type, at offset 4, is "ftyp".
	if n < 8 || string(head[4:8]) != "ftyp" {
		return "", outbox.Permanent(errors.New("downloaded file is not an MP4 (no ftyp box)"))
	}
	rest, err := io.Copy(h, io.LimitReader(resp.Body, limit-int64(n)+1))
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

// Received returns the size of each video handed over, by job key.
func (s *AdPipelineSink) Received() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.received)
}
