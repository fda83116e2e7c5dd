package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// The -archive URLs for S3 and Google Cloud Storage, each through its real
// gocloud.dev driver against an in-process fake of the service on
// loopback: the video is streamed in, recorded with its checksum, and read
// back verified.

// videoServer serves a video of size bytes at /out.mp4, as output_url.
func videoServer(t *testing.T, size int) (string, []byte) {
	t.Helper()
	video := bytes.Repeat([]byte("catalogvideo-mp4"), size/16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", strconv.Itoa(len(video)))
		w.Write(video)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/out.mp4", video
}

// archiveRoundTrip archives a completed job into the bucket raw names and
// checks the record and the copy read back through the archive.
func archiveRoundTrip(t *testing.T, raw, wantURLPrefix string) {
	t.Helper()
	outputURL, video := videoServer(t, 12<<20) // above S3's 5 MiB part size: a multipart upload
	a, err := OpenArchive(t.Context(), raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	job := jobs.Job{Key: "SKU-1#k", SKU: "SKU-1", Status: jobs.StatusCompleted, OutputURL: outputURL, GenerationID: "vgen_1"}
	rec, err := a.Archiver.Archive(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(video)
	if rec.SHA256 != hex.EncodeToString(sum[:]) || rec.ArchiveSize != int64(len(video)) || !strings.HasPrefix(rec.ArchiveURL, wantURLPrefix) {
		t.Fatalf("archive record %+v; want sha256 %x, %d bytes, URL under %s", rec, sum, len(video), wantURLPrefix)
	}
	job.Archive = rec
	v, err := a.Archiver.Open(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	got, err := io.ReadAll(v)
	if err != nil {
		t.Fatalf("reading the copy back: %v", err)
	}
	if !bytes.Equal(got, video) {
		t.Errorf("read back %d bytes that differ from the %d archived", len(got), len(video))
	}
}

// fakeS3 starts an S3 fake holding the given buckets, points the AWS SDK's
// credentials at test values, and returns the query an s3:// URL needs to
// reach the fake.
func fakeS3(t *testing.T, buckets ...string) string {
	t.Helper()
	backend := s3mem.New()
	for _, name := range buckets {
		if err := backend.CreateBucket(name); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	return url.Values{"region": {"us-east-1"}, "endpoint": {srv.URL}, "use_path_style": {"true"}, "disable_https": {"true"}}.Encode()
}

func TestArchiveToS3(t *testing.T) {
	archiveRoundTrip(t, "s3://videos?"+fakeS3(t, "videos"), "s3://videos/")
}

func TestArchiveToGCS(t *testing.T) {
	gcs, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", PublicHost: "127.0.0.1", Writer: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gcs.Stop)
	gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "videos"})
	u, err := url.Parse(gcs.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("STORAGE_EMULATOR_HOST", u.Host)
	archiveRoundTrip(t, "gs://videos", "gs://videos/")
}

// TestOpenArchiveChecksTheBucket checks that a bucket that does not exist
// is reported when the archive is opened, before anything is rendered.
func TestOpenArchiveChecksTheBucket(t *testing.T) {
	a, err := OpenArchive(t.Context(), "s3://missing?"+fakeS3(t), nil)
	if err == nil {
		a.Close()
		t.Fatal("OpenArchive of a bucket that does not exist succeeded")
	}
	if !strings.Contains(err.Error(), "no such bucket") && !strings.Contains(err.Error(), "cannot be reached") {
		t.Errorf("error %q does not say the bucket is missing or unreachable", err)
	}
}
