package storetest

import (
	"strings"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// archiveCases lists the subtests of RecordArchive that Run runs.
var archiveCases = []testCase{
	{"RecordArchive/Records", testArchiveRecords},
	{"RecordArchive/Rewrite", testArchiveRewrite},
	{"RecordArchive/Refused", testArchiveRefused},
}

// durableArchiveCases lists the subtests of RecordArchive that RunDurable
// adds.
var durableArchiveCases = []testCase{
	{"Durable/Archive", testDurableArchive},
}

// archiveOf returns an archive record for key whose digest is made of c.
func archiveOf(key string, c byte) jobs.Archive {
	return jobs.Archive{
		ArchiveURL:         "file:///var/lib/catalogvideo/videos/SKU-" + key + "/" + key + "-a0.mp4",
		SHA256:             strings.Repeat(string(c), 64),
		ArchiveSize:        65536,
		ArchiveContentType: "video/mp4",
	}
}

func (h *harness) recordArchive(key string, a jobs.Archive) jobs.Job {
	h.Helper()
	j, err := h.s.RecordArchive(h.ctx, key, a)
	if err != nil {
		h.Fatalf("RecordArchive(%s): %v", key, err)
	}
	return j
}

func testArchiveRecords(h *harness) {
	want := h.completedJob("a")
	now := h.clock.Advance(time.Second)
	a := archiveOf("a", 'e')
	got := h.recordArchive("a", a)
	want.Archive, want.UpdatedAt = a, now
	h.diff("RecordArchive", want, got)
	h.diff("Get after RecordArchive", want, h.get("a"))
	if !got.Archived() {
		h.Error("Archived() = false after RecordArchive")
	}
	// The job stays in the outbox, due as before, and a claim carries the
	// archive to the worker.
	claimed := h.claim("w", 10, now)
	h.diff("claimed", []jobs.Job{want}, claimed)
	want.DeliveryAttempts, want.Delivery = 1, jobs.DeliveryDelivered
	want.DeliveryRef, want.DeliveryNextAt = "gid://shopify/MediaImage/1", time.Time{}
	got = h.recordDelivery("a", jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryDelivered, Ref: want.DeliveryRef})
	h.diff("delivered job keeps its archive", want, got)
}

func testArchiveRewrite(h *harness) {
	h.completedJob("a")
	h.recordArchive("a", archiveOf("a", 'e'))
	now := h.clock.Advance(time.Second)
	second := archiveOf("a", '7')
	second.ArchiveSize = 1
	got := h.recordArchive("a", second)
	if got.Archive != second || !got.UpdatedAt.Equal(now) {
		h.Errorf("after a second RecordArchive: archive %+v at %v; want %+v at %v", got.Archive, got.UpdatedAt, second, now)
	}
	h.diff("Get after rewrite", got, h.get("a"))
}

func testArchiveRefused(h *harness) {
	h.trackSubmitted("running", "vgen_running")
	h.completedJob("done")
	before := h.list(jobs.Filter{})
	h.clock.Advance(time.Second)

	_, err := h.s.RecordArchive(h.ctx, "running", archiveOf("running", 'e'))
	h.wantErr("RecordArchive of a processing job", err, jobs.ErrNotCompleted)
	_, err = h.s.RecordArchive(h.ctx, "missing", archiveOf("missing", 'e'))
	h.wantErr("RecordArchive of an unknown key", err, jobs.ErrNotFound)
	for name, a := range map[string]jobs.Archive{
		"no url":          {SHA256: strings.Repeat("e", 64)},
		"short sha256":    {ArchiveURL: "file:///x.mp4", SHA256: "abc"},
		"uppercase hex":   {ArchiveURL: "file:///x.mp4", SHA256: strings.Repeat("E", 64)},
		"negative size":   {ArchiveURL: "file:///x.mp4", SHA256: strings.Repeat("e", 64), ArchiveSize: -1},
		"not hex at all!": {ArchiveURL: "file:///x.mp4", SHA256: strings.Repeat("g", 64)},
	} {
		_, err := h.s.RecordArchive(h.ctx, "done", a)
		h.wantErr("RecordArchive with "+name, err, jobs.ErrInvalid)
	}
	h.diff("jobs after refused archives", before, h.list(jobs.Filter{}))
}

func testDurableArchive(h *harness) {
	h.completedJob("a")
	h.recordArchive("a", archiveOf("a", 'e'))
	want := h.list(jobs.Filter{})
	h.reopen()
	h.checkSame("after reopen", want)
}
