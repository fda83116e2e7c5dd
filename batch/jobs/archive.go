package jobs

import (
	"errors"
	"fmt"
	"time"
)

// Archive is the copy of a job's output kept in storage the merchant owns
// (see batch/archive), recorded once the copy is complete and verified.
// Its fields are part of the record format, beside output_url; all are
// empty until the output is archived.
type Archive struct {
	// ArchiveURL locates the copy, in the storage's own scheme (such as
	// file:///var/lib/catalogvideo/videos/SKU-1/…mp4 or s3://bucket/…).
	ArchiveURL string `json:"archive_url,omitempty"`
	// SHA256 is the lowercase hex SHA-256 of the copy's bytes.
	SHA256 string `json:"sha256,omitempty"`
	// ArchiveSize is the copy's size in bytes.
	ArchiveSize int64 `json:"archive_size,omitempty"`
	// ArchiveContentType is the media type the output was served with,
	// such as video/mp4.
	ArchiveContentType string `json:"archive_content_type,omitempty"`
}

// ErrNotCompleted is returned by [Store.RecordArchive] for a job whose
// render has not completed: there is no output to have archived.
var ErrNotCompleted = errors.New("batch: job is not completed")

// Archived reports whether j's output has been archived.
func (j *Job) Archived() bool { return j.ArchiveURL != "" }

// Validate returns an error wrapping [ErrInvalid] when a is not a complete
// record of an archived copy: no URL, a SHA256 that is not 64 lowercase hex
// digits, or a negative size.
func (a *Archive) Validate() error {
	switch {
	case a.ArchiveURL == "":
		return fmt.Errorf("%w: archive has no archive_url", ErrInvalid)
	case !isSHA256Hex(a.SHA256):
		return fmt.Errorf("%w: archive sha256 %q is not 64 lowercase hex digits", ErrInvalid, a.SHA256)
	case a.ArchiveSize < 0:
		return fmt.Errorf("%w: archive_size is %d, want 0 or more", ErrInvalid, a.ArchiveSize)
	}
	return nil
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// RecordArchive records a as the archived copy of j's output, replacing
// any earlier record (a rewrite of the same object after a crash). It
// returns an error wrapping [ErrInvalid] for an incomplete a, and one
// wrapping [ErrNotCompleted] unless j is completed. Delivery state is
// untouched: archiving is a step of delivery, not a delivery attempt.
func (j *Job) RecordArchive(a Archive, now time.Time) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("record archive of %s: %w", j.Key, err)
	}
	if j.Status != StatusCompleted {
		return fmt.Errorf("%w: %s is %s", ErrNotCompleted, j.Key, j.Status)
	}
	j.Archive = a
	j.UpdatedAt = now
	return nil
}
