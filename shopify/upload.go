package shopify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strconv"
	"strings"
)

const videoMIMEType = "video/mp4"

// video is the mp4 to publish, opened for streaming: either the download's
// body, when the server sent Content-Length, or a spooled temporary file.
type video struct {
	r     io.Reader
	size  int64
	close func() error
}

// openVideo starts downloading the rendered mp4. The body is not read here
// (unless it must be spooled), so the bytes flow from the render service to
// Shopify's storage without being held in memory.
func (p *Publisher) openVideo(ctx context.Context, outputURL string) (*video, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, outputURL, nil)
	if err != nil {
		return nil, &PermanentError{Op: "download", Err: fmt.Errorf("output URL %q: %w", outputURL, err)}
	}
	resp, err := p.transfer.Do(req)
	if err != nil {
		return nil, fmt.Errorf("shopify: download: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_ = resp.Body.Close()
		err := fmt.Errorf("GET %s: HTTP %d: %s", redactURL(outputURL), resp.StatusCode, strings.TrimSpace(string(snippet)))
		// A missing or forbidden output (an expired signed URL) stays so.
		if resp.StatusCode >= 400 && resp.StatusCode < 500 &&
			resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
			return nil, &PermanentError{Op: "download", Err: err}
		}
		return nil, fmt.Errorf("shopify: download: %w", err)
	}
	if resp.ContentLength >= 0 {
		if err := p.checkSize(resp.ContentLength); err != nil {
			_ = resp.Body.Close()
			return nil, err
		}
		return &video{r: resp.Body, size: resp.ContentLength, close: resp.Body.Close}, nil
	}
	defer resp.Body.Close()
	return p.spool(resp.Body)
}

// spool copies a body of unknown length to a temporary file, because
// stagedUploadsCreate needs the size before the upload starts.
func (p *Publisher) spool(body io.Reader) (*video, error) {
	f, err := os.CreateTemp(p.spoolDir, "catalogvideo-*.mp4")
	if err != nil {
		return nil, fmt.Errorf("shopify: spooling video: %w", err)
	}
	remove := func() error {
		cerr := f.Close()
		if rerr := os.Remove(f.Name()); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return rerr
		}
		return cerr
	}
	n, err := io.Copy(f, io.LimitReader(body, p.maxVideoBytes+1))
	if err == nil {
		err = p.checkSize(n)
	} else {
		err = fmt.Errorf("shopify: spooling video: %w", err)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		_ = remove()
		return nil, err
	}
	return &video{r: f, size: n, close: remove}, nil
}

func (p *Publisher) checkSize(n int64) error {
	switch {
	case n == 0:
		return &PermanentError{Op: "download", Err: errors.New("the video is empty")}
	case n > p.maxVideoBytes:
		return &PermanentError{Op: "download", Err: fmt.Errorf("the video is larger than the %d-byte limit", p.maxVideoBytes)}
	}
	return nil
}

// stagedTarget is where stagedUploadsCreate said to upload one file.
type stagedTarget struct {
	URL         string
	ResourceURL string
	Params      [][2]string
}

// stagedFile is one video to ask an upload target for.
type stagedFile struct {
	Filename string
	Size     int64
}

// stage asks Shopify for VIDEO upload targets, one per file, in one
// stagedUploadsCreate call; the targets come back in the files' order.
func (p *Publisher) stage(ctx context.Context, files []stagedFile) ([]stagedTarget, error) {
	input := make([]stagedUploadInput, len(files))
	for i, f := range files {
		input[i] = stagedUploadInput{
			Resource:   "VIDEO",
			Filename:   f.Filename,
			MimeType:   videoMIMEType,
			HttpMethod: "POST",
			FileSize:   strconv.FormatInt(f.Size, 10),
		}
	}
	return p.stageInputs(ctx, input)
}

// stageInputs asks for one upload target per input.
func (p *Publisher) stageInputs(ctx context.Context, input []stagedUploadInput) ([]stagedTarget, error) {
	resp, err := stageUpload(ctx, p.client, input)
	if err != nil {
		return nil, err
	}
	payload := resp.GetStagedUploadsCreate()
	if ues := payload.GetUserErrors(); len(ues) > 0 {
		errs := &UserErrors{Operation: "stagedUploadsCreate"}
		for _, ue := range ues {
			errs.Errors = append(errs.Errors, &UserError{Field: ue.GetField(), Message: ue.GetMessage()})
		}
		return nil, &PermanentError{Op: "stage", Err: errs}
	}
	got := payload.GetStagedTargets()
	if len(got) != len(input) {
		return nil, fmt.Errorf("shopify: stagedUploadsCreate returned %d targets for %d files", len(got), len(input))
	}
	targets := make([]stagedTarget, len(got))
	for i, g := range got {
		if g.GetUrl() == "" || g.GetResourceUrl() == "" {
			return nil, fmt.Errorf("shopify: stagedUploadsCreate returned target %d without url or resourceUrl", i)
		}
		t := stagedTarget{URL: g.GetUrl(), ResourceURL: g.GetResourceUrl()}
		for _, prm := range g.GetParameters() {
			t.Params = append(t.Params, [2]string{prm.GetName(), prm.GetValue()})
		}
		targets[i] = t
	}
	return targets, nil
}

// upload POSTs the video to a staged target as multipart/form-data: every
// parameter as a form field in the order given, then the file.
//
// The body is streamed from v, never buffered whole. Only the small parts
// around the file are built in memory, which gives the exact Content-Length:
// the storage behind staged targets checks the length against the signed
// policy and does not take chunked uploads, so an io.Pipe body of unknown
// length would be refused.
func (p *Publisher) upload(ctx context.Context, t stagedTarget, filename, contentType string, v *video) error {
	var head, tail bytes.Buffer
	sw := &switchWriter{w: &head}
	mw := multipart.NewWriter(sw)
	for _, prm := range t.Params {
		if err := mw.WriteField(prm[0], prm[1]); err != nil {
			return fmt.Errorf("shopify: upload: %w", err)
		}
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", multipart.FileContentDisposition("file", filename))
	h.Set("Content-Type", contentType)
	if _, err := mw.CreatePart(h); err != nil {
		return fmt.Errorf("shopify: upload: %w", err)
	}
	sw.w = &tail
	if err := mw.Close(); err != nil {
		return fmt.Errorf("shopify: upload: %w", err)
	}

	body := io.MultiReader(&head, &exactReader{r: v.r, n: v.size}, &tail)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, body)
	if err != nil {
		return fmt.Errorf("shopify: upload: %w", err)
	}
	req.ContentLength = int64(head.Len()) + v.size + int64(tail.Len())
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := p.transfer.Do(req)
	if err != nil {
		return fmt.Errorf("shopify: upload to staged target: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	err = fmt.Errorf("upload to staged target: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(snippet)))
	if resp.StatusCode == http.StatusRequestEntityTooLarge {
		return &PermanentError{Op: "upload", Err: err}
	}
	// Other refusals (an expired policy, a storage hiccup) may pass with a
	// fresh target on the next attempt.
	return fmt.Errorf("shopify: %w", err)
}

// switchWriter lets the multipart writer's closing boundary land in a
// different buffer from the fields and the file header.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(b []byte) (int, error) { return s.w.Write(b) }

// exactReader reads exactly n bytes from r, failing with
// io.ErrUnexpectedEOF if r ends early, so a truncated download fails the
// upload instead of sending a short file under a full-length header.
type exactReader struct {
	r io.Reader
	n int64
}

func (e *exactReader) Read(b []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > e.n {
		b = b[:e.n]
	}
	n, err := e.r.Read(b)
	e.n -= int64(n)
	if err == io.EOF && e.n > 0 {
		return n, io.ErrUnexpectedEOF
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// redactURL drops the query string, which for signed URLs is a credential.
func redactURL(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i] + "?…"
	}
	return s
}
