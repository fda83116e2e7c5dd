package shopify_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

func TestRollbackReplacement(t *testing.T) {
	f := newReplaceFixture(t)
	before := f.gallery(f.pid)
	res, err := f.publisher().PublishVideo(context.Background(), f.job("v2", "COAT-S"))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := f.publisher().Rollback(context.Background(), "v2", "COAT-S")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.gallery(f.pid); !slices.Equal(got, before) {
		t.Errorf("gallery after the roll back %v, want the snapshot %v", got, before)
	}
	if !rb.Changed || rb.Removed != res.MediaID || rb.Restored != f.old || rb.Slot != 2 || rb.ProductID != f.pid {
		t.Errorf("roll back = %+v; want %s removed, %s restored at slot 2", rb, res.MediaID, f.old)
	}
	calls := f.srv.Stats().Calls
	again, err := f.publisher().Rollback(context.Background(), "v2", "COAT-S")
	if err != nil || again.Changed || again.Removed != "" || again.Slot != 2 {
		t.Errorf("second roll back = %+v, %v; want nothing changed", again, err)
	}
	after := f.srv.Stats().Calls
	for _, m := range []string{"fileUpdate", "productReorderMedia", "metafieldsSet"} {
		if after[m] != calls[m] {
			t.Errorf("the second roll back called %s", m)
		}
	}
	if !slices.Equal(f.gallery(f.pid), before) {
		t.Errorf("gallery changed by the second roll back: %v", f.gallery(f.pid))
	}
}

func TestRollbackFirstVideo(t *testing.T) {
	m := newMerchStore(t)
	pid := m.product("Chair", 3, "CHAIR")
	before := m.gallery(pid)
	if _, err := m.publisher().PublishVideo(context.Background(), m.job("c1", "CHAIR")); err != nil {
		t.Fatal(err)
	}
	rb, err := m.publisher().Rollback(context.Background(), "c1", "CHAIR")
	if err != nil || !rb.Changed || rb.Restored != "" || rb.Removed == "" {
		t.Fatalf("roll back = %+v, %v", rb, err)
	}
	if got := m.gallery(pid); !slices.Equal(got, before) {
		t.Errorf("gallery %v, want %v", got, before)
	}
	if rb, err := m.publisher().Rollback(context.Background(), "c1", "CHAIR"); err != nil || rb.Changed {
		t.Errorf("second roll back = %+v, %v; want no change", rb, err)
	}
	// A job never published rolls back to nothing.
	if rb, err := m.publisher().Rollback(context.Background(), "never", "CHAIR"); err != nil || rb.Changed {
		t.Errorf("roll back of an unpublished job = %+v, %v", rb, err)
	}
	var nf *shopify.SKUNotFoundError
	if _, err := m.publisher().Rollback(context.Background(), "c1", "NOPE"); !errors.As(err, &nf) {
		t.Errorf("unknown SKU: %v", err)
	}
}

// TestRollbackCrashes stops a roll back at each step (re-attaching the
// old video, removing the new one, moving the old one back, waiting for
// the move); the product keeps a video of the SKU throughout, and rolling
// back again finishes the job.
func TestRollbackCrashes(t *testing.T) {
	steps := []struct {
		name string
		f    shopifytest.Fault
	}{
		{"re-attach", shopifytest.Fault{Field: "fileUpdate"}},
		{"remove", shopifytest.Fault{Field: "fileUpdate", Skip: 1}},
		{"remove/answer lost", shopifytest.Fault{Field: "fileUpdate", Skip: 1, AfterExecute: true}},
		{"move", shopifytest.Fault{Field: "productReorderMedia"}},
		{"wait", shopifytest.Fault{Field: "job"}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			f := newReplaceFixture(t)
			before := f.gallery(f.pid)
			if _, err := f.publisher().PublishVideo(context.Background(), f.job("v2", "COAT-S")); err != nil {
				t.Fatal(err)
			}
			step.f.Status = http.StatusBadGateway
			f.srv.InjectFault(step.f)
			if rb, err := f.publisher().Rollback(context.Background(), "v2", "COAT-S"); err == nil {
				t.Fatalf("roll back with %s failing = %+v, want an error", step.name, rb)
			}
			if len(f.skuVideos("COAT-S")) == 0 {
				t.Fatal("the SKU has no video after the failed roll back")
			}
			rb, err := f.publisher().Rollback(context.Background(), "v2", "COAT-S")
			if err != nil || rb.Slot != 2 || rb.Restored != f.old {
				t.Fatalf("second roll back = %+v, %v", rb, err)
			}
			if got := f.gallery(f.pid); !slices.Equal(got, before) {
				t.Errorf("gallery %v, want %v", got, before)
			}
		})
	}
}
