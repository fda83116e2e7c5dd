package shopify_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

// merchStore is a fake store on a virtual clock with a helper to add
// products and a publisher that makes no retries of its own, so that an
// injected fault stands for a crash at that step.
type merchStore struct {
	t     *testing.T
	srv   *shopifytest.Server
	clock *shopifytest.VirtualClock
}

func newMerchStore(t *testing.T, opts ...shopifytest.Option) *merchStore {
	t.Helper()
	clock := shopifytest.NewVirtualClock(epoch)
	srv := shopifytest.NewServer(append([]shopifytest.Option{shopifytest.WithClock(clock)}, opts...)...)
	t.Cleanup(srv.Close)
	return &merchStore{t: t, srv: srv, clock: clock}
}

// publisher stands for one process: its own client (no retries: a fault
// is a failed step) and Publisher.
func (m *merchStore) publisher(opts ...shopify.PublisherOption) *shopify.Publisher {
	return shopify.NewPublisher(m.srv.Client(shopify.WithRetries(0)),
		append([]shopify.PublisherOption{shopify.WithSpoolDir(m.t.TempDir()), shopify.WithCoalescing(0)}, opts...)...)
}

func (m *merchStore) product(title string, images int, skus ...string) string {
	var vs []shopifytest.Variant
	for _, s := range skus {
		vs = append(vs, shopifytest.Variant{SKU: s, Title: s})
	}
	return m.srv.AddProduct(shopifytest.Product{Title: title, Variants: vs, Images: images})
}

func (m *merchStore) job(key, sku string) shopify.VideoJob {
	return shopify.VideoJob{Key: key, SKU: sku, OutputURL: m.srv.AddVideo(shopifytest.Video{Size: 2048})}
}

// gallery is the product's media IDs in order.
func (m *merchStore) gallery(productID string) []string {
	var ids []string
	for _, md := range m.srv.Media(productID) {
		ids = append(ids, md.ID)
	}
	return ids
}

func (m *merchStore) videos(productID string) []shopifytest.Media {
	var out []shopifytest.Media
	for _, md := range m.srv.Media(productID) {
		if md.ContentType == "VIDEO" {
			out = append(out, md)
		}
	}
	return out
}

func TestPlacementDefaultSlot2(t *testing.T) {
	m := newMerchStore(t)
	pid := m.product("Wool Coat", 3, "COAT-1")
	before := m.gallery(pid)
	res, err := m.publisher().PublishVideo(context.Background(), m.job("k1", "COAT-1"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{before[0], res.MediaID, before[1], before[2]}
	if got := m.gallery(pid); !slices.Equal(got, want) || res.Slot != 2 {
		t.Errorf("gallery %v, slot %d; want %v (the video right after the hero image), slot 2", got, res.Slot, want)
	}
	st := m.srv.Stats()
	if st.Calls["productReorderMedia"] != 1 || st.Calls["job"] == 0 || st.Reorders != 1 || st.Invalid != 0 {
		t.Errorf("calls %v, %d invalid; want one reorder whose job was polled", st.Calls, st.Invalid)
	}
	if v := m.videos(pid)[0]; v.Alt != "Wool Coat – product video" || strings.Contains(v.Alt, "cv-") || strings.Contains(v.Alt, "COAT-1") {
		t.Errorf("alt %q: want the product's title, no marker, no SKU", v.Alt)
	}
}

func TestPlacementRules(t *testing.T) {
	cases := []struct {
		name     string
		images   int
		pub      []shopify.PublisherOption
		job      shopify.Placement
		slot     int
		reorders int
	}{
		{"fewer media than the slot: last, no move", 1, nil, shopify.Placement{}, 2, 0},
		{"no other media", 0, nil, shopify.Placement{}, 1, 0},
		{"last", 4, []shopify.PublisherOption{shopify.WithPlacement(shopify.Placement{Last: true})}, shopify.Placement{}, 5, 0},
		{"slot 4 from the publisher", 5, []shopify.PublisherOption{shopify.WithPlacement(shopify.Placement{Slot: 4})}, shopify.Placement{}, 4, 1},
		{"featured slot by name, on the job", 2, nil, shopify.Placement{Slot: 1}, 1, 1},
		{"job's last beats the publisher's slot", 2, []shopify.PublisherOption{shopify.WithPlacement(shopify.Placement{Slot: 2})}, shopify.Placement{Last: true}, 3, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMerchStore(t)
			pid := m.product("Mug", tc.images, "MUG")
			job := m.job("k", "MUG")
			job.Placement = tc.job
			res, err := m.publisher(tc.pub...).PublishVideo(context.Background(), job)
			if err != nil {
				t.Fatal(err)
			}
			g := m.gallery(pid)
			if res.Slot != tc.slot || len(g) < tc.slot || g[tc.slot-1] != res.MediaID {
				t.Errorf("slot %d, gallery %v; want the video %s at slot %d", res.Slot, g, res.MediaID, tc.slot)
			}
			if n := m.srv.Calls("productReorderMedia"); n != tc.reorders {
				t.Errorf("%d reorders, want %d", n, tc.reorders)
			}
		})
	}
}

// TestPlacementAfterCrash stops publishing when the move fails (as a
// process stopping after READY would): the video is on the product with
// its marker, and the next process finds it and places it.
func TestPlacementAfterCrash(t *testing.T) {
	m := newMerchStore(t)
	pid := m.product("Lamp", 3, "LAMP")
	job := m.job("lamp-1", "LAMP")
	m.srv.InjectFault(shopifytest.Fault{Field: "productReorderMedia", Status: http.StatusBadGateway})
	res, err := m.publisher().PublishVideo(context.Background(), job)
	if err == nil || res.Status != shopify.MediaStatusReady || res.Slot != 0 {
		t.Fatalf("publish with the move failing = %+v, %v; want the READY video unplaced and an error", res, err)
	}
	if shopify.IsPermanent(err) {
		t.Errorf("a failed move is worth retrying: %v", err)
	}
	again, err := m.publisher().PublishVideo(context.Background(), job)
	if err != nil || !again.Reused || again.MediaID != res.MediaID || again.Slot != 2 {
		t.Fatalf("second process = %+v, %v; want video %s reused and moved to slot 2", again, err, res.MediaID)
	}
	if g := m.gallery(pid); g[1] != res.MediaID || len(m.videos(pid)) != 1 || m.srv.Stats().Uploads != 1 {
		t.Errorf("gallery %v, %d videos, %d uploads; want one video, at slot 2, uploaded once", g, len(m.videos(pid)), m.srv.Stats().Uploads)
	}
}

// TestNeverTwiceCrashBetweenUploadAndAttach stops a publish after the
// upload and before productUpdate, and another after the attach when the
// answer is lost: the marker is in the staged file name, so there is no
// moment when the video is on the product without it, and the next
// process attaches the video once.
func TestNeverTwiceCrashBetweenUploadAndAttach(t *testing.T) {
	m := newMerchStore(t)
	pid := m.product("Vase", 2, "VASE")
	job := m.job("vase-1", "VASE")
	m.srv.InjectFault(shopifytest.Fault{Field: "productUpdate", Status: http.StatusBadGateway})
	if _, err := m.publisher().PublishVideo(context.Background(), job); err == nil {
		t.Fatal("publish with productUpdate failing succeeded")
	}
	if n := len(m.videos(pid)); n != 0 || m.srv.Stats().Uploads != 1 {
		t.Fatalf("%d videos after the crash (uploads %d), want 0 after 1 upload", n, m.srv.Stats().Uploads)
	}
	// The next process attaches it, and the answer is lost on the way.
	m.srv.InjectFault(shopifytest.Fault{Field: "productUpdate", Status: http.StatusBadGateway, AfterExecute: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _ = m.publisher().PublishVideo(ctx, job) // stops at once: nothing happens
	first, err := m.publisher().PublishVideo(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	third, err := m.publisher().PublishVideo(context.Background(), job)
	if err != nil || !third.Reused || third.MediaID != first.MediaID {
		t.Fatalf("third process = %+v, %v; want %s reused", third, err, first.MediaID)
	}
	vids := m.videos(pid)
	if len(vids) != 1 || !strings.HasPrefix(vids[0].Filename, shopify.MediaMarker("vase-1")) || strings.Contains(vids[0].Alt, "cv-") {
		t.Errorf("videos %+v: want one, marked in its file name only", vids)
	}
}

func TestParsePlacement(t *testing.T) {
	for in, want := range map[string]shopify.Placement{
		"slot 2": {Slot: 2}, "3": {Slot: 3}, "last": {Last: true}, " Slot  1 ": {Slot: 1}, "LAST": {Last: true},
	} {
		got, err := shopify.ParsePlacement(in)
		if err != nil || got != want {
			t.Errorf("ParsePlacement(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if again, err := shopify.ParsePlacement(got.String()); err != nil || again != got {
			t.Errorf("String %q does not parse back: %+v, %v", got.String(), again, err)
		}
	}
	for _, in := range []string{"", "slot", "slot 0", "slot -1", "slot 251", "first", "slot 2 3", "2.5"} {
		if got, err := shopify.ParsePlacement(in); err == nil {
			t.Errorf("ParsePlacement(%q) = %+v, want an error", in, got)
		}
	}
}
