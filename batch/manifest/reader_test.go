package manifest_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// seedManifest is the workflow's sample manifest.
const seedManifest = `sku,image_url,video_prompt,collection,target_surface
SKU-1001,https://cdn.example.com/catalog/mug-hero.jpg,"5-second product hero shot, slow camera push, clean white sweep",new-arrivals,shopify-pdp
SKU-1002,https://cdn.example.com/catalog/shoe-hero.jpg,"5-second product reveal, gentle rotation, dynamic shadow",spring-drop,shopify-pdp
SKU-1003,https://cdn.example.com/catalog/bag-hero.jpg,"5-second lifestyle motion, soft natural light, premium editorial feel",paid-social,meta-ads
`

// readAll collects the rows and errors of a manifest.
func readAll(t *testing.T, name, csv string) ([]manifest.Row, []error) {
	t.Helper()
	rows, errs, _, _ := readWith(t, strings.NewReader(csv), name)
	return rows, errs
}

// readWith collects the rows, errors, warnings and stats of a manifest read
// with opts.
func readWith(t *testing.T, r io.Reader, name string, opts ...manifest.Option) ([]manifest.Row, []error, []string, manifest.Stats) {
	t.Helper()
	var warnings []string
	opts = append(opts, manifest.WithWarnings(func(w manifest.Warning) { warnings = append(warnings, w.String()) }))
	m, err := manifest.NewReader(r, name, opts...)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var rows []manifest.Row
	var errs []error
	for row, err := range m.Rows() {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rows = append(rows, row)
	}
	return rows, errs, warnings, m.Stats()
}

// rowErrorTexts checks that every error is a *manifest.RowError and returns
// their texts.
func rowErrorTexts(t *testing.T, errs []error) []string {
	t.Helper()
	var texts []string
	for _, err := range errs {
		var re *manifest.RowError
		if !errors.As(err, &re) {
			t.Fatalf("error %v (%T), want a *manifest.RowError", err, err)
		}
		texts = append(texts, err.Error())
	}
	return texts
}

func TestManifestSeed(t *testing.T) {
	rows, errs := readAll(t, "product-videos.csv", seedManifest)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []manifest.Row{
		{SKU: "SKU-1001", ImageURL: "https://cdn.example.com/catalog/mug-hero.jpg", VideoPrompt: "5-second product hero shot, slow camera push, clean white sweep", Collection: "new-arrivals", TargetSurface: "shopify-pdp", File: "product-videos.csv", Line: 2},
		{SKU: "SKU-1002", ImageURL: "https://cdn.example.com/catalog/shoe-hero.jpg", VideoPrompt: "5-second product reveal, gentle rotation, dynamic shadow", Collection: "spring-drop", TargetSurface: "shopify-pdp", File: "product-videos.csv", Line: 3},
		{SKU: "SKU-1003", ImageURL: "https://cdn.example.com/catalog/bag-hero.jpg", VideoPrompt: "5-second lifestyle motion, soft natural light, premium editorial feel", Collection: "paid-social", TargetSurface: "meta-ads", File: "product-videos.csv", Line: 4},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestManifestSyntax(t *testing.T) {
	// A BOM, CRLF, headers in another case and order with spaces, quoted
	// commas, doubled quotes, a quoted newline, empty optional fields, an
	// unknown column, and per-row settings.
	csv := "\ufeff Video_Prompt ,SKU,Image_URL,notes,collection,target_surface,model,duration,aspect_ratio,still_prompt\r\n" +
		`"Mug on a table, ""slow"" push",SKU-1,https://cdn.example.com/a.jpg,whatever,,,,,,` + "\r\n" +
		`"two` + "\r\n" + `lines",SKU-2,http://cdn.example.com/b.jpg?x=1&y=2,,spring,meta-ads,veo-3.1, 10s ,9:16,"white sweep, studio light"` + "\r\n" +
		"\r\n" +
		`spin,SKU-3,https://cdn.example.com/c.jpg,,,,,8,,` + "\r\n"
	rows, errs := readAll(t, "x.csv", csv)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []manifest.Row{
		{SKU: "SKU-1", ImageURL: "https://cdn.example.com/a.jpg", VideoPrompt: `Mug on a table, "slow" push`, File: "x.csv", Line: 2},
		{SKU: "SKU-2", ImageURL: "http://cdn.example.com/b.jpg?x=1&y=2", VideoPrompt: "two\r\nlines", Collection: "spring",
			TargetSurface: "meta-ads", Model: "veo-3.1", Duration: 10, AspectRatio: "9:16", StillPrompt: "white sweep, studio light", File: "x.csv", Line: 3},
		{SKU: "SKU-3", ImageURL: "https://cdn.example.com/c.jpg", VideoPrompt: "spin", Duration: 8, File: "x.csv", Line: 6},
	}
	// encoding/csv turns \r\n inside quotes into \n.
	want[1].VideoPrompt = "two\nlines"
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestManifestHeaderErrors(t *testing.T) {
	tests := []struct {
		name, csv string
		want      string
	}{
		{"empty", "", "m.csv: empty manifest: no header line"},
		{"only BOM", "\ufeff", "m.csv: empty manifest: no header line"},
		{"missing video_prompt", "sku,image_url\nA,https://x/y.jpg\n", `m.csv:1: missing required column video_prompt (the header has ["sku" "image_url"])`},
		{"missing two", "\n\nsku,collection\n", "m.csv:3: missing required column image_url, video_prompt"},
		{"duplicate", "sku,image_url,video_prompt, SKU \n", `m.csv:1: column "sku": appears more than once in the header`},
		{"bad quote", "sku,\"image_url\nvideo_prompt", "m.csv:1: header: extraneous or missing \" in quoted-field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := manifest.NewReader(strings.NewReader(tt.csv), "m.csv")
			if m != nil {
				t.Errorf("got a reader, want none")
			}
			var me *manifest.Error
			if !errors.As(err, &me) {
				t.Fatalf("error %v (%T), want *manifest.Error", err, err)
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("error\n got %q\nwant prefix %q", got, tt.want)
			}
		})
	}
}

func TestManifestReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader(seedManifest), iotest.ErrReader(boom))
	m, err := manifest.NewReader(r, "m.csv")
	if err != nil {
		t.Fatal(err)
	}
	var rows int
	var last error
	for _, err := range m.Rows() {
		if err != nil {
			last = err
			continue
		}
		rows++
	}
	if rows != 3 || !errors.Is(last, boom) {
		t.Errorf("got %d rows and error %v; want 3 rows, then %v", rows, last, boom)
	}
	var re *manifest.RowError
	if errors.As(last, &re) {
		t.Errorf("a read failure is not a row error: %v", last)
	}
}

func TestManifestRowErrors(t *testing.T) {
	csv := strings.Join([]string{
		"sku,image_url,video_prompt,duration,aspect_ratio,target_surface",
		"A,https://cdn.example.com/a.jpg,ok,,,",                   // 2 ok
		",https://cdn.example.com/b.jpg,p,,,",                     // 3
		"C,https://cdn.example.com/c.jpg,  ,,,",                   // 4
		"D,cdn.example.com/d.jpg,p,,,",                            // 5
		"E,ftp://cdn.example.com/e.jpg,p,,,",                      // 6
		"F,https://cdn.example.com/f.jpg,p,5 minutes,,",           // 7
		"G,https://cdn.example.com/g.jpg,p,0,,",                   // 8
		"H,https://cdn.example.com/h.jpg,p,,16x9,",                // 9
		"I,https://cdn.example.com/i.jpg,p",                       // 10
		"J,https://cdn.example.com/j.jpg,p,,,,extra",              // 11
		`K,https://cdn.example.com/k.jpg,"p"x",,,`,                // 12
		"A,https://cdn.example.com/a.jpg,ok,,,",                   // 13 duplicate of 2
		"A,https://cdn.example.com/a.jpg,ok,,,other",              // 14 duplicate: target_surface is no render input
		"A,https://cdn.example.com/a.jpg,other prompt,,,",         // 15 ok: another version of A
		"L,https://cdn.example.com/l.jpg,\"multi\nline\",1m,1:1,", // 16-17 ok
		"M,https://,p,,,",                                         // 18
	}, "\n") + "\n"
	rows, errs := readAll(t, "cat.csv", csv)
	got := rowErrorTexts(t, errs)
	want := []string{
		`cat.csv:3: sku is empty`,
		`cat.csv:4: video_prompt is empty (sku "C")`,
		`cat.csv:5: image_url "cdn.example.com/d.jpg" is not an absolute http(s) URL (sku "D")`,
		`cat.csv:6: image_url "ftp://cdn.example.com/e.jpg" is not an absolute http(s) URL (sku "E")`,
		`cat.csv:7: duration "5 minutes" is not a duration such as 5s (sku "F")`,
		`cat.csv:8: duration "0" must be at least 1s (sku "G")`,
		`cat.csv:9: aspect_ratio "16x9" is not an aspect ratio such as 16:9 (sku "H")`,
		`cat.csv:10: has 3 fields, the header has 6: give every column a field, even an empty one (sku "I")`,
		`cat.csv:11: has 7 fields, the header has 6: put quotes around a field that holds commas, or remove the extra fields (sku "J")`,
		`cat.csv:12: malformed CSV at character 35: extraneous or missing " in quoted-field`,
		`cat.csv:13: duplicates line 2 (same sku and render inputs) (sku "A")`,
		`cat.csv:14: duplicates line 2 (same sku and render inputs) (sku "A")`,
		`cat.csv:18: image_url "https://" is not an absolute http(s) URL (sku "M")`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("row errors (-want +got):\n%s", diff)
	}
	var skus []string
	for _, r := range rows {
		skus = append(skus, fmt.Sprintf("%s@%d", r.SKU, r.Line))
	}
	if diff := cmp.Diff([]string{"A@2", "A@15", "L@16"}, skus); diff != "" {
		t.Errorf("valid rows (-want +got):\n%s", diff)
	}
}

func TestManifestRowsOnce(t *testing.T) {
	m, err := manifest.NewReader(strings.NewReader(seedManifest), "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range m.Rows() {
		n++
		break // stopping early must be safe
	}
	for range m.Rows() {
		n++
	}
	if n != 1 {
		t.Errorf("got %d rows over two iterations, want 1: Rows reads its input once", n)
	}
}

func TestRowValidate(t *testing.T) {
	ok := manifest.Row{SKU: "A", ImageURL: "HTTPS://cdn.example.com/a.jpg", VideoPrompt: "p", AspectRatio: "4:5"}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v", ok, err)
	}
	bad := ok
	bad.AspectRatio, bad.Line = "-1:2", 7
	err := bad.Validate()
	var re *manifest.RowError
	if !errors.As(err, &re) || re.Column != "aspect_ratio" || re.Line != 7 {
		t.Errorf("Validate = %v, want a *RowError for aspect_ratio on line 7", err)
	}
	if got, want := err.Error(), `manifest:7: aspect_ratio "-1:2" is not an aspect ratio such as 16:9 (sku "A")`; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
}

func TestRowKey(t *testing.T) {
	row := manifest.Row{SKU: "SKU-1", ImageURL: "https://cdn.example.com/a.jpg", VideoPrompt: "spin", Collection: "c", TargetSurface: "shopify-pdp", File: "product-videos.csv", Line: 3}
	key := manifest.RowKey(row, manifest.Defaults{})
	if !strings.HasPrefix(key, "SKU-1#") || len(key) != len("SKU-1#")+16 {
		t.Errorf("RowKey = %q, want SKU-1# and 16 hex digits", key)
	}
	explicit := manifest.Defaults{Model: manifest.DefaultModel, Duration: manifest.DefaultDuration, AspectRatio: manifest.DefaultAspectRatio}
	if k := manifest.RowKey(row, explicit); k != key {
		t.Errorf("explicit package defaults give %q, want %q", k, key)
	}
	same := row
	same.Collection, same.TargetSurface, same.Line = "other", "meta-ads", 99
	if k := manifest.RowKey(same, manifest.Defaults{}); k != key {
		t.Errorf("collection, target_surface and line changed the key: %q != %q", k, key)
	}
	// A row that spells out the default is the same render.
	spelled := row
	spelled.Model, spelled.Duration, spelled.AspectRatio = "kling-v3", 5, "16:9"
	if k := manifest.RowKey(spelled, manifest.Defaults{}); k != key {
		t.Errorf("spelled-out defaults changed the key: %q != %q", k, key)
	}

	seen := map[string]string{key: "base"}
	for name, change := range map[string]func(*manifest.Row, *manifest.Defaults){
		"image_url":       func(r *manifest.Row, _ *manifest.Defaults) { r.ImageURL += "?v=2" },
		"video_prompt":    func(r *manifest.Row, _ *manifest.Defaults) { r.VideoPrompt += "!" },
		"still_prompt":    func(r *manifest.Row, _ *manifest.Defaults) { r.StillPrompt = "studio" },
		"model":           func(r *manifest.Row, _ *manifest.Defaults) { r.Model = "veo-3.1" },
		"duration":        func(r *manifest.Row, _ *manifest.Defaults) { r.Duration = 10 },
		"aspect_ratio":    func(r *manifest.Row, _ *manifest.Defaults) { r.AspectRatio = "9:16" },
		"default model":   func(_ *manifest.Row, d *manifest.Defaults) { d.Model = "auto" },
		"default length":  func(_ *manifest.Row, d *manifest.Defaults) { d.Duration = 4 },
		"default ratio":   func(_ *manifest.Row, d *manifest.Defaults) { d.AspectRatio = "1:1" },
		"sku":             func(r *manifest.Row, _ *manifest.Defaults) { r.SKU = "SKU-2" },
		"field boundary1": func(r *manifest.Row, _ *manifest.Defaults) { r.ImageURL += "s"; r.VideoPrompt = r.VideoPrompt[1:] },
	} {
		r, d := row, manifest.Defaults{}
		change(&r, &d)
		k := manifest.RowKey(r, d)
		if prev, dup := seen[k]; dup {
			t.Errorf("changing %s gives key %q, the same as %s", name, k, prev)
		}
		seen[k] = name
	}
}

func TestDefaultsApply(t *testing.T) {
	d := manifest.Defaults{Model: "veo-3.1"}
	got := d.Apply(manifest.Row{SKU: "A", AspectRatio: "1:1"})
	want := manifest.Row{SKU: "A", Model: "veo-3.1", Duration: creativeai.Duration(5), AspectRatio: "1:1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Apply (-want +got):\n%s", diff)
	}
}

// TestManifestControlCharacters pins that a control character in a name
// column, or a NUL in a prompt, is a row error naming where it is: a NUL
// in a SKU made PostgreSQL refuse the row and stop the whole run.
func TestManifestControlCharacters(t *testing.T) {
	csv := "sku,image_url,video_prompt,collection,target_surface\n" +
		"A\x001,https://cdn.example.com/a.jpg,p,,\n" + // 2
		"B\x0b2,https://cdn.example.com/b.jpg,p,,\n" + // 3
		"C,https://cdn.example.com/c.jpg,one\x00two,,\n" + // 4
		"D,https://cdn.example.com/d.jpg,p,mu\x7fgs,\n" + // 5
		"E,https://cdn.example.com/e.jpg,p,,meta-ads\x1b\n" + // 6
		"F,https://cdn.example.com/f.jpg,\"tab\there, and\nline\",,\n" // 7-8 ok
	rows, errs := readAll(t, "ctl.csv", csv)
	fix := `, which shows as nothing in a spreadsheet: delete it (retype the field), or save the file again from its source as "CSV UTF-8"`
	want := []string{
		`ctl.csv:2: sku has the control character U+0000 at character 2` + fix + ` (sku "A\x001")`,
		`ctl.csv:3: sku has the control character U+000B at character 2` + fix + ` (sku "B\v2")`,
		`ctl.csv:4: video_prompt has the control character U+0000 at character 4` + fix + ` (sku "C")`,
		`ctl.csv:5: collection has the control character U+007F at character 3` + fix + ` (sku "D")`,
		`ctl.csv:6: target_surface has the control character U+001B at character 9` + fix + ` (sku "E")`,
	}
	if diff := cmp.Diff(want, rowErrorTexts(t, errs)); diff != "" {
		t.Errorf("row errors (-want +got):\n%s", diff)
	}
	if len(rows) != 1 || rows[0].SKU != "F" {
		t.Errorf("valid rows %+v, want only F: tabs and line breaks in a prompt are text", rows)
	}
}

// TestManifestPromptLength pins that a prompt over MaxPromptBytes is a row
// error whether the manifest gave it or not, as it is for templates.
func TestManifestPromptLength(t *testing.T) {
	long := strings.Repeat("x", manifest.MaxPromptBytes+1)
	csv := "sku,image_url,video_prompt,still_prompt\n" +
		"A,https://cdn.example.com/a.jpg," + long + ",\n" +
		"B,https://cdn.example.com/b.jpg,p," + long + "\n" +
		"C,https://cdn.example.com/c.jpg," + long[1:] + ",\n"
	rows, errs := readAll(t, "long.csv", csv)
	want := []string{
		`long.csv:2: video_prompt is 16385 bytes long, more than the 16384 (16 KiB) a prompt may have: shorten it (sku "A")`,
		`long.csv:3: still_prompt is 16385 bytes long, more than the 16384 (16 KiB) a prompt may have: shorten it (sku "B")`,
	}
	if diff := cmp.Diff(want, rowErrorTexts(t, errs)); diff != "" {
		t.Errorf("row errors (-want +got):\n%s", diff)
	}
	if len(rows) != 1 || rows[0].SKU != "C" {
		t.Errorf("valid rows %v, want only C, whose prompt is exactly the limit", len(rows))
	}
	// Rows built in code are held to the same rule by Validate.
	r := manifest.Row{SKU: "D", ImageURL: "https://cdn.example.com/d.jpg", VideoPrompt: long}
	var re *manifest.RowError
	if err := r.Validate(); !errors.As(err, &re) || re.Column != "video_prompt" {
		t.Errorf("Validate = %v, want a *RowError for video_prompt", err)
	}
}

// TestManifestFieldCount pins how a row with the wrong number of fields is
// explained: in the file's delimiter, one field in the singular.
func TestManifestFieldCount(t *testing.T) {
	csv := "sku;image_url;video_prompt\n" +
		"A\n" +
		"B;https://cdn.example.com/b.jpg;slow; push\n"
	_, errs := readAll(t, "semi.csv", csv)
	want := []string{
		`semi.csv:2: has 1 field, the header has 3: give every column a field, even an empty one (sku "A")`,
		`semi.csv:3: has 4 fields, the header has 3: put quotes around a field that holds semicolons, or remove the extra fields (sku "B")`,
	}
	if diff := cmp.Diff(want, rowErrorTexts(t, errs)); diff != "" {
		t.Errorf("row errors (-want +got):\n%s", diff)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]creativeai.Duration{"5s": 5, "5": 5, " 10s ": 10, "1m": 60, "24h": creativeai.MaxDuration} {
		if got, err := manifest.ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"99999h":               `"99999h" is longer than 86400s (24h), the longest clip length taken; write the clip's length in seconds, such as 5s`,
		"86401":                `"86401" is longer than 86400s (24h)`,
		"5 minutes":            `"5 minutes" is not a duration such as 5s`,
		"99999999999999999999": `"99999999999999999999" is not a duration such as 5s`,
		"1.5s":                 `"1.5s" is not a whole number of seconds; write seconds such as 5s`,
		"0":                    `"0" must be at least 1s`,
		"-5s":                  `"-5s" must be at least 1s`,
		"500ms":                `"500ms" must be at least 1s`,
	} {
		if got, err := manifest.ParseDuration(in); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("ParseDuration(%q) = %v, %v; want the error %q", in, got, err, want)
		}
	}
	// In a manifest, the error names the file, line and column.
	_, errs := readAll(t, "cat.csv", "sku,image_url,video_prompt,duration\nA,https://cdn.example.com/a.jpg,p,99999h\n")
	if got := rowErrorTexts(t, errs); len(got) != 1 || !strings.HasPrefix(got[0], `cat.csv:2: duration "99999h" is longer than 86400s (24h)`) {
		t.Errorf("errors %q", got)
	}
}

// The SKU follows a row's error unless the error is the SKU's and quotes it.
func TestRowErrorSKU(t *testing.T) {
	for _, tt := range []struct {
		err  manifest.RowError
		want string
	}{
		{manifest.RowError{File: "m.csv", Line: 2, Column: "sku", SKU: "1E+5", Err: errors.New(`"1E+5" is a number`)}, `m.csv:2: sku "1E+5" is a number`},
		{manifest.RowError{File: "m.csv", Line: 2, Column: "sku", SKU: "A\tB", Err: errors.New("has a tab")}, `m.csv:2: sku has a tab (sku "A\tB")`},
		{manifest.RowError{File: "m.csv", Line: 2, Column: "image_url", SKU: "A", Err: errors.New(`"A" is not a URL`)}, `m.csv:2: image_url "A" is not a URL (sku "A")`},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
