package shopify_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Khan/genqlient/graphql"

	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

// preflightStore is a fake store with products for each preflight rule.
type preflightStore struct {
	srv  *shopifytest.Server
	pub  *shopify.Publisher
	pre  *shopify.Preflighter
	full string // the product of FULL-1, at the media limit
	mug  string // the product of MUG-1, with room
}

func newPreflightStore(t *testing.T, opts ...shopify.PreflightOption) *preflightStore {
	t.Helper()
	return newPreflightStoreOn(t, nil, opts...)
}

// newPreflightStoreOn is newPreflightStore with options for the server.
func newPreflightStoreOn(t *testing.T, srvOpts []shopifytest.Option, opts ...shopify.PreflightOption) *preflightStore {
	t.Helper()
	clock := shopifytest.NewVirtualClock(epoch)
	srv := shopifytest.NewServer(append([]shopifytest.Option{shopifytest.WithClock(clock)}, srvOpts...)...)
	t.Cleanup(srv.Close)
	s := &preflightStore{srv: srv}
	s.mug = srv.AddProduct(shopifytest.Product{Title: "Mug", Variants: []shopifytest.Variant{{SKU: "MUG-1"}}, Images: 3})
	s.full = srv.AddProduct(shopifytest.Product{Title: "Lamp", Variants: []shopifytest.Variant{{SKU: "FULL-1"}},
		Images: shopify.DefaultMaxProductMedia})
	srv.AddProduct(shopifytest.Product{Title: "Shoe", Variants: []shopifytest.Variant{{SKU: "TWIN-1"}}})
	srv.AddProduct(shopifytest.Product{Title: "Boot", Variants: []shopifytest.Variant{{SKU: "TWIN-1"}}})
	s.pub = shopify.NewPublisher(srv.Client(), shopify.WithSpoolDir(t.TempDir()))
	var err error
	if s.pre, err = shopify.NewPreflighter(s.pub, opts...); err != nil {
		t.Fatal(err)
	}
	return s
}

func preflightOne(t *testing.T, pre *shopify.Preflighter, row shopify.PreflightRow) error {
	t.Helper()
	errs, err := pre.Preflight(context.Background(), []shopify.PreflightRow{row})
	if err != nil {
		t.Fatalf("Preflight: %v", err)
	}
	if len(errs) != 1 {
		t.Fatalf("Preflight returned %d results for 1 row", len(errs))
	}
	return errs[0]
}

func wantReason(t *testing.T, err error, reason shopify.PreflightReason, mention string) {
	t.Helper()
	var pe *shopify.PreflightError
	if !errors.As(err, &pe) || pe.Reason != reason {
		t.Fatalf("error = %v, want a *PreflightError for %s", err, reason)
	}
	if !strings.Contains(err.Error(), mention) {
		t.Errorf("error %q does not mention %q", err, mention)
	}
	if !shopify.IsPermanent(err) {
		t.Errorf("error %v is not permanent", err)
	}
}

// bothPaths runs a test against a store whose preflighter looks SKUs up
// per call (productVariants searches) and against one that reads them
// with a bulk query from one SKU on: the answers must be the same.
func bothPaths(t *testing.T, test func(t *testing.T, s *preflightStore)) {
	t.Helper()
	for _, path := range []struct {
		name      string
		threshold int
	}{{"search", 0}, {"bulk", 1}} {
		t.Run(path.name, func(t *testing.T) {
			s := newPreflightStore(t, shopify.WithPreflightBulkThreshold(path.threshold))
			test(t, s)
			if bulk := s.srv.Stats().BulkQueries; (bulk > 0) != (path.threshold > 0) {
				t.Errorf("%d bulk queries on the %s path", bulk, path.name)
			}
		})
	}
}

func TestPreflightPassesAPublishableRow(t *testing.T) {
	bothPaths(t, func(t *testing.T, s *preflightStore) {
		if err := preflightOne(t, s.pre, shopify.PreflightRow{Key: "k", SKU: "MUG-1", Duration: 5 * time.Second}); err != nil {
			t.Fatalf("MUG-1: %v, want nil", err)
		}
	})
}

func TestPreflightMissingSKU(t *testing.T) {
	bothPaths(t, func(t *testing.T, s *preflightStore) {
		err := preflightOne(t, s.pre, shopify.PreflightRow{Key: "k", SKU: "NOPE-9", Duration: 5 * time.Second})
		wantReason(t, err, shopify.PreflightSKUNotFound, `"NOPE-9"`)
		if !errors.Is(err, shopify.ErrSKUNotFound) {
			t.Errorf("error %v does not match ErrSKUNotFound", err)
		}
		// Shopify's search ignores case; the check does not.
		err = preflightOne(t, s.pre, shopify.PreflightRow{Key: "k", SKU: "mug-1", Duration: 5 * time.Second})
		wantReason(t, err, shopify.PreflightSKUNotFound, `"mug-1"`)
	})
}

func TestPreflightSKUOnTwoProducts(t *testing.T) {
	bothPaths(t, func(t *testing.T, s *preflightStore) {
		err := preflightOne(t, s.pre, shopify.PreflightRow{Key: "k", SKU: "TWIN-1", Duration: 5 * time.Second})
		wantReason(t, err, shopify.PreflightSKUAmbiguous, "2 products")
	})
}

func TestPreflightFullProduct(t *testing.T) {
	bothPaths(t, func(t *testing.T, s *preflightStore) {
		err := preflightOne(t, s.pre, shopify.PreflightRow{Key: "k", SKU: "FULL-1", Duration: 5 * time.Second})
		wantReason(t, err, shopify.PreflightProductFull, "has 250 media")

		// One image less is not enough: a new video must leave a place free
		// for a later replacement.
		if n, err := s.srv.RemoveImages(s.full, 1); err != nil || n != 1 {
			t.Fatalf("RemoveImages = %d, %v", n, err)
		}
		err = preflightOne(t, s.pre, shopify.PreflightRow{Key: "k", SKU: "FULL-1", Duration: 5 * time.Second})
		wantReason(t, err, shopify.PreflightProductFull, "has 249 media")

		// Two images less leave room for exactly one video: the first row of a
		// pass fits, the second row for the same product does not.
		if n, err := s.srv.RemoveImages(s.full, 1); err != nil || n != 1 {
			t.Fatalf("RemoveImages = %d, %v", n, err)
		}
		errs, err := s.pre.Preflight(context.Background(), []shopify.PreflightRow{
			{Key: "a", SKU: "FULL-1", Duration: 5 * time.Second},
			{Key: "b", SKU: "FULL-1", Duration: 10 * time.Second},
		})
		if err != nil {
			t.Fatal(err)
		}
		if errs[0] != nil {
			t.Errorf("first row: %v, want room for it", errs[0])
		}
		wantReason(t, errs[1], shopify.PreflightProductFull, "would make 250")
	})
}

func TestPreflightDurationTooLong(t *testing.T) {
	s := newPreflightStore(t)
	before := s.srv.Stats().Requests
	err := preflightOne(t, s.pre, shopify.PreflightRow{Key: "k", SKU: "MUG-1", Duration: 11 * time.Minute})
	wantReason(t, err, shopify.PreflightVideoTooLong, "10m0s")
	if got := s.srv.Stats().Requests - before; got != 0 {
		t.Errorf("a row failing the duration check made %d requests, want 0", got)
	}
	if err := preflightOne(t, s.pre, shopify.PreflightRow{Key: "k", SKU: "MUG-1", Duration: shopify.MaxVideoDuration}); err != nil {
		t.Errorf("a %v video: %v, want nil", shopify.MaxVideoDuration, err)
	}
	if _, err := shopify.NewPreflighter(s.pub, shopify.WithMaxVideoDuration(0)); err == nil {
		t.Error("WithMaxVideoDuration(0) was accepted")
	}
}

// TestPreflightReplacementCountsAsZero fills a product that already has a
// video from this SDK: a new video for its SKU replaces that one, so the
// product has room for it; without the SDK's video it would not.
func TestPreflightReplacementCountsAsZero(t *testing.T) {
	bothPaths(t, func(t *testing.T, s *preflightStore) {
		url := s.srv.AddVideo(shopifytest.Video{Size: 1 << 20})
		if _, err := s.pub.PublishVideo(context.Background(), shopify.VideoJob{Key: "old-key", SKU: "MUG-1", OutputURL: url}); err != nil {
			t.Fatalf("PublishVideo: %v", err)
		}
		// 249 media: no room for a new video, room for the moment a
		// replacement holds both.
		if _, err := s.srv.AddImages(s.mug, shopify.DefaultMaxProductMedia-1-len(s.srv.Media(s.mug))); err != nil {
			t.Fatal(err)
		}
		if n := len(s.srv.Media(s.mug)); n != shopify.DefaultMaxProductMedia-1 {
			t.Fatalf("product has %d media, want %d", n, shopify.DefaultMaxProductMedia-1)
		}
		// A new job (another key: another prompt) replaces the old video.
		if err := preflightOne(t, s.pre, shopify.PreflightRow{Key: "new-key", SKU: "MUG-1", Duration: 5 * time.Second}); err != nil {
			t.Errorf("replacement: %v, want nil (the SDK's video is replaced)", err)
		}
		// The same job again reuses its own video.
		if err := preflightOne(t, s.pre, shopify.PreflightRow{Key: "old-key", SKU: "MUG-1", Duration: 5 * time.Second}); err != nil {
			t.Errorf("same job: %v, want nil (its video is reused)", err)
		}
		// A full product whose only video is not the SDK's has no room.
		err := preflightOne(t, s.pre, shopify.PreflightRow{Key: "new-key", SKU: "FULL-1", Duration: 5 * time.Second})
		wantReason(t, err, shopify.PreflightProductFull, "has 250 media")
	})
}

// TestPreflightBatchesAndWarmsTheSKUCache checks that a pass over more
// SKUs than one search holds is split into searches of SKUsPerLookup, that
// each row gets its own answer in order, and that the publisher then
// resolves the SKUs without a lookup of its own.
func TestPreflightBatchesAndWarmsTheSKUCache(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		opt                   shopify.PreflightOption
		skus                  int
		searches, bulkQueries int
	}{
		{"search", shopify.WithPreflightBulkThreshold(0), 120, 3, 0},
		{"bulk", nil, 120, 0, 1},
		// 250 SKUs to a bulk query; the 5 left are too few for another.
		{"bulk and search", nil, 255, 1, 1},
		{"two bulk queries", nil, 260, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newPreflightStore(t, tc.opt)
			var rows []shopify.PreflightRow
			for i := range tc.skus {
				sku := fmt.Sprintf("BULK-%03d", i)
				if i%3 != 0 {
					s.srv.AddProduct(shopifytest.Product{Title: "Bulk " + sku, Variants: []shopifytest.Variant{{SKU: sku}}})
				}
				rows = append(rows, shopify.PreflightRow{Key: "k" + sku, SKU: sku, Duration: 5 * time.Second})
			}
			errs, err := s.pre.Preflight(context.Background(), rows)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range errs {
				if missing := i%3 == 0; missing != errors.Is(e, shopify.ErrSKUNotFound) {
					t.Errorf("row %d (%s): %v, want missing=%v", i, rows[i].SKU, e, missing)
				}
			}
			st := s.srv.Stats()
			if st.Calls["productVariants"] != tc.searches || st.BulkQueries != tc.bulkQueries {
				t.Errorf("%d productVariants searches and %d bulk queries for %d SKUs, want %d and %d",
					st.Calls["productVariants"], st.BulkQueries, tc.skus, tc.searches, tc.bulkQueries)
			}
			url := s.srv.AddVideo(shopifytest.Video{Size: 1 << 10})
			if _, err := s.pub.PublishVideo(context.Background(), shopify.VideoJob{Key: "kBULK-001", SKU: "BULK-001", OutputURL: url}); err != nil {
				t.Fatal(err)
			}
			if got := s.srv.Calls("productVariants"); got != tc.searches {
				t.Errorf("publishing a preflighted SKU searched again (%d searches)", got)
			}
		})
	}
}

// TestPreflightBulkFallsBack checks that a pass whose bulk query cannot
// start (another is running on the store) or fails searches per call
// instead, and that every row still gets its answer.
func TestPreflightBulkFallsBack(t *testing.T) {
	for _, tc := range []struct {
		name        string
		bulkQueries int // started on the store, by the test and the pass
		setup       func(t *testing.T, s *preflightStore)
	}{
		{"another bulk query runs", 1, func(t *testing.T, s *preflightStore) {
			// The foreign operation stays RUNNING: the store's clock does
			// not move between the two requests, and WithBulkDuration is an
			// hour.
			var out struct {
				Run struct {
					BulkOperation *struct{ ID string } `json:"bulkOperation"`
				} `json:"bulkOperationRunQuery"`
			}
			err := s.srv.Client().MakeRequest(context.Background(), &graphql.Request{
				Query: `mutation { bulkOperationRunQuery(query: "{ productVariants { edges { node { id } } } }") { bulkOperation { id } userErrors { message } } }`,
			}, &graphql.Response{Data: &out})
			if err != nil || out.Run.BulkOperation == nil {
				t.Fatalf("starting another bulk query: %v, %+v", err, out)
			}
		}},
		{"bulkOperationRunQuery fails", 0, func(t *testing.T, s *preflightStore) {
			s.srv.InjectFault(shopifytest.Fault{Field: "bulkOperationRunQuery", Status: 401})
		}},
		{"polling fails", 1, func(t *testing.T, s *preflightStore) {
			s.srv.InjectFault(shopifytest.Fault{Field: "node", Status: 401})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newPreflightStoreOn(t, []shopifytest.Option{shopifytest.WithBulkDuration(time.Hour)}, shopify.WithPreflightBulkThreshold(1))
			tc.setup(t, s)
			errs, err := s.pre.Preflight(context.Background(), []shopify.PreflightRow{
				{Key: "a", SKU: "MUG-1", Duration: time.Second},
				{Key: "b", SKU: "NOPE-9", Duration: time.Second},
				{Key: "c", SKU: "TWIN-1", Duration: time.Second},
				{Key: "d", SKU: "FULL-1", Duration: time.Second},
			})
			if err != nil {
				t.Fatal(err)
			}
			if errs[0] != nil {
				t.Errorf("MUG-1: %v, want nil", errs[0])
			}
			wantReason(t, errs[1], shopify.PreflightSKUNotFound, "NOPE-9")
			wantReason(t, errs[2], shopify.PreflightSKUAmbiguous, "2 products")
			wantReason(t, errs[3], shopify.PreflightProductFull, "has 250 media")
			if n := s.srv.Stats().BulkQueries; n != tc.bulkQueries {
				t.Errorf("%d bulk queries started, want %d", n, tc.bulkQueries)
			}
			if n := s.srv.Calls("productVariants"); n != 1 {
				t.Errorf("%d productVariants searches after the bulk query failed, want 1", n)
			}
		})
	}
}

// TestPreflightBulkThresholdOption checks the option's bounds.
func TestPreflightBulkThresholdOption(t *testing.T) {
	s := newPreflightStore(t)
	if _, err := shopify.NewPreflighter(s.pub, shopify.WithPreflightBulkThreshold(-1)); err == nil {
		t.Error("WithPreflightBulkThreshold(-1) was accepted")
	}
	// Below the default threshold a pass searches per call.
	if _, err := s.pre.Preflight(context.Background(), []shopify.PreflightRow{
		{Key: "a", SKU: "MUG-1", Duration: time.Second}, {Key: "b", SKU: "TWIN-1", Duration: time.Second},
	}); err != nil {
		t.Fatal(err)
	}
	if st := s.srv.Stats(); st.BulkQueries != 0 || st.Calls["productVariants"] != 1 {
		t.Errorf("2 SKUs: %d bulk queries, %d searches; want 0 and 1", st.BulkQueries, st.Calls["productVariants"])
	}
}

func TestPreflightCallFailure(t *testing.T) {
	s := newPreflightStore(t)
	s.srv.InjectFault(shopifytest.Fault{Field: "productVariants", Status: 401})
	errs, err := s.pre.Preflight(context.Background(), []shopify.PreflightRow{{Key: "k", SKU: "MUG-1", Duration: time.Second}})
	if err == nil || errs != nil {
		t.Fatalf("Preflight = %v, %v; want the call's error and no results", errs, err)
	}
}

// BenchmarkPreflightPoints measures the cost points a preflight pass is
// debited per row, against shopifytest (which debits actual cost the way
// Shopify does: one point per object returned, 10 per mutation), side by
// side: the pass with bulk queries (the default), the pass with
// productVariants searches only, and the plain SKU lookup the publisher
// makes (Prefetch). Each row's SKU is the one variant of a product with a
// few images. A bulk query takes bulkTime, waited for on a virtual clock
// with the publisher's poll intervals (2 s, growing by half, jittered:
// about 4 polls for 10 s). Passes of 8 rows (the default bulk threshold)
// and of 500 rows (two bulk queries of up to 250 SKUs) are measured.
func BenchmarkPreflightPoints(b *testing.B) {
	const bulkTime = 10 * time.Second
	for _, n := range []int{8, 500} {
		for _, mode := range []string{"preflight-bulk", "preflight-search", "lookup"} {
			b.Run(fmt.Sprintf("rows=%d/%s", n, mode), func(b *testing.B) { benchmarkPreflightPoints(b, n, mode, bulkTime) })
		}
	}
}

func benchmarkPreflightPoints(b *testing.B, n int, mode string, bulkTime time.Duration) {
	var points float64
	var rows int
	for b.Loop() {
		srv := shopifytest.NewServer(shopifytest.WithBucket(1e6, 1e6),
			shopifytest.WithClock(shopifytest.NewVirtualClock(epoch)), shopifytest.WithBulkDuration(bulkTime))
		var pre []shopify.PreflightRow
		var skus []string
		for i := range n {
			sku := fmt.Sprintf("PF-%05d", i)
			srv.AddProduct(shopifytest.Product{Title: "Product " + sku, Variants: []shopifytest.Variant{{SKU: sku}}, Images: 4})
			pre = append(pre, shopify.PreflightRow{Key: "k/" + sku, SKU: sku, Duration: 5 * time.Second})
			skus = append(skus, sku)
		}
		pub := shopify.NewPublisher(srv.Client())
		if mode != "lookup" {
			threshold := shopify.DefaultPreflightBulkThreshold
			if mode == "preflight-search" {
				threshold = 0
			}
			p, err := shopify.NewPreflighter(pub, shopify.WithPreflightBulkThreshold(threshold))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := p.Preflight(context.Background(), pre); err != nil {
				b.Fatal(err)
			}
		} else if err := pub.Prefetch(context.Background(), skus); err != nil {
			b.Fatal(err)
		}
		points += srv.Stats().PointsDebited
		rows += n
		srv.Close()
	}
	b.ReportMetric(points/float64(rows), "points/row")
}

// TestPreflightFollowsThePublishersLimit checks that the room rule is the
// publisher's own (WithMaxProductMedia), so preflight refuses exactly what
// publishing would.
func TestPreflightFollowsThePublishersLimit(t *testing.T) {
	s := newPreflightStore(t)
	pub := shopify.NewPublisher(s.srv.Client(), shopify.WithMaxProductMedia(5))
	pre, err := shopify.NewPreflighter(pub, nil)
	if err != nil {
		t.Fatal(err)
	}
	// MUG-1's product has 3 images: room for one video, not two, with a
	// place kept free.
	errs, err := pre.Preflight(context.Background(), []shopify.PreflightRow{
		{Key: "a", SKU: "MUG-1", Duration: time.Second},
		{Key: "b", SKU: " MUG-1 ", Duration: time.Second},
		{Key: "c", SKU: "  ", Duration: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil {
		t.Errorf("first row: %v, want room", errs[0])
	}
	wantReason(t, errs[1], shopify.PreflightProductFull, "may hold 5")
	wantReason(t, errs[2], shopify.PreflightInvalid, "no SKU")
	if _, err := shopify.NewPreflighter(nil); err == nil {
		t.Error("NewPreflighter(nil) was accepted")
	}
}
