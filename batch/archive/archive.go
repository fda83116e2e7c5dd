// Package archive keeps every rendered video: it streams a completed job's
// output_url into storage the merchant owns, computing the SHA-256 and size
// on the way, and never commits a download that ended early or does not
// match its Content-Length. Render services keep outputs for a short time
// (CreativeAI does not say how long), so a delivery retried a day later, a
// rollback or an audit reads the archived copy instead.
//
// The storage is a [Bucket], a small interface of this package's own, so
// that the SDK does not carry a cloud SDK: batch/archive/blobarchive adapts
// a *blob.Bucket from gocloud.dev/blob (file://, s3://, gs://, azblob://),
// which only programs import.
//
// An [Archiver] is used by batch/outbox (outbox.Config.Archive): a claimed
// job is archived and the archive recorded on the job (jobs.Store.
// RecordArchive) before its sink is called, and sinks read the archived
// copy back with [Archiver.Open], verified against the recorded SHA-256 as
// it streams.
package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// Bucket is storage an Archiver writes objects to and reads them from.
// Keys are slash-separated paths of the characters [A-Za-z0-9._/-] (see
// [ObjectKey]). Implementations are safe for concurrent use.
type Bucket interface {
	// NewWriter starts writing the object at key, with the given media
	// type. The object is created, or replaces the one at key, only when
	// Close returns nil; until then readers see the earlier object, if any.
	// Cancelling ctx before Close abandons the write: Close then returns an
	// error and the object at key is as it was. The Archiver relies on this
	// to never commit an incomplete download.
	NewWriter(ctx context.Context, key, contentType string) (io.WriteCloser, error)
	// NewReader opens the object at key for reading. When there is none, the
	// error wraps [ErrNotExist].
	NewReader(ctx context.Context, key string) (io.ReadCloser, error)
	// URL returns the URL recorded as a job's archive_url for the object at
	// key, such as file:///var/lib/catalogvideo/videos/SKU-1/… or
	// s3://bucket/videos/SKU-1/…. It names the object for people and for
	// [Archiver.Open]; it need not be fetchable over HTTP.
	URL(key string) string
}

// ErrNotExist is wrapped by the error a Bucket's NewReader returns for a key
// with no object.
var ErrNotExist = errors.New("archive: no such object")

// ErrNotArchived is returned by [Archiver.Open] for a job with no
// archive_url.
var ErrNotArchived = errors.New("archive: job has no archived copy")

// ErrOutputGone is wrapped by the error of an archive whose output_url
// answers 403, 404 or 410: the provider no longer serves the video, most
// likely because its link expired. Retrying cannot help.
var ErrOutputGone = errors.New("archive: output_url no longer serves the video (the provider's link has likely expired)")

// DefaultPrefix is the folder under which [ObjectKey] names objects.
const DefaultPrefix = "videos"

// ObjectKey returns the key of the object that keeps job's output:
//
//	<prefix>/<sku>/<key>-a<attempt><ext>
//
// where ext is the extension of output_url's path when it is a short
// alphanumeric one (".mp4" otherwise). The SKU and key keep the characters
// [A-Za-z0-9._-]; a key's '#' becomes '-' and any other character '_', and a
// key so changed gets 8 hex digits of its SHA-256 appended, so that two jobs
// never share an object. A rerun or retry of the same attempt therefore
// writes the same object, and a replay (a new attempt) its own.
func ObjectKey(prefix string, job jobs.Job) string {
	sku, _ := sanitize(job.SKU)
	if sku == "" {
		sku = "_"
	}
	name, lossy := sanitize(strings.ReplaceAll(job.Key, "#", "-"))
	if lossy || name == "" {
		sum := sha256.Sum256([]byte(job.Key))
		name += "-" + hex.EncodeToString(sum[:4])
	}
	obj := sku + "/" + name + "-a" + strconv.Itoa(job.Attempt) + extension(job.OutputURL)
	if prefix == "" {
		return obj
	}
	return strings.Trim(prefix, "/") + "/" + obj
}

// sanitize keeps the characters of s that are safe in every bucket's keys
// and file systems, replacing the others with '_', and reports whether it
// replaced any. A name of dots alone (".", "..") is replaced whole.
func sanitize(s string) (string, bool) {
	lossy := false
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			b[i], lossy = '_', true
		}
	}
	if strings.Trim(string(b), ".") == "" && len(b) > 0 {
		return strings.Repeat("_", len(b)), true
	}
	return string(b), lossy
}

// extension returns the extension of rawURL's path when it is 2 to 5
// lowercase letters or digits, and ".mp4" otherwise.
func extension(rawURL string) string {
	p := rawURL
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	ext := strings.ToLower(path.Ext(p))
	if len(ext) < 3 || len(ext) > 6 {
		return ".mp4"
	}
	for _, c := range []byte(ext[1:]) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return ".mp4"
		}
	}
	return ext
}

// ChecksumError reports bytes that do not match what was expected of them:
// an archived copy whose SHA-256 or size differs from the job's record, or
// a download that differs from the digest its server announced.
type ChecksumError struct {
	// What names the bytes checked: an archive_url or an output_url.
	What string
	// WantSHA256 and GotSHA256 are lowercase hex.
	WantSHA256, GotSHA256 string
	// WantSize and GotSize are in bytes; WantSize is -1 when unknown.
	WantSize, GotSize int64
}

// Error names the bytes and both digests and sizes.
func (e *ChecksumError) Error() string {
	if e.WantSize >= 0 && e.WantSize != e.GotSize {
		return fmt.Sprintf("archive: %s: %d bytes, want %d (sha256 %s, want %s)", e.What, e.GotSize, e.WantSize, e.GotSHA256, e.WantSHA256)
	}
	return fmt.Sprintf("archive: %s: sha256 %s, want %s", e.What, e.GotSHA256, e.WantSHA256)
}
