package shopify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

// replaceFixture is a product with two images, SKU COAT-S's first video
// (job v1) at slot 2 and SKU COAT-M's video after it.
type replaceFixture struct {
	*merchStore
	pid      string
	old, mID string
}

func newReplaceFixture(t *testing.T) *replaceFixture {
	m := newMerchStore(t)
	f := &replaceFixture{merchStore: m, pid: m.product("Wool Coat", 2, "COAT-S", "COAT-M")}
	pub := m.publisher()
	first, err := pub.PublishVideo(context.Background(), m.job("v1", "COAT-S"))
	if err != nil || first.Slot != 2 {
		t.Fatalf("first video: %+v, %v", first, err)
	}
	other, err := pub.PublishVideo(context.Background(), shopify.VideoJob{Key: "m1", SKU: "COAT-M",
		OutputURL: m.srv.AddVideo(shopifytest.Video{Size: 99}), Placement: shopify.Placement{Last: true}})
	if err != nil {
		t.Fatalf("other SKU's video: %v", err)
	}
	f.old, f.mID = first.MediaID, other.MediaID
	return f
}

// sdkVideos are the SKU's videos from this SDK on the product, by file
// name.
func (f *replaceFixture) skuVideos(sku string) []string {
	var ids []string
	for _, v := range f.videos(f.pid) {
		if strings.Contains(v.Filename, "-") && strings.HasPrefix(v.Filename, "cv-") && v.ID != f.mID {
			ids = append(ids, v.ID)
		}
	}
	return ids
}

func TestReplace(t *testing.T) {
	f := newReplaceFixture(t)
	before := f.gallery(f.pid)
	res, err := f.publisher().PublishVideo(context.Background(), f.job("v2", "COAT-S"))
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(before)
	want[1] = res.MediaID // the new video in the old one's slot, the old one gone
	if got := f.gallery(f.pid); !slices.Equal(got, want) {
		t.Errorf("gallery %v, want %v", got, want)
	}
	if res.Replaced != f.old || res.Slot != 2 || res.Reused {
		t.Errorf("result %+v: want slot 2, replacing %s", res, f.old)
	}
	raw, ok := f.srv.Metafield(f.pid, "catalogvideo", "replace-"+shopify.MediaMarker("v2"))
	var snap shopify.Snapshot
	if !ok || json.Unmarshal([]byte(raw), &snap) != nil || !slices.Equal(snap.Media, before) || snap.Replaced != f.old {
		t.Errorf("snapshot %q, want media %v and replaced %s", raw, before, f.old)
	}
	if st := f.srv.Stats(); st.MediaRemoved != 1 || st.Invalid != 0 {
		t.Errorf("%d media removed, %d invalid requests; want 1 and 0", st.MediaRemoved, st.Invalid)
	}
	// The job again (a retry after the outbox lost the answer) changes
	// nothing and reports the same.
	again, err := f.publisher().PublishVideo(context.Background(), f.job("v2", "COAT-S"))
	if err != nil || again.MediaID != res.MediaID || !again.Reused || again.Slot != 2 || !slices.Equal(f.gallery(f.pid), want) {
		t.Errorf("again = %+v, %v; gallery %v", again, err, f.gallery(f.pid))
	}
}

// TestReplaceCrashes stops a replacement at each of its steps (the step's
// call fails, and the process that made it is gone), checks that the
// product holds the old video or both, never neither, and has a new
// process publish the job again, which finishes the replacement.
func TestReplaceCrashes(t *testing.T) {
	steps := []struct {
		field string
		after bool // the step was applied and its answer lost
		// both: the new video is on the product after the crash.
		both bool
	}{
		{field: "metafieldsSet"},
		{field: "metafieldsSet", after: true},
		{field: shopifytest.FaultUpload},
		{field: "productUpdate"},
		{field: "productReorderMedia", both: true},
		{field: "productReorderMedia", after: true, both: true},
		{field: "job", both: true},
		{field: "fileUpdate", both: true},
	}
	for _, step := range steps {
		name := step.field
		if step.after {
			name += "/answer lost"
		}
		t.Run(name, func(t *testing.T) {
			f := newReplaceFixture(t)
			before := f.gallery(f.pid)
			f.srv.InjectFault(shopifytest.Fault{Field: step.field, Status: http.StatusBadGateway, AfterExecute: step.after})
			job := f.job("v2", "COAT-S")
			res, err := f.publisher().PublishVideo(context.Background(), job)
			if err == nil && step.field != "productUpdate" {
				t.Fatalf("publish with %s failing = %+v, want an error", name, res)
			}
			vids := f.skuVideos("COAT-S")
			if !slices.Contains(vids, f.old) {
				t.Fatalf("after the crash the old video %s is gone: %v", f.old, vids)
			}
			if step.both != (len(vids) == 2) {
				t.Errorf("after the crash the SKU has videos %v; want both: %v", vids, step.both)
			}
			if !step.both && !slices.Equal(f.gallery(f.pid), before) {
				t.Errorf("gallery %v, want it as it was: %v", f.gallery(f.pid), before)
			}
			res, err = f.publisher().PublishVideo(context.Background(), job)
			if err != nil {
				t.Fatalf("the next process: %v", err)
			}
			want := slices.Clone(before)
			want[1] = res.MediaID
			if got := f.gallery(f.pid); !slices.Equal(got, want) || res.Slot != 2 || res.Replaced != f.old {
				t.Errorf("after the retry: gallery %v, result %+v; want %v, slot 2, replacing %s", got, res, want, f.old)
			}
			if v := f.skuVideos("COAT-S"); len(v) != 1 {
				t.Errorf("the SKU has %d videos, want 1", len(v))
			}
		})
	}
}

// TestReplaceFailedProcessingKeepsOld: a new video Shopify fails to
// process replaces nothing.
func TestReplaceFailedProcessingKeepsOld(t *testing.T) {
	f := newReplaceFixture(t)
	f.srv.FailProcessing("VIDEO_VALIDATION_ERROR", "bad")
	res, err := f.publisher().PublishVideo(context.Background(), f.job("v2", "COAT-S"))
	if err == nil || res.Status != shopify.MediaStatusFailed {
		t.Fatalf("result %+v, %v; want FAILED", res, err)
	}
	if g := f.gallery(f.pid); g[1] != f.old {
		t.Errorf("gallery %v: want the old video %s still at slot 2", g, f.old)
	}
}

// TestReplaceOtherSKUUntouched: a video for one SKU of a product does not
// replace another SKU's video.
func TestReplaceOtherSKUUntouched(t *testing.T) {
	f := newReplaceFixture(t)
	before := f.gallery(f.pid)
	res, err := f.publisher().PublishVideo(context.Background(), f.job("m2", "COAT-M"))
	if err != nil || res.Replaced != f.mID {
		t.Fatalf("publish for COAT-M = %+v, %v; want it to replace COAT-M's video %s", res, err, f.mID)
	}
	if g := f.gallery(f.pid); g[1] != f.old || len(g) != len(before) || slices.Contains(g, f.mID) || g[3] != res.MediaID {
		t.Errorf("gallery %v: COAT-S's video %s must stay at slot 2, COAT-M's new video take the old one's slot 4", g, f.old)
	}
	// Delivered again, the finished replacement stays in the old video's
	// slot (slot 4), though the publisher's rule says slot 2.
	again, err := f.publisher().PublishVideo(context.Background(), f.job("m2", "COAT-M"))
	if err != nil || !again.Reused || again.Slot != 4 || again.Replaced != f.mID || f.gallery(f.pid)[3] != res.MediaID {
		t.Errorf("again = %+v, %v; gallery %v", again, err, f.gallery(f.pid))
	}
}
