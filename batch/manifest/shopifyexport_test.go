package manifest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
)

// classicExport is a Shopify product export with the classic headers, as
// Shopify writes it: product fields only on a product's first row, one row
// per variant, image-only rows after the variants, the images not in
// position order.
const classicExport = `Handle,Title,Body (HTML),Vendor,Product Category,Type,Tags,Published,Option1 Name,Option1 Value,Option2 Name,Option2 Value,Option3 Name,Option3 Value,Variant SKU,Variant Price,Image Src,Image Position,Image Alt Text,Variant Image,Status
ceramic-mug,Ceramic Mug,<p>Stoneware.</p>,Acme,Home & Garden > Kitchen,Mugs,"kitchen, gifts",TRUE,Color,Blue,Size,12 oz,,,MUG-BLU-12,18.00,https://cdn.example.com/mug-side.jpg,2,,,active
ceramic-mug,,,,,,,,,Red,,12 oz,,,MUG-RED-12,18.00,https://cdn.example.com/mug-front.jpg,1,,https://cdn.example.com/mug-red.jpg,
ceramic-mug,,,,,,,,,Green,,16 oz,,,,18.00,,,,,
ceramic-mug,,,,,,,,,,,,,,,,https://cdn.example.com/mug-top.jpg,3,,,
tote-bag,Canvas Tote,,Acme,,Bags,,TRUE,Title,Default Title,,,,,TOTE-1,25.00,,,,,draft
`

func readExport(t *testing.T, name, csv string) (rows []manifest.Row, errs []error, skips []manifest.SkippedRow) {
	t.Helper()
	x, err := manifest.NewShopifyExportReader(strings.NewReader(csv), name, func(s manifest.SkippedRow) { skips = append(skips, s) })
	if err != nil {
		t.Fatalf("NewShopifyExportReader: %v", err)
	}
	for row, err := range x.Rows() {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rows = append(rows, row)
	}
	if x.Skipped() != len(skips) {
		t.Errorf("Skipped() = %d, reported %d", x.Skipped(), len(skips))
	}
	return rows, errs, skips
}

func TestShopifyExportClassic(t *testing.T) {
	rows, errs, skips := readExport(t, "products_export.csv", classicExport)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	type got struct {
		SKU, ImageURL, TargetSurface, Title, Vendor, Type, Tags, Status string
		Options                                                         []manifest.ProductOption
		Line                                                            int
	}
	var have []got
	for _, r := range rows {
		have = append(have, got{r.SKU, r.ImageURL, r.TargetSurface, r.Product.Title, r.Product.Vendor, r.Product.Type,
			r.Product.Columns["tags"], r.Product.Columns["status"], r.Product.Options, r.Line})
		if r.VideoPrompt != "" || r.File != "products_export.csv" {
			t.Errorf("row %s: prompt %q, file %q; want no prompt and the file's name", r.SKU, r.VideoPrompt, r.File)
		}
	}
	want := []got{
		// The product's first image is the one at position 1 (line 3), not
		// the first one in the file.
		{"MUG-BLU-12", "https://cdn.example.com/mug-front.jpg", "shopify-pdp", "Ceramic Mug", "Acme", "Mugs", "kitchen, gifts", "active",
			[]manifest.ProductOption{{"Color", "Blue"}, {"Size", "12 oz"}}, 2},
		// The variant's own image wins; product fields carry forward.
		{"MUG-RED-12", "https://cdn.example.com/mug-red.jpg", "shopify-pdp", "Ceramic Mug", "Acme", "Mugs", "kitchen, gifts", "active",
			[]manifest.ProductOption{{"Color", "Red"}, {"Size", "12 oz"}}, 3},
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	wantSkips := []manifest.SkippedRow{
		{File: "products_export.csv", Line: 4, Handle: "ceramic-mug", Variant: "Green / 16 oz", Reason: "it has no Variant SKU; give the variant a SKU in Shopify and export again"},
		{File: "products_export.csv", Line: 6, Handle: "tote-bag", Variant: "Default Title", Reason: "neither the variant nor its product has an image; add a product image in Shopify and export again"},
	}
	if diff := cmp.Diff(wantSkips, skips); diff != "" {
		t.Errorf("skips (-want +got):\n%s", diff)
	}
	if s := skips[0].String(); s != `products_export.csv:4: skipped product "ceramic-mug" variant "Green / 16 oz": it has no Variant SKU; give the variant a SKU in Shopify and export again` {
		t.Errorf("skip message: %s", s)
	}
}

// currentExport has the headers Shopify's exports use since 2025.
const currentExport = `Title,URL handle,Description,Vendor,Product category,Type,Tags,Published on online store,Status,SKU,Barcode,Option1 name,Option1 value,Option1 Linked To,Price,Product image URL,Image position,Image alt text,Variant image URL
Trail Shoe,trail-shoe,<p>Grippy.</p>,Peak,Shoes,Shoes,,TRUE,active,SHOE-42,,Shoe size,42,,90.00,https://cdn.example.com/shoe.jpg,1,,
,trail-shoe,,,,,,,,SHOE-43,,,43,,90.00,,,,https://cdn.example.com/shoe-43.jpg
`

func TestShopifyExportCurrentHeaders(t *testing.T) {
	rows, errs, skips := readExport(t, "products_export.csv", currentExport)
	if len(errs) > 0 || len(skips) > 0 {
		t.Fatalf("errors %v, skips %v", errs, skips)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	if r := rows[0]; r.SKU != "SHOE-42" || r.ImageURL != "https://cdn.example.com/shoe.jpg" || r.Product.Handle != "trail-shoe" ||
		r.Product.Type != "Shoes" || !cmp.Equal(r.Product.Options, []manifest.ProductOption{{"Shoe size", "42"}}) {
		t.Errorf("first row: %+v %+v", r, r.Product)
	}
	if r := rows[1]; r.SKU != "SHOE-43" || r.ImageURL != "https://cdn.example.com/shoe-43.jpg" || r.Product.Title != "Trail Shoe" || r.Line != 3 {
		t.Errorf("second row: %+v %+v", r, r.Product)
	}
}

func TestShopifyExportHeaderErrors(t *testing.T) {
	for _, tt := range []struct{ name, csv, want string }{
		{"no SKU column", "Handle,Title,Image Src\nh,T,https://x.example/a.jpg\n", `exports.csv:1: a Shopify product export needs the column Variant SKU; export the products again`},
		{"no image column", "Handle,Title,Variant SKU\n", `exports.csv:1: a Shopify product export needs the column Image Src or Variant Image;`},
		{"twice", "Handle,Variant SKU,Image Src,handle\n", `exports.csv:1: column "handle": appears more than once in the header`},
		{"empty", "", `exports.csv: empty Shopify export: no header line`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := manifest.NewShopifyExportReader(strings.NewReader(tt.csv), "exports.csv", nil)
			var me *manifest.Error
			if !errors.As(err, &me) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v; want a *manifest.Error containing %q", err, tt.want)
			}
		})
	}
}

func TestShopifyExportRowErrors(t *testing.T) {
	const header = "Handle,Title,Type,Option1 Name,Option1 Value,Variant SKU,Image Src,Image Position,Variant Image\n"
	for _, tt := range []struct {
		name, rows string
		want       []string // the row errors, in order
		skus       []string // the rows yielded
	}{
		{
			name: "product rows not together",
			rows: "a,A,T,Color,Red,A-RED,https://x.example/a.jpg,1,\nb,B,T,Title,Default Title,B-1,https://x.example/b.jpg,1,\na,,,,Blue,A-BLUE,,,\n",
			want: []string{`shop.csv:4: Handle "a" continues here after its product's rows that start on line 2 ended; keep a product's rows together (sort the file by Handle, keeping the rows' order) (sku "A-BLUE")`},
			skus: []string{"A-RED", "B-1"},
		},
		{
			name: "variant image not a URL",
			rows: "a,A,T,Color,Red,A-RED,https://x.example/a.jpg,1,/files/red.jpg\na,,,,Blue,A-BLUE,,,\n",
			want: []string{`shop.csv:2: Variant Image "/files/red.jpg" is not an absolute http(s) URL (sku "A-RED")`},
			skus: []string{"A-BLUE"},
		},
		{
			name: "product image not a URL, named on its own line",
			rows: "a,A,T,Color,Red,A-RED,,,\na,,,,,,ftp://x.example/a.jpg,1,\n",
			want: []string{`shop.csv:3: Image Src "ftp://x.example/a.jpg" is not an absolute http(s) URL (sku "A-RED")`},
		},
		{
			name: "bad image position",
			rows: "a,A,T,Color,Red,A-RED,https://x.example/a.jpg,first,\n",
			want: []string{`shop.csv:2: Image Position "first" is not a position such as 1; fix it in Shopify and export again`},
			skus: []string{"A-RED"},
		},
		{
			name: "short row, then the next product",
			rows: "a,A,T,Color,Red\nb,B,T,Title,Default Title,B-1,https://x.example/b.jpg,1,\n",
			want: []string{`shop.csv:2: has 5 fields, the header has 9: give every column a field, even an empty one`},
			skus: []string{"B-1"},
		},
		{
			name: "no handle",
			rows: ",A,T,Color,Red,A-RED,https://x.example/a.jpg,1,\n",
			want: []string{`shop.csv:2: Handle is empty; every row of a Shopify export names its product's handle`},
		},
		{
			name: "malformed quotes",
			rows: "a,A,T,Color,Red,A-RED,https://x.example/a.jpg,1,\nb,\"B\"x,T,Title,Default Title,B-1,https://x.example/b.jpg,1,\n",
			want: []string{`shop.csv:3: malformed CSV: extraneous or missing " in quoted-field`},
			skus: []string{"A-RED"},
		},
		{
			name: "rows of only commas are ignored",
			rows: ",,,,,,,,\na,A,T,Color,Red,A-RED,https://x.example/a.jpg,1,\n,,,,,,,,\n",
			skus: []string{"A-RED"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rows, errs, _ := readExport(t, "shop.csv", header+tt.rows)
			var msgs, skus []string
			for _, err := range errs {
				var re *manifest.RowError
				if !errors.As(err, &re) {
					t.Fatalf("error %v (%T) is not a *RowError", err, err)
				}
				msgs = append(msgs, err.Error())
			}
			for _, r := range rows {
				skus = append(skus, r.SKU)
			}
			if len(msgs) != len(tt.want) {
				t.Fatalf("errors %q; want %q", msgs, tt.want)
			}
			for i := range msgs {
				if !strings.HasPrefix(msgs[i], tt.want[i]) {
					t.Errorf("error %d:\n got %s\nwant %s", i, msgs[i], tt.want[i])
				}
			}
			if !cmp.Equal(skus, tt.skus) {
				t.Errorf("rows %q; want %q", skus, tt.skus)
			}
		})
	}
}

func TestOpenDetectsTheFormat(t *testing.T) {
	tmpl, err := manifest.ParseTemplates("prompts.tmpl", `{{define "default"}}{{.Title}} by {{.Vendor}}, slow push{{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	// A manifest keeps its prompts without templates; the export's rows each
	// say how to get one.
	src, err := manifest.Open(strings.NewReader(seedManifest), "m.csv", nil, nil)
	if err != nil || src.Format != manifest.FormatManifest {
		t.Fatalf("manifest: format %v, err %v", src, err)
	}
	n := 0
	for row, err := range src.Rows() {
		if err != nil || row.VideoPrompt == "" || row.Template != "" {
			t.Errorf("manifest row %+v, %v", row, err)
		}
		n++
	}
	if n != 3 {
		t.Errorf("%d manifest rows, want 3", n)
	}

	src, err = manifest.Open(strings.NewReader("\ufeff"+classicExport), "products_export.csv", nil, nil)
	if err != nil || src.Format != manifest.FormatShopifyExport {
		t.Fatalf("export: format %v, err %v", src, err)
	}
	var msgs []string
	for _, err := range src.Rows() {
		msgs = append(msgs, err.Error())
	}
	want := []string{
		`products_export.csv:2: a Shopify product export has no video_prompt column: give prompt templates (submit -template FILE; see the README's "Prompt templates") (sku "MUG-BLU-12")`,
		`products_export.csv:3: a Shopify product export has no video_prompt column: give prompt templates (submit -template FILE; see the README's "Prompt templates") (sku "MUG-RED-12")`,
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("export rows without templates (-want +got):\n%s", diff)
	}
	if src.Skipped() != 2 {
		t.Errorf("Skipped() = %d, want 2", src.Skipped())
	}

	src, err = manifest.Open(strings.NewReader(classicExport), "products_export.csv", tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	var prompts []string
	for row, err := range src.Rows() {
		if err != nil {
			t.Fatal(err)
		}
		if err := row.Validate(); err != nil {
			t.Errorf("rendered row does not validate: %v", err)
		}
		prompts = append(prompts, row.VideoPrompt)
	}
	if want := []string{"Ceramic Mug by Acme, slow push", "Ceramic Mug by Acme, slow push"}; !cmp.Equal(prompts, want) {
		t.Errorf("prompts %q; want %q", prompts, want)
	}
}

func TestDetectFormat(t *testing.T) {
	for _, tt := range []struct {
		header []string
		want   manifest.Format
	}{
		{[]string{"Handle", "Title", "Variant SKU"}, manifest.FormatShopifyExport},
		{[]string{"\ufeffHandle", "Title"}, manifest.FormatShopifyExport},
		{[]string{"Title", " URL handle ", "SKU"}, manifest.FormatShopifyExport},
		{[]string{"sku", "image_url", "video_prompt"}, manifest.FormatManifest},
		// A manifest with an extra handle column is still a manifest.
		{[]string{"sku", "image_url", "video_prompt", "handle"}, manifest.FormatManifest},
		{nil, manifest.FormatManifest},
	} {
		if got := manifest.DetectFormat(tt.header); got != tt.want {
			t.Errorf("DetectFormat(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

// FuzzShopifyExport feeds arbitrary bytes to the export reader, as is and
// through Open with templates. Whatever the input, it must not panic or
// loop, must report header problems as *Error and row problems as
// *RowError in line order, and must yield only rows with a SKU, an http(s)
// image and their product, each on a line of its own.
func FuzzShopifyExport(f *testing.F) {
	f.Add([]byte(classicExport))
	f.Add([]byte(currentExport))
	f.Add([]byte("Handle,Variant SKU,Image Src,Image Position,Variant Image\na,A1,https://x.example/1.jpg,2,\nb,B1,,,\na,A2,https://x.example/2.jpg,1,http://x.example/v.jpg\n\"x\n"))
	f.Add([]byte("Handle,Variant SKU,Image Src,Option1 Value\n,,,\nh,,https://x.example/1.jpg,Red\nh,S\xff,https://x.example/1.jpg,Blue\n"))
	tmpl, err := manifest.ParseTemplates("f.tmpl", `{{define "default"}}{{.SKU}} {{if .Has "Title"}}{{.Title}}{{end}}{{range $k, $v := .Options}} {{$k}}={{$v}}{{end}}{{end}}`)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		skips := 0
		x, err := manifest.NewShopifyExportReader(strings.NewReader(string(data)), "fuzz.csv", func(manifest.SkippedRow) { skips++ })
		if err != nil {
			var me *manifest.Error
			if !errors.As(err, &me) || x != nil {
				t.Fatalf("NewShopifyExportReader: %v (%T); want only a *Error", err, err)
			}
			return
		}
		lines := strings.Count(string(data), "\n") + 1
		last, n := 0, 0
		for row, err := range x.Rows() {
			if err != nil {
				var re *manifest.RowError
				if !errors.As(err, &re) {
					t.Fatalf("row error %v (%T) is not a *RowError", err, err)
				}
				if re.Line < last || re.Line < 1 {
					t.Fatalf("error on line %d after line %d: %v", re.Line, last, err)
				}
				last = re.Line
				continue
			}
			n++
			if row.Line <= last && n > 1 || row.Line < 2 {
				t.Fatalf("row on line %d after line %d", row.Line, last)
			}
			last = row.Line
			row.VideoPrompt = "p"
			if err := row.Validate(); err != nil || row.Product == nil || row.Product.Handle == "" || row.File != "fuzz.csv" {
				t.Fatalf("yielded row %+v: %v", row, err)
			}
		}
		if n+skips > lines {
			t.Fatalf("%d rows and %d skips from %d lines", n, skips, lines)
		}
		if x.Skipped() != skips {
			t.Fatalf("Skipped() = %d, reported %d", x.Skipped(), skips)
		}

		src, err := manifest.Open(strings.NewReader(string(data)), "fuzz.csv", tmpl, nil)
		if err != nil {
			return
		}
		for row, err := range src.Rows() {
			if err == nil {
				if err := row.Validate(); err != nil {
					t.Fatalf("rendered row does not validate: %v", err)
				}
			}
		}
	})
}

func TestShopifyExportAddedColumns(t *testing.T) {
	// Columns a merchant adds to the export route its rows.
	rows, errs, _ := readExport(t, "p.csv", "Handle,Title,Variant SKU,Image Src,collection,target_surface\n"+
		"a,A,A-1,https://x.example/a.jpg,spring-drop,meta-ads\na,,A-2,,,\n")
	if len(errs) > 0 || len(rows) != 2 {
		t.Fatalf("rows %v, errors %v", rows, errs)
	}
	for _, r := range rows {
		if r.Collection != "spring-drop" || r.TargetSurface != "meta-ads" {
			t.Errorf("%s: collection %q, target %q; want the product's spring-drop and meta-ads", r.SKU, r.Collection, r.TargetSurface)
		}
	}
}
