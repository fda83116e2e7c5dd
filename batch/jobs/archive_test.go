package jobs_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

func TestDecodeRecordArchive(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	good := `{"key":"k","sku":"S","status":"completed","archive_url":"file:///a/S/k-a0.mp4","sha256":"` + sum + `","archive_size":42,"archive_content_type":"video/mp4"}`
	rec, err := jobs.DecodeRecord([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := jobs.Archive{ArchiveURL: "file:///a/S/k-a0.mp4", SHA256: sum, ArchiveSize: 42, ArchiveContentType: "video/mp4"}
	if rec.Archive != want || !rec.Archived() {
		t.Errorf("archive = %+v, want %+v", rec.Archive, want)
	}
	bad := `{"key":"k","sku":"S","status":"completed","archive_url":"file:///a","sha256":"xyz"}`
	if _, err := jobs.DecodeRecord([]byte(bad)); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("record with a bad sha256: error = %v, want one naming sha256", err)
	}
}

func TestReplayClearsArchive(t *testing.T) {
	j := jobs.Job{Key: "k", Status: jobs.StatusCompleted}
	if err := j.RecordArchive(jobs.Archive{ArchiveURL: "file:///x", SHA256: strings.Repeat("0", 64)}, j.UpdatedAt); err != nil {
		t.Fatal(err)
	}
	j.Status, j.GenerationID = jobs.StatusFailed, "vgen_1"
	if err := j.Replay(j.UpdatedAt); err != nil {
		t.Fatal(err)
	}
	if j.Archived() {
		t.Errorf("replayed job keeps the archive of its earlier attempt: %+v", j.Archive)
	}
	j.Status = jobs.StatusPending
	err := j.RecordArchive(jobs.Archive{ArchiveURL: "file:///x", SHA256: strings.Repeat("0", 64)}, j.UpdatedAt)
	if !errors.Is(err, jobs.ErrNotCompleted) {
		t.Errorf("RecordArchive on a pending job: %v, want ErrNotCompleted", err)
	}
}
