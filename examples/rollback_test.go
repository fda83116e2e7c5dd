package examples_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/outbox"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/examples/internal/cli"
	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifysink"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

// deliverShopify tracks a shopify-pdp job for sku, completes its render
// and delivers it through the outbox with pub, in this process, and
// returns the job as recorded.
func deliverShopify(t *testing.T, store jobs.Store, pub *shopify.Publisher, shop *shopifytest.Server, key, sku string) jobs.Job {
	t.Helper()
	ctx := t.Context()
	if _, _, err := store.Track(ctx, jobs.Job{Key: key, SKU: sku, TargetSurface: cli.SurfaceShopifyPDP}); err != nil {
		t.Fatal(err)
	}
	gen := "vgen_" + key
	if _, err := store.RecordSubmission(ctx, key, jobs.Submission{Generation: &creativeai.Generation{ID: gen, Status: creativeai.StatusPending}}); err != nil {
		t.Fatal(err)
	}
	out := shop.AddVideo(shopifytest.Video{Size: 4096})
	if _, err := store.Apply(ctx, creativeai.Generation{ID: gen, Status: creativeai.StatusCompleted, OutputURL: out}); err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.DeliverOnce(ctx, outbox.Config{Store: store, Sinks: map[string]outbox.Sink{cli.SurfaceShopifyPDP: shopifysink.New(pub)}}); err != nil {
		t.Fatal(err)
	}
	j, err := store.Get(ctx, key)
	if err != nil || j.Delivery != jobs.DeliveryDelivered {
		t.Fatalf("%s: delivery %q (%s), %v", key, j.Delivery, j.DeliveryError, err)
	}
	return j
}

// TestJobsRollback publishes two videos of one SKU (the second replaces the
// first) and a video of another SKU, then rolls back with the jobs
// program: by SKU (the first video is back in its slot, recorded on the
// job), again (nothing changes), and by batch.
func TestJobsRollback(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "video-jobs.jsonl")
	shop := shopifytest.NewServer()
	defer shop.Close()
	coat := shop.AddProduct(shopifytest.Product{Title: "Wool Coat", Variants: []shopifytest.Variant{{SKU: "COAT-S"}}, Images: 2})
	mug := shop.AddProduct(shopifytest.Product{Title: "Mug", Variants: []shopifytest.Variant{{SKU: "MUG-1"}}, Images: 1})
	images := shop.Media(coat)

	store, _, err := cli.OpenStore(t.Context(), file, nil)
	if err != nil {
		t.Fatal(err)
	}
	publisher := func(batch string) *shopify.Publisher {
		return shopify.NewPublisher(shop.Client(), shopify.WithPollInterval(5*time.Millisecond, 5*time.Millisecond),
			shopify.WithBatchID(batch), shopify.WithCoalescing(0))
	}
	first := deliverShopify(t, store, publisher("monday"), shop, "coat#1", "COAT-S")
	second := deliverShopify(t, store, publisher("tuesday"), shop, "coat#2", "COAT-S")
	deliverShopify(t, store, publisher("tuesday"), shop, "mug#1", "MUG-1")
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	oldRef, newRef := mustRef(t, first.DeliveryRef), mustRef(t, second.DeliveryRef)
	if newRef.Replaced != oldRef.MediaID || newRef.Slot != 2 || newRef.Batch != "tuesday" || oldRef.Batch != "monday" {
		t.Fatalf("refs %+v and %+v: want the second replacing the first at slot 2", oldRef, newRef)
	}
	gallery := func(pid string) []string {
		var ids []string
		for _, m := range shop.Media(pid) {
			ids = append(ids, m.ID)
		}
		return ids
	}
	env := cleanEnv("SHOPIFY_ADMIN_API_URL="+shop.GraphQLURL, "SHOPIFY_ADMIN_TOKEN="+shopifytest.DefaultToken)

	res := runProgram(t, dir, env, "jobs", "-jobs", file, "rollback", "COAT-S")
	if res.code != 0 || !strings.Contains(res.stdout, "restored "+oldRef.MediaID+" at slot 2") {
		t.Fatalf("rollback COAT-S exited %d:\n%s%s", res.code, res.stdout, res.stderr)
	}
	want := []string{images[0].ID, oldRef.MediaID, images[1].ID}
	if got := gallery(coat); !slices.Equal(got, want) {
		t.Errorf("gallery after the roll back %v, want %v", got, want)
	}
	rolled := jobRef(t, file, "coat#2")
	if rolled.RolledBack.IsZero() || rolled.MediaID != newRef.MediaID || rolled.Replaced != oldRef.MediaID {
		t.Errorf("coat#2's ref after the roll back: %+v", rolled)
	}

	// Again: nothing changes, on Shopify or in the store.
	calls := shop.Stats().Calls
	res = runProgram(t, dir, env, "jobs", "rollback", "COAT-S", "-jobs", file)
	if res.code != 0 || !strings.Contains(res.stdout, "already rolled back") {
		t.Errorf("second rollback exited %d:\n%s%s", res.code, res.stdout, res.stderr)
	}
	after := shop.Stats().Calls
	if after["fileUpdate"] != calls["fileUpdate"] || after["productReorderMedia"] != calls["productReorderMedia"] || jobRef(t, file, "coat#2") != rolled {
		t.Errorf("the second roll back changed something")
	}

	// By batch: tuesday's videos, newest first (the mug; the coat's is
	// rolled back already), leaving monday's.
	res = runProgram(t, dir, env, "jobs", "-jobs", file, "rollback", "-batch", "tuesday")
	if res.code != 0 || strings.Count(res.stdout, "\n") != 2 {
		t.Errorf("rollback -batch tuesday exited %d:\n%s%s", res.code, res.stdout, res.stderr)
	}
	if n := len(shop.Media(mug)); n != 1 || !slices.Equal(gallery(coat), want) {
		t.Errorf("after the batch roll back: the mug has %d media (want its image only), the coat %v (want %v)", n, gallery(coat), want)
	}
	// Since a time before everything: monday's video goes too.
	res = runProgram(t, dir, env, "jobs", "-jobs", file, "rollback", "-since", "2000-01-01")
	if res.code != 0 || len(shop.Media(coat)) != 2 || jobRef(t, file, "coat#1").RolledBack.IsZero() {
		t.Errorf("rollback -since exited %d, coat gallery %v:\n%s%s", res.code, gallery(coat), res.stdout, res.stderr)
	}

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"unknown SKU", env, []string{"rollback", "NOPE"}, `SKU "NOPE" has no delivered shopify-pdp job`},
		{"SKU and batch", env, []string{"rollback", "COAT-S", "-batch", "x"}, "exactly one of them"},
		{"nothing", env, []string{"rollback"}, "exactly one of them"},
		{"bad time", env, []string{"rollback", "-since", "yesterday"}, "-since"},
		{"no Shopify", cleanEnv(), []string{"rollback", "COAT-S"}, "SHOPIFY_STORE"},
	} {
		res := runProgram(t, dir, tc.env, "jobs", append([]string{"-jobs", file}, tc.args...)...)
		if res.code != 2 || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tc.name, res.code, res.stderr, tc.want)
		}
	}
}

func mustRef(t *testing.T, s string) shopify.DeliveryRef {
	t.Helper()
	r, err := shopify.ParseDeliveryRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// jobRef reads a job's delivery ref from the job file.
func jobRef(t *testing.T, file, key string) shopify.DeliveryRef {
	t.Helper()
	store, _, err := cli.OpenStore(context.Background(), file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	j, err := store.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return mustRef(t, j.DeliveryRef)
}
