package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
)

// export is a Shopify product export: two variants of a mug with SKUs, one
// without, and a product with no image.
const export = `Handle,Title,Vendor,Type,Option1 Name,Option1 Value,Variant SKU,Image Src,Image Position,Variant Image
mug,Ceramic Mug,Acme,Mugs,Color,Blue,MUG-BLU,https://cdn.example.com/mug.jpg,1,
mug,,,,,Red,MUG-RED,,,https://cdn.example.com/mug-red.jpg
mug,,,,,Green,,,,
tote,Tote,Acme,Bags,Title,Default Title,TOTE-1,,,
`

func writeTemplates(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "prompts.tmpl")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckManifestShopifyExport(t *testing.T) {
	tmpl, err := LoadTemplates(writeTemplates(t, `{{define "Mugs"}}{{.Title}} by {{.Vendor}} in {{.Options.Color}}, steam rising{{end}}`))
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	var prompts []string
	n, err := CheckManifest(strings.NewReader(export), "products_export.csv", manifest.Defaults{}, tmpl, &stderr, func(r manifest.Row) {
		prompts = append(prompts, r.SKU+": "+r.VideoPrompt+" ("+r.Template+")")
	})
	if err != nil || n != 2 {
		t.Fatalf("CheckManifest = %d, %v; want 2 rows\nstderr:\n%s", n, err, stderr.String())
	}
	want := []string{"MUG-BLU: Ceramic Mug by Acme in Blue, steam rising (Mugs)", "MUG-RED: Ceramic Mug by Acme in Red, steam rising (Mugs)"}
	if strings.Join(prompts, "\n") != strings.Join(want, "\n") {
		t.Errorf("prompts:\n%s\nwant:\n%s", strings.Join(prompts, "\n"), strings.Join(want, "\n"))
	}
	for _, line := range []string{
		`products_export.csv:4: skipped product "mug" variant "Green": it has no Variant SKU`,
		`products_export.csv:5: skipped product "tote" variant "Default Title": neither the variant nor its product has an image`,
		`products_export.csv: 2 variants skipped for no SKU or no image (listed above); they are not errors`,
	} {
		if !strings.Contains(stderr.String(), line) {
			t.Errorf("stderr lacks %q:\n%s", line, stderr.String())
		}
	}
}

func TestCheckManifestShopifyExportErrors(t *testing.T) {
	for _, tt := range []struct {
		name, templates, err string
		stderr               []string
	}{
		{
			name: "no templates", err: "products_export.csv: 2 invalid rows; nothing was submitted",
			stderr: []string{
				`products_export.csv:2: a Shopify product export has no video_prompt column: give prompt templates (submit -template FILE; see the README's "Prompt templates") (sku "MUG-BLU")`,
				`products_export.csv:3: a Shopify product export has no video_prompt column`,
			},
		},
		{
			name: "a value missing", templates: `{{define "default"}}{{.Title}} in {{.Column "material"}}{{end}}`,
			err: "2 invalid rows",
			stderr: []string{
				`products_export.csv:2: prompt template: prompts.tmpl:1:37: executing "default" at <.Column>: error calling Column: the file has no column "material"; add it, or use {{if .Has "material"}}…{{end}} around the text (sku "MUG-BLU")`,
			},
		},
		{
			name: "no template for the type", templates: `{{define "Bags"}}{{.Title}}{{end}}`,
			err:    "2 invalid rows",
			stderr: []string{`products_export.csv:3: no prompt template serves this row (collection "", product type "Mugs") and `},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var tmpl *manifest.Templates
			if tt.templates != "" {
				path := writeTemplates(t, tt.templates)
				var err error
				if tmpl, err = manifest.ParseTemplates("prompts.tmpl", tt.templates); err != nil {
					t.Fatalf("%s: %v", path, err)
				}
			}
			var stderr strings.Builder
			_, err := CheckManifest(strings.NewReader(export), "products_export.csv", manifest.Defaults{}, tmpl, &stderr, nil)
			var usage *UsageError
			if !errors.As(err, &usage) || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v; want a *UsageError containing %q", err, tt.err)
			}
			for _, line := range tt.stderr {
				if !strings.Contains(stderr.String(), line) {
					t.Errorf("stderr lacks %q:\n%s", line, stderr.String())
				}
			}
		})
	}
}

func TestLoadTemplates(t *testing.T) {
	if tmpl, err := LoadTemplates(""); tmpl != nil || err != nil {
		t.Errorf(`LoadTemplates("") = %v, %v; want nothing`, tmpl, err)
	}
	for _, tt := range []struct{ name, path, want string }{
		{"missing file", filepath.Join(t.TempDir(), "absent.tmpl"), "-template: open "},
		{"unknown variable", writeTemplates(t, "{{define \"default\"}}\n{{.Colour}}{{end}}"), "prompts.tmpl:2:3: template \"default\" uses .Colour, which is not a variable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadTemplates(tt.path)
			var usage *UsageError
			if !errors.As(err, &usage) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v; want a *UsageError containing %q", err, tt.want)
			}
		})
	}
}

func TestPrintPrompt(t *testing.T) {
	var b strings.Builder
	PrintPrompt(&b, manifest.Row{File: "p.csv", Line: 2, SKU: "A", VideoPrompt: "slow push", Template: "Mugs", TemplateVersion: "0123456789ab"})
	PrintPrompt(&b, manifest.Row{File: "p.csv", Line: 3, SKU: "B", VideoPrompt: "own"})
	want := "p.csv:2: sku \"A\", template \"Mugs\" version 0123456789ab:\n    slow push\np.csv:3: sku \"B\", from the manifest:\n    own\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
