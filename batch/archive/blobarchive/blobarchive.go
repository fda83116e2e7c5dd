// Package blobarchive adapts a *blob.Bucket from gocloud.dev/blob, the
// portable blob API, to archive.Bucket, so that batch/archive can keep
// videos in a local folder, S3, Google Cloud Storage or Azure Blob Storage.
//
// It lives apart from batch/archive because gocloud.dev/blob imports some
// 190 packages (gRPC and OpenTelemetry among them): only programs import
// it, together with the drivers they want, and open the bucket themselves:
//
//	import (
//		"gocloud.dev/blob"
//		_ "gocloud.dev/blob/fileblob" // file:///var/lib/catalogvideo
//		_ "gocloud.dev/blob/s3blob"   // s3://bucket?region=eu-west-1
//	)
//
//	bucket, err := blob.OpenBucket(ctx, "file:///var/lib/catalogvideo?create_dir=1")
//	...
//	defer bucket.Close()
//	b, err := blobarchive.New(bucket, "file:///var/lib/catalogvideo")
//	archiver, err := archive.New(b)
//
// s3:// reads credentials the AWS SDK's way (AWS_ACCESS_KEY_ID or a
// profile, and a region) and gs:// Google's Application Default
// Credentials; file:// needs none.
package blobarchive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/creativeai-run/catalogvideo/batch/archive"
)

// Bucket is an archive.Bucket backed by a *blob.Bucket. A blob.Writer
// commits on Close and abandons the write when its context is cancelled
// first, which is what archive.Bucket asks.
type Bucket struct {
	b    *blob.Bucket
	base string
}

var _ archive.Bucket = (*Bucket)(nil)

// New wraps b, which the caller opened and closes. bucketURL is the URL b
// was opened with; archive URLs are it, without its query (driver
// settings such as ?region= or ?create_dir=), followed by "/" and the
// object's key: file:///var/lib/catalogvideo/videos/SKU-1/… or
// s3://bucket/videos/SKU-1/…. It returns an error for a nil bucket or a
// URL without a scheme.
func New(b *blob.Bucket, bucketURL string) (*Bucket, error) {
	if b == nil {
		return nil, errors.New("blobarchive: New: nil *blob.Bucket")
	}
	u, err := url.Parse(bucketURL)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("blobarchive: bucket URL %q: want scheme://bucket, such as file:///var/lib/catalogvideo or s3://my-bucket", bucketURL)
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return &Bucket{b: b, base: strings.TrimSuffix(u.String(), "/")}, nil
}

// NewWriter starts writing the object at key; see archive.Bucket.
func (b *Bucket) NewWriter(ctx context.Context, key, contentType string) (io.WriteCloser, error) {
	return b.b.NewWriter(ctx, key, &blob.WriterOptions{ContentType: contentType})
}

// NewReader opens the object at key; a missing object's error wraps
// archive.ErrNotExist.
func (b *Bucket) NewReader(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := b.b.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("%w: %s: %v", archive.ErrNotExist, b.URL(key), err)
	}
	return r, err
}

// URL returns the bucket URL without its query, "/" and key.
func (b *Bucket) URL(key string) string { return b.base + "/" + key }
