package manifest_test

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
)

// generated writes n products of 3 variants (a Color option, a variant
// image on one) and an image-only row each, as a Shopify export, or the
// same 3n rows as a manifest.
func generated(n int, export bool) string {
	var b strings.Builder
	if export {
		b.WriteString("Handle,Title,Body (HTML),Vendor,Type,Tags,Option1 Name,Option1 Value,Variant SKU,Variant Price,Image Src,Image Position,Variant Image,Status\n")
	} else {
		b.WriteString("sku,image_url,video_prompt,collection,target_surface\n")
	}
	for i := range n {
		for v, color := range []string{"Blue", "Red", "Green"} {
			sku := fmt.Sprintf("P%06d-%s", i, color)
			if !export {
				fmt.Fprintf(&b, "%s,https://cdn.example.com/p%06d.jpg,\"Product %d by Acme in %s, slow push\",,shopify-pdp\n", sku, i, i, color)
				continue
			}
			if v == 0 {
				fmt.Fprintf(&b, "p%06d,Product %d,<p>Nice.</p>,Acme,Mugs,\"a, b\",Color,%s,%s,18.00,https://cdn.example.com/p%06d.jpg,1,,active\n", i, i, color, sku, i)
			} else {
				fmt.Fprintf(&b, "p%06d,,,,,,,%s,%s,18.00,,,https://cdn.example.com/p%06d-%d.jpg,\n", i, color, sku, i, v)
			}
		}
		if export {
			fmt.Fprintf(&b, "p%06d,,,,,,,,,,https://cdn.example.com/p%06d-side.jpg,2,,\n", i, i)
		}
	}
	return b.String()
}

// BenchmarkReadRows reads the same variants as a manifest (the baseline),
// as a Shopify export, and as an export through templates, at two sizes, to
// show the cost per row and that memory per row does not grow with the
// file.
func BenchmarkReadRows(b *testing.B) {
	tmpl, err := manifest.ParseTemplates("b.tmpl", `{{define "Mugs"}}{{.Title}} by {{.Vendor}} in {{.Options.Color}}, slow push{{end}}`)
	if err != nil {
		b.Fatal(err)
	}
	for _, products := range []int{1_000, 10_000} {
		manifestCSV, exportCSV := generated(products, false), generated(products, true)
		for _, c := range []struct {
			name string
			read func(io.Reader) (int, error)
		}{
			{"manifest", func(r io.Reader) (int, error) {
				m, err := manifest.NewReader(r, "m.csv")
				if err != nil {
					return 0, err
				}
				return count(m.Rows())
			}},
			{"shopify-export", func(r io.Reader) (int, error) {
				x, err := manifest.NewShopifyExportReader(r, "e.csv", nil)
				if err != nil {
					return 0, err
				}
				return count(x.Rows())
			}},
			{"shopify-export+templates", func(r io.Reader) (int, error) {
				s, err := manifest.Open(r, "e.csv", tmpl, nil)
				if err != nil {
					return 0, err
				}
				return count(s.Rows())
			}},
		} {
			in := exportCSV
			if c.name == "manifest" {
				in = manifestCSV
			}
			b.Run(c.name+"/products="+strconv.Itoa(products), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					n, err := c.read(strings.NewReader(in))
					if err != nil || n != 3*products {
						b.Fatalf("%d rows, %v; want %d", n, err, 3*products)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*3*products), "ns/row")
			})
		}
	}
}

func count(rows func(func(manifest.Row, error) bool)) (int, error) {
	n := 0
	for _, err := range rows {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
