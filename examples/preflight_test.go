package examples_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

// TestSubmitPreflight runs submit against a store where three of four
// shopify-pdp rows cannot be published: a SKU no variant has, a SKU on two
// products, and a product at Shopify's media limit. None of them is
// rendered (the simulator's render count proves it); each ends
// submit_failed with a preflight: error and exit status 1. Once the store is
// fixed, -retry-failed renders them.
func TestSubmitPreflight(t *testing.T) {
	t.Parallel()
	bin(t, "submit") // built before runProgram's clock starts
	dir := t.TempDir()
	sim := creativeaitest.NewServer(creativeaitest.WithSeed(3))
	defer sim.Close()
	shop := shopifytest.NewServer()
	defer shop.Close()

	shop.AddProduct(shopifytest.Product{Title: "Mug", Variants: []shopifytest.Variant{{SKU: "MUG-1"}}, Images: 2})
	shop.AddProduct(shopifytest.Product{Title: "Shoe", Variants: []shopifytest.Variant{{SKU: "TWIN-1"}}})
	boot := shop.AddProduct(shopifytest.Product{Title: "Boot", Variants: []shopifytest.Variant{{SKU: "TWIN-1"}}})
	lamp := shop.AddProduct(shopifytest.Product{Title: "Lamp", Variants: []shopifytest.Variant{{SKU: "LAMP-1"}},
		Images: shopify.DefaultMaxProductMedia})

	csv := "sku,image_url,video_prompt,collection,target_surface\n" +
		"MUG-1,https://cdn.example.com/mug.jpg,slow push,,shopify-pdp\n" +
		"MISSING-1,https://cdn.example.com/cap.jpg,slow push,,shopify-pdp\n" +
		"TWIN-1,https://cdn.example.com/shoe.jpg,slow push,,shopify-pdp\n" +
		"LAMP-1,https://cdn.example.com/lamp.jpg,slow push,,shopify-pdp\n" +
		"BAG-1,https://cdn.example.com/bag.jpg,slow push,,meta-ads\n"
	csvPath := filepath.Join(dir, "products.csv")
	if err := os.WriteFile(csvPath, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	jobFile := filepath.Join(dir, "video-jobs.jsonl")
	env := cleanEnv(
		"CREATIVEAI_API_KEY="+sim.APIKey,
		"CREATIVEAI_BASE_URL="+sim.URL,
		"SHOPIFY_ADMIN_API_URL="+shop.GraphQLURL,
		"SHOPIFY_ADMIN_TOKEN="+shopifytest.DefaultToken,
	)
	args := []string{"-csv", csvPath, "-jobs", jobFile, "-webhook-url=", "-rate", "100"}

	res := runProgram(t, dir, env, "submit", args...)
	if res.code != 1 {
		t.Fatalf("submit exited %d, want 1 (rows submit_failed)\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if n := sim.Stats().Renders; n != 2 {
		t.Fatalf("the simulator rendered %d, want 2 (MUG-1 and the meta-ads row): preflight must stop the rest before any render", n)
	}
	want := map[string]string{
		"MISSING-1": `preflight: no product variant has SKU "MISSING-1"`,
		"TWIN-1":    `preflight: SKU "TWIN-1" is ambiguous: variants of 2 products carry it`,
		"LAMP-1":    "preflight: product " + lamp + ` ("Lamp") has 250 media`,
	}
	recs := exportRecords(t, dir, env, jobFile)
	for _, r := range recs {
		prefix, refused := want[r.SKU]
		switch {
		case refused && (r.Status != jobs.StatusSubmitFailed || !strings.HasPrefix(r.Error, prefix) || r.GenerationID != ""):
			t.Errorf("%s: %s %q (generation %q), want submit_failed with %q and no render", r.SKU, r.Status, r.Error, r.GenerationID, prefix)
		case !refused && (r.Status == jobs.StatusSubmitFailed || r.GenerationID == ""):
			t.Errorf("%s: %s %q, want it submitted", r.SKU, r.Status, r.Error)
		}
		if refused && !strings.Contains(res.stdout, prefix) {
			t.Errorf("submit's table does not show %q:\n%s", prefix, res.stdout)
		}
	}
	if len(recs) != 5 {
		t.Errorf("%d jobs tracked, want 5", len(recs))
	}

	// The merchant fixes the store; the rerun submits the three.
	shop.AddProduct(shopifytest.Product{Title: "Cap", Variants: []shopifytest.Variant{{SKU: "MISSING-1"}}})
	if n, err := shop.SetSKU(boot, "TWIN-1", "TWIN-2"); err != nil || n != 1 {
		t.Fatalf("SetSKU = %d, %v", n, err)
	}
	// Two images, so that a place stays free after the video.
	if n, err := shop.RemoveImages(lamp, 2); err != nil || n != 2 {
		t.Fatalf("RemoveImages = %d, %v", n, err)
	}
	res = runProgram(t, dir, env, "submit", append(args, "-retry-failed")...)
	if res.code != 0 {
		t.Fatalf("submit -retry-failed exited %d after the fix\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "Submitted 5/5 jobs") {
		t.Errorf("submit output lacks Submitted 5/5:\n%s", res.stdout)
	}
	if st := sim.Stats(); st.Renders != 5 || st.DuplicateRenders != 0 {
		t.Errorf("renders %d (%d duplicates), want 5 (0)", st.Renders, st.DuplicateRenders)
	}
	for _, r := range exportRecords(t, dir, env, jobFile) {
		if r.GenerationID == "" || r.Error != "" {
			t.Errorf("%s after the fix: %s %q, want submitted", r.SKU, r.Status, r.Error)
		}
	}
}

// TestSubmitPreflightOff checks that -preflight=false submits a row the
// check would stop.
func TestSubmitPreflightOff(t *testing.T) {
	t.Parallel()
	bin(t, "submit")
	dir := t.TempDir()
	sim := creativeaitest.NewServer(creativeaitest.WithSeed(4))
	defer sim.Close()
	shop := shopifytest.NewServer()
	defer shop.Close()
	csvPath := filepath.Join(dir, "products.csv")
	if err := os.WriteFile(csvPath, []byte("sku,image_url,video_prompt,collection,target_surface\n"+
		"MISSING-1,https://cdn.example.com/cap.jpg,slow push,,shopify-pdp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := cleanEnv("CREATIVEAI_API_KEY="+sim.APIKey, "CREATIVEAI_BASE_URL="+sim.URL,
		"SHOPIFY_ADMIN_API_URL="+shop.GraphQLURL, "SHOPIFY_ADMIN_TOKEN="+shopifytest.DefaultToken)
	res := runProgram(t, dir, env, "submit", "-csv", csvPath, "-jobs", filepath.Join(dir, "jobs.jsonl"), "-webhook-url=", "-preflight=false")
	if res.code != 0 || sim.Stats().Renders != 1 || shop.Stats().Requests != 0 {
		t.Errorf("submit -preflight=false exited %d with %d renders and %d Shopify requests; want 0, 1, 0\n%s%s",
			res.code, sim.Stats().Renders, shop.Stats().Requests, res.stdout, res.stderr)
	}
}

// exportRecords exports the job file with the jobs program.
func exportRecords(t *testing.T, dir string, env []string, jobFile string) []jobs.Record {
	t.Helper()
	res := runProgram(t, dir, env, "jobs", "-jobs", jobFile, "export")
	if res.code != 0 {
		t.Fatalf("jobs export exited %d: %s", res.code, res.stderr)
	}
	recs := readRecords(t, []byte(res.stdout))
	if len(recs) == 0 {
		t.Fatal(fmt.Errorf("jobs export of %s is empty", jobFile))
	}
	return recs
}
