package manifest_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
)

// TestSameSKUAndSurfaceWarned: rows of one SKU for one surface with other
// render inputs are all read, and each after the first is warned about,
// naming the first one's line, since its video will replace the first's
// on the product. Other surfaces, and rows delivered nowhere, are not.
func TestSameSKUAndSurfaceWarned(t *testing.T) {
	csv := "sku,image_url,video_prompt,target_surface\n" +
		"SKU-1,https://cdn.example.com/1.jpg,spin,shopify-pdp\n" +
		"SKU-1,https://cdn.example.com/1.jpg,zoom,shopify-pdp\n" +
		"SKU-1,https://cdn.example.com/1.jpg,zoom,meta-ads\n" + // a duplicate row: same inputs as line 3
		"SKU-1,https://cdn.example.com/1.jpg,pan,meta-ads\n" +
		"SKU-1,https://cdn.example.com/1.jpg,tilt,\n" +
		"SKU-1,https://cdn.example.com/1.jpg,orbit,\n" +
		"SKU-2,https://cdn.example.com/2.jpg,spin,shopify-pdp\n" +
		" SKU-1 ,https://cdn.example.com/1.jpg,dolly,shopify-pdp\n"
	var got []manifest.Warning
	m, err := manifest.NewReader(strings.NewReader(csv), "r.csv", manifest.WithWarnings(func(w manifest.Warning) { got = append(got, w) }))
	if err != nil {
		t.Fatal(err)
	}
	var rows, errs int
	for _, err := range m.Rows() {
		if err != nil {
			errs++
			continue
		}
		rows++
	}
	if rows != 7 || errs != 1 {
		t.Errorf("%d rows and %d errors, want 7 and 1 (the duplicate)", rows, errs)
	}
	const replaces = ", with other render inputs: both videos are rendered, and the later video replaces the earlier one on the product; " +
		"keep one row per SKU and surface to publish one video"
	want := []manifest.Warning{
		{File: "r.csv", Line: 3, OtherLine: 2, Column: "target_surface", SKU: "SKU-1",
			Message: `"shopify-pdp" for sku "SKU-1", as on line 2` + replaces},
		{File: "r.csv", Line: 9, Column: "sku", SKU: "SKU-1",
			Message: `" SKU-1 " has spaces around it, which no store SKU has; read as "SKU-1": remove the spaces in the file`},
		{File: "r.csv", Line: 9, OtherLine: 2, Column: "target_surface", SKU: "SKU-1",
			Message: `"shopify-pdp" for sku "SKU-1", as on line 2` + replaces},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if s := got[0].String(); !strings.HasPrefix(s, `r.csv:3: warning: target_surface "shopify-pdp" for sku "SKU-1", as on line 2, `) {
		t.Errorf("warning reads %q", s)
	}
	if st := m.Stats(); st.Warnings != 3 {
		t.Errorf("stats %+v, want 3 warnings", st)
	}
}
