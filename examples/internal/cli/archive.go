package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:///var/lib/catalogvideo
	_ "gocloud.dev/blob/gcsblob"  // gs://bucket (Application Default Credentials)
	_ "gocloud.dev/blob/s3blob"   // s3://bucket?region=… (the AWS SDK's credentials)

	"github.com/creativeai-run/catalogvideo/batch/archive"
	"github.com/creativeai-run/catalogvideo/batch/archive/blobarchive"
)

// ArchiveFlagHelp documents -archive in the programs' usage.
const ArchiveFlagHelp = "keep every video in this bucket `URL` before delivering it: file:///var/lib/catalogvideo, " +
	"s3://bucket?region=REGION (AWS credentials from the environment or a profile), gs://bucket (Google Application Default Credentials)"

// Archive is an opened -archive bucket.
type Archive struct {
	*archive.Archiver
	// Display names the bucket in messages, without its query.
	Display string
	bucket  *blob.Bucket
}

// Close closes the bucket.
func (a *Archive) Close() error { return a.bucket.Close() }

// CheckArchiveURL checks an -archive value before anything starts: a URL
// whose scheme is file, s3, gs or azblob.
func CheckArchiveURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-archive %q: %v", raw, err)
	}
	switch u.Scheme {
	case "file":
		if u.Path == "" || u.Path == "/" {
			return fmt.Errorf("-archive %q: want a folder, such as file:///var/lib/catalogvideo", raw)
		}
	case "s3", "gs":
		if u.Host == "" {
			return fmt.Errorf("-archive %q: want %s://BUCKET", raw, u.Scheme)
		}
	default:
		return fmt.Errorf("-archive %q: want a file://, s3:// or gs:// URL", raw)
	}
	return nil
}

// FolderURL returns the file:// URL of a local folder, created if missing,
// with temporary files kept beside their objects so that committing one is
// a rename on the same file system.
func FolderURL(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return "file://" + filepath.ToSlash(abs) + "?create_dir=1&no_tmp_dir=1", nil
}

// OpenArchive opens the bucket an -archive URL names and an Archiver
// writing into it, configured further by opts. A file:// folder is created
// when missing.
func OpenArchive(ctx context.Context, raw string, logger *slog.Logger, opts ...archive.Option) (*Archive, error) {
	if err := CheckArchiveURL(raw); err != nil {
		return nil, err
	}
	open := raw
	if strings.HasPrefix(raw, "file:") && !strings.Contains(raw, "?") {
		open = raw + "?create_dir=1&no_tmp_dir=1"
	}
	b, err := blob.OpenBucket(ctx, open)
	if err != nil {
		return nil, fmt.Errorf("-archive %s: %w", redactURL(raw), err)
	}
	// Opening checks only the URL; reach the bucket now, before anything
	// is rendered and paid for, rather than at the first archive.
	switch ok, err := b.IsAccessible(ctx); {
	case err != nil:
		b.Close()
		return nil, fmt.Errorf("-archive %s: the bucket cannot be reached: %w", redactURL(raw), err)
	case !ok:
		b.Close()
		return nil, fmt.Errorf("-archive %s: no such bucket; create it, or name one that exists", redactURL(raw))
	}
	bucket, err := blobarchive.New(b, raw)
	if err == nil {
		var a *archive.Archiver
		if a, err = archive.New(bucket, append([]archive.Option{archive.WithLogger(logger)}, opts...)...); err == nil {
			return &Archive{Archiver: a, Display: bucket.URL("")[:len(bucket.URL(""))-1], bucket: b}, nil
		}
	}
	b.Close()
	return nil, err
}
