package archive_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/archive"
	"github.com/creativeai-run/catalogvideo/batch/archive/archivetest"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// video is the body the test servers serve: 1 MiB, distinct bytes.
var video = func() []byte {
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(i*7 + i>>11)
	}
	return b
}()

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func completedJob(outputURL string) jobs.Job {
	return jobs.Job{Key: "SKU-1#0123456789abcdef", SKU: "SKU-1", Status: jobs.StatusCompleted, OutputURL: outputURL, Attempt: 2}
}

func newArchiver(t *testing.T, b archive.Bucket, opts ...archive.Option) *archive.Archiver {
	t.Helper()
	opts = append([]archive.Option{archive.WithBackoff(func(int) time.Duration { return 0 })}, opts...)
	a, err := archive.New(b, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// truncate answers with the full Content-Length but closes the connection
// after half the body, as a dropped CDN connection does.
func truncate(w http.ResponseWriter, body []byte) {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	fmt.Fprintf(rw, "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: %d\r\n\r\n", len(body))
	rw.Write(body[:len(body)/2])
	rw.Flush()
}

// truncateChunked sends a chunked body without its last chunk.
func truncateChunked(w http.ResponseWriter, body []byte) {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	fmt.Fprintf(rw, "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n", len(body)/2)
	rw.Write(body[:len(body)/2])
	rw.WriteString("\r\n")
	rw.Flush()
}

func TestArchive(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(video))
	}))
	defer srv.Close()
	b := archivetest.NewBucket("t")
	a := newArchiver(t, b)
	job := completedJob(srv.URL + "/output/vgen_1.mp4?sig=secret")

	got, err := a.Archive(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	wantKey := "videos/SKU-1/SKU-1-0123456789abcdef-a2.mp4"
	want := jobs.Archive{ArchiveURL: "mem://t/" + wantKey, SHA256: sum(video), ArchiveSize: int64(len(video)), ArchiveContentType: "video/mp4"}
	if got != want {
		t.Errorf("Archive = %+v\nwant %+v", got, want)
	}
	data, ct, ok := b.Object(wantKey)
	if !ok || !bytes.Equal(data, video) || ct != "video/mp4" {
		t.Errorf("object %s: %d bytes (%s), found %v; want the video", wantKey, len(data), ct, ok)
	}

	// Open streams the archived copy back, verified.
	job.Archive = got
	v, err := a.Open(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(v)
	v.Close()
	if err != nil || !bytes.Equal(back, video) || !v.Archived || v.Size != int64(len(video)) {
		t.Errorf("Open: %d bytes, %v, archived %v, size %d", len(back), err, v.Archived, v.Size)
	}
}

func TestArchiveRetriesTruncatedDownloads(t *testing.T) {
	for name, cut := range map[string]func(http.ResponseWriter, []byte){
		"content-length": truncate,
		"chunked":        truncateChunked,
	} {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) <= 2 {
					cut(w, video)
					return
				}
				w.Write(video)
			}))
			defer srv.Close()
			b := archivetest.NewBucket("t")
			got, err := newArchiver(t, b).Archive(t.Context(), completedJob(srv.URL+"/v.mp4"))
			if err != nil {
				t.Fatal(err)
			}
			if got.SHA256 != sum(video) || got.ArchiveSize != int64(len(video)) {
				t.Errorf("archived %d bytes with sha256 %s; want the whole video", got.ArchiveSize, got.SHA256)
			}
			if calls.Load() != 3 || b.Abandoned() != 2 || b.Commits() != 1 {
				t.Errorf("%d downloads, %d writes abandoned, %d committed; want 3, 2, 1", calls.Load(), b.Abandoned(), b.Commits())
			}
		})
	}
}

func TestArchiveNeverCommitsATruncatedDownload(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		truncate(w, video)
	}))
	defer srv.Close()
	b := archivetest.NewBucket("t")
	_, err := newArchiver(t, b, archive.WithMaxAttempts(3)).Archive(t.Context(), completedJob(srv.URL+"/v.mp4"))
	var de *archive.DownloadError
	if !errors.As(err, &de) || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Errorf("error = %v; want a DownloadError for an unexpected EOF after 3 attempts", err)
	}
	if len(b.Keys()) != 0 || b.Abandoned() != 3 || calls.Load() != 3 {
		t.Errorf("objects %v, %d abandoned, %d downloads; want none, 3, 3", b.Keys(), b.Abandoned(), calls.Load())
	}
}

func TestArchiveRetriesServerErrors(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			http.Error(w, "upstream down", http.StatusBadGateway)
		case 2:
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		default:
			w.Write(video)
		}
	}))
	defer srv.Close()
	got, err := newArchiver(t, archivetest.NewBucket("t")).Archive(t.Context(), completedJob(srv.URL+"/v.mp4"))
	if err != nil || got.SHA256 != sum(video) || calls.Load() != 3 {
		t.Errorf("Archive = %+v, %v after %d calls; want the video after 3", got, err, calls.Load())
	}
}

func TestArchiveOutputGone(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "Request has expired", http.StatusForbidden)
	}))
	defer srv.Close()
	b := archivetest.NewBucket("t")
	a := newArchiver(t, b)
	job := completedJob(srv.URL + "/v.mp4?X-Amz-Signature=secret")
	_, err := a.Archive(t.Context(), job)
	if !errors.Is(err, archive.ErrOutputGone) || calls.Load() != 1 {
		t.Fatalf("error = %v after %d calls; want ErrOutputGone at once", err, calls.Load())
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error shows the URL's signature: %v", err)
	}
	// Without an archive, opening the output fails clearly.
	if _, err := a.Open(t.Context(), job); !errors.Is(err, archive.ErrOutputGone) || !strings.Contains(err.Error(), "no archived copy") {
		t.Errorf("Open of an unarchived job whose output is gone: %v", err)
	}

	// An object committed by an earlier run that crashed before recording
	// it is adopted.
	w, _ := b.NewWriter(t.Context(), a.Key(job), "video/mp4")
	w.Write(video)
	w.Close()
	got, err := a.Archive(t.Context(), job)
	want := jobs.Archive{ArchiveURL: b.URL(a.Key(job)), SHA256: sum(video), ArchiveSize: int64(len(video)), ArchiveContentType: "video/mp4"}
	if err != nil || got != want {
		t.Errorf("Archive with the object already there = %+v, %v; want %+v", got, err, want)
	}
}

func TestArchiveReprDigest(t *testing.T) {
	good := sha256.Sum256(video)
	bad := sha256.Sum256([]byte("something else"))
	for name, tc := range map[string]struct {
		digest [32]byte
		ok     bool
	}{"match": {good, true}, "mismatch": {bad, false}} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Repr-Digest", "sha-512=:AAAA:, sha-256=:"+base64.StdEncoding.EncodeToString(tc.digest[:])+":")
				w.Write(video)
			}))
			defer srv.Close()
			b := archivetest.NewBucket("t")
			_, err := newArchiver(t, b, archive.WithMaxAttempts(2)).Archive(t.Context(), completedJob(srv.URL+"/v.mp4"))
			var ce *archive.ChecksumError
			switch {
			case tc.ok && err != nil:
				t.Errorf("Archive: %v", err)
			case !tc.ok && !errors.As(err, &ce):
				t.Errorf("Archive with a wrong Repr-Digest: error = %v, want a ChecksumError", err)
			case !tc.ok && (len(b.Keys()) != 0 || b.Abandoned() != 2):
				t.Errorf("objects %v, %d abandoned; want none committed, 2 abandoned", b.Keys(), b.Abandoned())
			}
		})
	}
}

func TestOpenDetectsCorruption(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(video) }))
	defer srv.Close()
	b := archivetest.NewBucket("t")
	a := newArchiver(t, b)
	job := completedJob(srv.URL + "/v.mp4")
	rec, err := a.Archive(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	job.Archive = rec
	if !b.Corrupt(a.Key(job)) {
		t.Fatal("no object to corrupt")
	}
	v, err := a.Open(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, v)
	var ce *archive.ChecksumError
	if !errors.As(err, &ce) || ce.WantSHA256 != rec.SHA256 || ce.GotSize != int64(len(video)) {
		t.Errorf("reading a corrupted copy: %d bytes, %v; want a ChecksumError at the end", n, err)
	}

	// A record whose size is wrong fails as soon as the bytes exceed it.
	job.ArchiveSize = 10
	v, _ = a.Open(t.Context(), job)
	if _, err := io.Copy(io.Discard, v); !errors.As(err, &ce) {
		t.Errorf("reading a copy longer than its record: %v", err)
	}

	// A copy kept in another bucket is refused by name.
	other := newArchiver(t, archivetest.NewBucket("other"))
	if _, err := other.Open(t.Context(), job); err == nil || !strings.Contains(err.Error(), "mem://t/") {
		t.Errorf("Open from another bucket: %v; want an error naming the archive_url", err)
	}
}

func TestObjectKey(t *testing.T) {
	for _, tc := range []struct {
		job  jobs.Job
		want string
	}{
		{jobs.Job{SKU: "A1", Key: "A1#00ff", OutputURL: "https://x/o/g.mp4?sig=1"}, "videos/A1/A1-00ff-a0.mp4"},
		{jobs.Job{SKU: "A1", Key: "A1#00ff", Attempt: 1, OutputURL: "https://x/o/g.webm"}, "videos/A1/A1-00ff-a1.webm"},
		{jobs.Job{SKU: "A1", Key: "A1", OutputURL: "https://x/o/g"}, "videos/A1/A1-a0.mp4"},
		{jobs.Job{SKU: "../etc", Key: "../etc#1", OutputURL: "https://x/o/g.MP4"}, "videos/.._etc/.._etc-1-" + sum([]byte("../etc#1"))[:8] + "-a0.mp4"},
		{jobs.Job{SKU: "..", Key: "..", OutputURL: "https://x/o/g.a%2Fb"}, "videos/__/__-" + sum([]byte(".."))[:8] + "-a0.mp4"},
		{jobs.Job{SKU: "tênis azul", Key: "tênis azul#9", OutputURL: ""}, "videos/t__nis_azul/t__nis_azul-9-" + sum([]byte("tênis azul#9"))[:8] + "-a0.mp4"},
	} {
		if got := archive.ObjectKey(archive.DefaultPrefix, tc.job); got != tc.want {
			t.Errorf("ObjectKey(%q, %q) = %q, want %q", tc.job.SKU, tc.job.Key, got, tc.want)
		}
	}
}

func FuzzObjectKey(f *testing.F) {
	f.Add("SKU-1", "SKU-1#00ff", 0, "https://cdn/x.mp4")
	f.Add("..", "../..", 3, "https://cdn/x.%2e%2e")
	f.Fuzz(func(t *testing.T, sku, key string, attempt int, outputURL string) {
		got := archive.ObjectKey("videos", jobs.Job{SKU: sku, Key: key, Attempt: attempt, OutputURL: outputURL})
		segs := strings.Split(got, "/")
		if len(segs) != 3 {
			t.Fatalf("ObjectKey = %q: want three segments", got)
		}
		for _, s := range segs {
			if s == "" || strings.Trim(s, ".") == "" {
				t.Fatalf("ObjectKey = %q: empty or dot segment %q", got, s)
			}
			for _, c := range []byte(s) {
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-", c) >= 0) {
					t.Fatalf("ObjectKey = %q: unsafe byte %q", got, c)
				}
			}
		}
		if !strings.Contains(segs[2], "-a"+strconv.Itoa(attempt)+".") {
			t.Fatalf("ObjectKey = %q does not end with the attempt", got)
		}
	})
}

func TestNewRejectsBadOptions(t *testing.T) {
	b := archivetest.NewBucket("t")
	for name, opt := range map[string]archive.Option{
		"zero attempts": archive.WithMaxAttempts(0),
		"dot prefix":    archive.WithPrefix("videos/../x"),
		"space prefix":  archive.WithPrefix("my videos"),
	} {
		if _, err := archive.New(b, opt); err == nil {
			t.Errorf("New with %s: no error", name)
		}
	}
	if _, err := archive.New(nil); err == nil {
		t.Error("New(nil): no error")
	}
	if _, err := archive.New(b, nil, archive.WithPrefix("a/b-c"), archive.WithLogger(nil), archive.WithHTTPClient(nil)); err != nil {
		t.Errorf("New with valid and nil options: %v", err)
	}
}

// TestOpenReportsMismatchWithTheLastByte checks that a reader that stops at
// the recorded size, as an upload with Content-Length does, still sees a
// corrupted copy.
func TestOpenReportsMismatchWithTheLastByte(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(video) }))
	defer srv.Close()
	b := archivetest.NewBucket("t")
	a := newArchiver(t, b)
	job := completedJob(srv.URL + "/v.mp4")
	rec, err := a.Archive(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	job.Archive = rec
	b.Corrupt(a.Key(job))
	v, err := a.Open(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	err = readExactly(v, v.Size)
	var ce *archive.ChecksumError
	if !errors.As(err, &ce) {
		t.Errorf("reading exactly the recorded size of a corrupted copy: %v, want a ChecksumError", err)
	}
	// An intact copy read the same way gives no error.
	b2 := archivetest.NewBucket("t")
	a2 := newArchiver(t, b2)
	if _, err := a2.Archive(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	v2, _ := a2.Open(t.Context(), job)
	defer v2.Close()
	if err := readExactly(v2, v2.Size); err != nil {
		t.Errorf("reading an intact copy: %v", err)
	}
}

// readExactly reads size bytes from r and not one more, as a consumer that
// trusts Content-Length does, returning the first error Read gives.
func readExactly(r io.Reader, size int64) error {
	buf := make([]byte, 32<<10)
	for size > 0 {
		n, err := r.Read(buf[:min(int64(len(buf)), size)])
		size -= int64(n)
		if err != nil && (err != io.EOF || size > 0) {
			return err
		}
	}
	return nil
}
