package shopify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/shopify"
)

// videoIDs are the ids of the product's videos; the products of these
// tests have one SKU each, so they are that SKU's.
func (m *merchStore) videoIDs(productID string) []string {
	var ids []string
	for _, v := range m.videos(productID) {
		ids = append(ids, v.ID)
	}
	return ids
}

// chain orders outcomes of one SKU's jobs as they replaced each other:
// the one that replaced nothing, then the one that replaced its video,
// and so on. It stops where no outcome replaced the last one's video.
func chain(outcomes []shopify.PublishOutcome) []shopify.PublishOutcome {
	var order []shopify.PublishOutcome
	prev := ""
	for len(order) < len(outcomes) {
		i := slices.IndexFunc(outcomes, func(o shopify.PublishOutcome) bool { return o.Result.Replaced == prev })
		if i < 0 {
			break
		}
		order = append(order, outcomes[i])
		prev = outcomes[i].Result.MediaID
	}
	return order
}

// checkReplacedInOrder checks the end of publishing jobs of one SKU on
// product pid, given in the order they were published: the product holds
// only the newest one's video, in slot 2; each job after the first
// replaced the one before it, by a snapshot of the gallery as the one
// before left it; and each job's delivery ref says so.
func checkReplacedInOrder(t *testing.T, m *merchStore, pid, sku string, order []shopify.PublishOutcome) {
	t.Helper()
	last := order[len(order)-1].Result
	if got := m.videoIDs(pid); !slices.Equal(got, []string{last.MediaID}) {
		t.Fatalf("%s's videos on the product: %v; want only the newest job's %s", sku, got, last.MediaID)
	}
	if g := m.gallery(pid); len(g) < 2 || g[1] != last.MediaID {
		t.Errorf("gallery %v: want the newest video %s at slot 2", g, last.MediaID)
	}
	for i, o := range order {
		if o.Err != nil {
			t.Fatalf("job %s: %v", o.Job.Key, o.Err)
		}
		ref := o.Result.DeliveryRef()
		if ref.MediaID == "" || ref.Slot != 2 {
			t.Errorf("job %s: ref %q, want its video at slot 2", o.Job.Key, ref)
		}
		if i == 0 {
			if ref.Replaced != "" {
				t.Errorf("first job %s: ref %q replaced something", o.Job.Key, ref)
			}
			continue
		}
		prev := order[i-1].Result.MediaID
		if ref.Replaced != prev {
			t.Errorf("job %s: ref %q, want it to replace the job before's video %s", o.Job.Key, ref, prev)
		}
		raw, ok := m.srv.Metafield(pid, "catalogvideo", "replace-"+shopify.MediaMarker(o.Job.Key))
		var snap shopify.Snapshot
		if !ok || json.Unmarshal([]byte(raw), &snap) != nil || snap.Replaced != prev || len(snap.Media) < 2 || snap.Media[1] != prev {
			t.Errorf("job %s: snapshot %q; want the gallery with %s at slot 2", o.Job.Key, raw, prev)
		}
	}
}

// TestPublishBatchSameSKU hands one PublishBatch two jobs of one SKU (as
// two manifest rows with different prompts make) beside a job of another
// SKU: the older job's video is published first and the newer one
// replaces it, whatever their order in the batch or their keys.
func TestPublishBatchSameSKU(t *testing.T) {
	m := newMerchStore(t)
	pid := m.product("Mug", 2, "SKU-1")
	other := m.product("Cup", 2, "SKU-2")
	created := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	older, newer := m.job("row-2", "SKU-1"), m.job("row-1", "SKU-1") // keys in the other order
	older.CreatedAt, newer.CreatedAt = created, created.Add(time.Second)
	jobs := []shopify.VideoJob{newer, m.job("row-3", "SKU-2"), older}

	out := m.publisher().PublishBatch(context.Background(), jobs)
	checkReplacedInOrder(t, m, pid, "SKU-1", []shopify.PublishOutcome{out[2], out[0]})
	if o := out[1]; o.Err != nil || o.Result.Slot != 2 || o.Result.Replaced != "" || len(m.videoIDs(other)) != 1 {
		t.Errorf("the other SKU's job: %+v; want its own video at slot 2", o)
	}
	if st := m.srv.Stats(); st.MediaRemoved != 1 || st.Invalid != 0 || st.BulkOperations != 0 {
		t.Errorf("%d media removed, %d invalid requests, %d bulk operations; want 1, 0, 0", st.MediaRemoved, st.Invalid, st.BulkOperations)
	}

	// Delivered again, together (the outbox lost the answers) or the
	// older job alone, the jobs find their videos, the older one's off the
	// product where the newer one replaced it, and change nothing.
	gallery := m.gallery(pid)
	for _, again := range [][]shopify.PublishOutcome{
		m.publisher().PublishBatch(context.Background(), jobs),
		m.publisher().PublishBatch(context.Background(), []shopify.VideoJob{older}),
	} {
		for _, o := range again {
			want := out[slices.IndexFunc(jobs, func(j shopify.VideoJob) bool { return j.Key == o.Job.Key })].Result
			want.Reused = true
			if o.Err != nil || o.Result != want {
				t.Errorf("job %s again: %+v, %v; want %+v", o.Job.Key, o.Result, o.Err, want)
			}
		}
		if g := m.gallery(pid); !slices.Equal(g, gallery) {
			t.Errorf("gallery %v after publishing again, want %v unchanged", g, gallery)
		}
	}
	if st := m.srv.Stats(); st.MediaRemoved != 1 || st.Uploads != 3 {
		t.Errorf("%d media removed, %d uploads in all; want 1 and 3", st.MediaRemoved, st.Uploads)
	}
}

// TestPublishBatchSameSKUKeyOrder: jobs without CreatedAt are published
// in the order of their keys, and find their videos when delivered again.
func TestPublishBatchSameSKUKeyOrder(t *testing.T) {
	m := newMerchStore(t)
	pid := m.product("Mug", 2, "SKU-1")
	jobs := []shopify.VideoJob{m.job("b", "SKU-1"), m.job("c", " SKU-1"), m.job("a", "SKU-1 ")}
	out := m.publisher().PublishBatch(context.Background(), jobs)
	checkReplacedInOrder(t, m, pid, "SKU-1", []shopify.PublishOutcome{out[2], out[0], out[1]})

	// Delivered again, the oldest job finds its video two replacements
	// back, off the product, and nothing changes.
	gallery := m.gallery(pid)
	for i, o := range m.publisher().PublishBatch(context.Background(), jobs) {
		want := out[i].Result
		want.Reused = true
		if o.Err != nil || o.Result != want {
			t.Errorf("job %s again: %+v, %v; want %+v", o.Job.Key, o.Result, o.Err, want)
		}
	}
	if g := m.gallery(pid); !slices.Equal(g, gallery) {
		t.Errorf("gallery %v after publishing again, want %v unchanged", g, gallery)
	}
}

// TestPublishBatchSameSKUBulk: with the bulk threshold met, the first job
// of each SKU is attached by one bulk operation, and the repeated SKU's
// newer job replaces its video afterwards.
func TestPublishBatchSameSKUBulk(t *testing.T) {
	m := newMerchStore(t)
	var jobs []shopify.VideoJob
	var pids []string
	for i := range 3 {
		sku := fmt.Sprintf("SKU-%d", i)
		pids = append(pids, m.product("Product "+sku, 2, sku))
		jobs = append(jobs, m.job("a-"+sku, sku))
	}
	jobs = append(jobs, m.job("b-SKU-1", "SKU-1"))

	out := m.publisher(shopify.WithBulkThreshold(3)).PublishBatch(context.Background(), jobs)
	checkReplacedInOrder(t, m, pids[1], "SKU-1", []shopify.PublishOutcome{out[1], out[3]})
	for _, i := range []int{0, 2} {
		if o := out[i]; o.Err != nil || o.Result.Slot != 2 || len(m.videoIDs(pids[i])) != 1 {
			t.Errorf("job %s: %+v; want its video at slot 2", o.Job.Key, o)
		}
	}
	st := m.srv.Stats()
	if st.BulkOperations != 1 || st.BulkLines != 3 || st.MediaRemoved != 1 || st.Invalid != 0 {
		t.Errorf("%d bulk operations of %d lines, %d media removed, %d invalid; want 1 of 3, 1, 0",
			st.BulkOperations, st.BulkLines, st.MediaRemoved, st.Invalid)
	}
	if n := st.Calls["productUpdate"]; n != 1 {
		t.Errorf("%d productUpdate calls, want 1: the newer job's, after the bulk operation", n)
	}
}

// TestPublishSameSKUConcurrent publishes several jobs of each of a few
// SKUs from concurrent calls, one job per call and no coalescing, as
// outbox workers with BatchSize 1 do: each call waits for the SKU's call
// in progress, then finds its video and replaces it, so every product
// ends with one video of this SDK, the last call's.
func TestPublishSameSKUConcurrent(t *testing.T) {
	const skus, perSKU = 3, 3
	m := newMerchStore(t)
	pub := m.publisher()
	pids := make([]string, skus)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := make(map[string][]shopify.PublishOutcome) // by SKU
	for s := range skus {
		sku := fmt.Sprintf("SKU-%d", s)
		pids[s] = m.product("Product "+sku, 2, sku)
		for j := range perSKU {
			job := m.job(fmt.Sprintf("%s/%d", sku, j), sku)
			wg.Go(func() {
				res, err := pub.PublishJob(context.Background(), job)
				mu.Lock()
				defer mu.Unlock()
				done[sku] = append(done[sku], shopify.PublishOutcome{Job: job, Result: res, Err: err})
			})
		}
	}
	wg.Wait()
	for s, pid := range pids {
		sku := fmt.Sprintf("SKU-%d", s)
		order := chain(done[sku])
		if len(order) != perSKU {
			t.Fatalf("%s: outcomes %+v do not replace one another in a chain", sku, done[sku])
		}
		checkReplacedInOrder(t, m, pid, sku, order)
	}
	if st := m.srv.Stats(); st.MediaRemoved != skus*(perSKU-1) || st.Invalid != 0 {
		t.Errorf("%d media removed, %d invalid; want %d and 0", st.MediaRemoved, st.Invalid, skus*(perSKU-1))
	}
}

// TestPublishSameSKUOlderAfterNewer publishes a SKU's newer job first and
// its older job after, as renders that finish out of order are delivered:
// the older job finds the newer one's video (by the creation time in its
// file name) and leaves it, reporting it as superseded; a job without a
// CreatedAt replaces it as any later publish does.
func TestPublishSameSKUOlderAfterNewer(t *testing.T) {
	m := newMerchStore(t)
	pid := m.product("Mug", 2, "SKU-1")
	created := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	older, newer := m.job("SKU-1#spin", "SKU-1"), m.job("SKU-1#zoom", "SKU-1")
	older.CreatedAt, newer.CreatedAt = created, created.Add(time.Millisecond)
	pub := m.publisher()
	n, err := pub.PublishVideo(context.Background(), newer)
	if err != nil {
		t.Fatal(err)
	}
	gallery, uploads := m.gallery(pid), m.srv.Stats().Uploads
	for range 2 { // and again, as a redelivery
		o, err := pub.PublishVideo(context.Background(), older)
		if err != nil || !o.Superseded || o.MediaID != n.MediaID || o.Replaced != "" || o.Status != shopify.MediaStatusReady {
			t.Errorf("older job after the newer: %+v, %v; want it superseded by %s", o, err, n.MediaID)
		}
		if ref := o.DeliveryRef().String(); ref != n.MediaID+";superseded=true" {
			t.Errorf("older job's ref %q", ref)
		}
	}
	if g := m.gallery(pid); !slices.Equal(g, gallery) || m.srv.Stats().Uploads != uploads {
		t.Errorf("gallery %v, %d uploads; want %v unchanged and no upload", g, m.srv.Stats().Uploads-uploads, gallery)
	}

	undated := m.job("SKU-1#pan", "SKU-1")
	u, err := pub.PublishVideo(context.Background(), undated)
	if err != nil || u.Superseded || u.Replaced != n.MediaID || !slices.Equal(m.videoIDs(pid), []string{u.MediaID}) {
		t.Errorf("a job without CreatedAt: %+v, %v; videos %v; want it to replace %s", u, err, m.videoIDs(pid), n.MediaID)
	}
}
