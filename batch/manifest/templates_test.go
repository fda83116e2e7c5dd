package manifest_test

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
)

const promptFile = `{{/* Prompts for the spring catalog. */}}
{{define "default"}}5-second hero shot of the {{.Title}}, slow camera push, clean white sweep{{end}}

{{define "Mugs"}}
  {{- .Title}} by {{.Vendor}} in {{.Options.Color}}, steam rising, {{template "light"}}
{{- end}}

{{define "spring-drop"}}{{.Title}}{{if .Has "material"}} in {{.Column "material"}}{{end}}, gentle rotation{{end}}

{{define "light"}}soft morning light{{end}}

{{define "sizes"}}{{.Title}} in size {{index .Options "Shoe size"}}{{end}}
`

func row(collection, typ string, cols map[string]string, opts ...manifest.ProductOption) manifest.Row {
	return manifest.Row{
		SKU: "SKU-1", ImageURL: "https://cdn.example.com/a.jpg", VideoPrompt: "the manifest's own prompt", Collection: collection,
		File: "products.csv", Line: 7,
		Product: &manifest.Product{Title: "Ceramic Mug", Vendor: "Acme", Type: typ, Options: opts, Columns: cols},
	}
}

func TestTemplatesRender(t *testing.T) {
	tmpl, err := manifest.ParseTemplates("prompts.tmpl", promptFile)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tmpl.Names(), []string{"Mugs", "default", "light", "sizes", "spring-drop"}; !cmp.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	for _, tt := range []struct {
		name     string
		row      manifest.Row
		template string
		prompt   string
	}{
		{"collection first", row("spring-drop", "Mugs", map[string]string{"material": "stoneware"}), "spring-drop", "Ceramic Mug in stoneware, gentle rotation"},
		{"optional column absent", row("spring-drop", "", map[string]string{"material": " "}), "spring-drop", "Ceramic Mug, gentle rotation"},
		{"then the product type, ignoring case", row("fall", "mugs", nil, manifest.ProductOption{Name: "Color", Value: "Blue"}), "Mugs", "Ceramic Mug by Acme in Blue, steam rising, soft morning light"},
		{"then default", row("", "Bags", nil), "default", "5-second hero shot of the Ceramic Mug, slow camera push, clean white sweep"},
		{"an option name with a space", row("sizes", "", nil, manifest.ProductOption{Name: "Shoe size", Value: "42"}), "sizes", "Ceramic Mug in size 42"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tmpl.Render(tt.row)
			if err != nil {
				t.Fatal(err)
			}
			if got.Template != tt.template || got.VideoPrompt != tt.prompt || got.TemplateVersion != tmpl.Version(tt.template) {
				t.Errorf("rendered %q with %q@%s; want %q with %q@%s", got.VideoPrompt, got.Template, got.TemplateVersion, tt.prompt, tt.template, tmpl.Version(tt.template))
			}
			if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(got.TemplateVersion) {
				t.Errorf("version %q is not 12 hex digits", got.TemplateVersion)
			}
		})
	}
}

func TestTemplatesRenderErrors(t *testing.T) {
	tmpl, err := manifest.ParseTemplates("prompts.tmpl", promptFile)
	if err != nil {
		t.Fatal(err)
	}
	blankVendor := row("", "Mugs", nil, manifest.ProductOption{Name: "Color", Value: "Blue"})
	blankVendor.Product.Vendor = " "
	noColor := row("", "Mugs", nil, manifest.ProductOption{Name: "Color"})
	for _, tt := range []struct {
		name string
		row  manifest.Row
		want string
	}{
		{"blank variable", blankVendor,
			`products.csv:7: prompt template: prompts.tmpl:5:21: executing "Mugs" at <.Vendor>: error calling Vendor: Vendor is blank for this row; fill it in the source (for a Shopify export, on the product's first row), or guard the text with {{if .Has "Vendor"}}…{{end}} (sku "SKU-1")`},
		{"option with no value", noColor,
			`products.csv:7: prompt template: prompts.tmpl:5:44: executing "Mugs" at <.Options.Color>: map has no entry for key "Color" (sku "SKU-1")`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tmpl.Render(tt.row)
			var re *manifest.RowError
			if !errors.As(err, &re) || re.Line != 7 || re.SKU != "SKU-1" {
				t.Fatalf("error %v (%T); want a *RowError for line 7, sku SKU-1", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
		})
	}

	// .Column without .Has: the column is named, missing or blank.
	strict, err := manifest.ParseTemplates("strict.tmpl", `{{define "default"}}{{.Title}} in {{.Column "Material"}}{{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = strict.Render(row("", "", map[string]string{"size": "M"}))
	if want := `products.csv:7: prompt template: strict.tmpl:1:37: executing "default" at <.Column>: error calling Column: the file has no column "Material"; add it, or use {{if .Has "Material"}}…{{end}} around the text (sku "SKU-1")`; err == nil || err.Error() != want {
		t.Errorf("missing column:\n got %v\nwant %s", err, want)
	}
	_, err = strict.Render(row("", "", map[string]string{"material": ""}))
	if want := `column "Material" is blank for this row`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("blank column: %v; want %q", err, want)
	}

	// No template serves the row.
	noDefault, err := manifest.ParseTemplates("nodefault.tmpl", `{{define "Mugs"}}{{.Title}}{{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = noDefault.Render(row("fall", "Bags", nil))
	if want := `products.csv:7: no prompt template serves this row (collection "fall", product type "Bags") and nodefault.tmpl has no "default" template; add {{define "default"}}…{{end}} or a block for the row's collection or type (sku "SKU-1")`; err == nil || err.Error() != want {
		t.Errorf("no template:\n got %v\nwant %s", err, want)
	}

	// A prompt that renders empty, or with damaged text.
	empty, err := manifest.ParseTemplates("empty.tmpl", `{{define "default"}} {{if .Has "x"}}{{.Column "x"}}{{end}} {{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := empty.Render(row("", "", nil)); err == nil || !strings.Contains(err.Error(), `renders an empty prompt for this row`) {
		t.Errorf("empty prompt: %v", err)
	}
	long, err := manifest.ParseTemplates("long.tmpl", `{{define "default"}}{{range 100000}}a long prompt {{end}}{{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := long.Render(row("", "", nil)); err == nil || !strings.Contains(err.Error(), "the prompt is longer than 16384 bytes") {
		t.Errorf("long prompt: %v", err)
	}
	if _, err := empty.Render(row("", "", map[string]string{"x": "caf\ufffd"})); err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Errorf("damaged text: %v", err)
	}
}

func TestParseTemplatesErrors(t *testing.T) {
	for _, tt := range []struct{ name, text, want string }{
		{"unknown variable", "{{define \"default\"}}\nA {{.Colour}} mug{{end}}",
			`prompts.tmpl:2:5: template "default" uses .Colour, which is not a variable; use one of Collection, Column, Handle, Has, Options, SKU, Title, Type, Vendor, or {{.Column "colour"}} for a manifest column`},
		{"unknown variable through $", "{{define \"default\"}}{{range .Options}}{{$.Price}}{{end}}{{end}}",
			`uses .Price, which is not a variable`},
		{"unknown variable in a condition", "{{define \"default\"}}{{if .Colour}}x{{end}}{{end}}",
			`uses .Colour, which is not a variable`},
		{"text outside blocks", "{{define \"default\"}}x{{end}}\nstray text\n",
			`prompts.tmpl:1:29: text outside the {{define "NAME"}}…{{end}} blocks is not used; move it into a block`},
		{"no blocks", "just a prompt",
			`prompts.tmpl:1:1: text outside the {{define "NAME"}}…{{end}} blocks is not used`},
		{"empty file", "  \n",
			`prompts.tmpl: no templates: write each prompt as {{define "NAME"}}…{{end}}, NAME a collection, a product type, or "default"`},
		{"undefined template", "{{define \"default\"}}{{template \"light\"}}{{end}}",
			`prompts.tmpl:1:32: template "default" calls {{template "light"}}, which is not defined in this file`},
		{"a block that includes itself", "{{define \"default\"}}{{template \"a\"}}{{end}}{{define \"a\"}}x{{template \"b\"}}{{end}}{{define \"b\"}}{{template \"a\"}}{{end}}",
			`prompts.tmpl: template "a" includes itself (a → b → a); a prompt cannot repeat without end`},
		{"syntax", "{{define \"default\"}}{{.Title}{{end}}",
			`prompts.tmpl:1: bad character U+007D '}'`},
		{"not UTF-8", "{{define \"default\"}}caf\xe9{{end}}",
			`prompts.tmpl: the template file is not UTF-8 text; save it as UTF-8`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := manifest.ParseTemplates("prompts.tmpl", tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v; want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestTemplateVersions(t *testing.T) {
	parse := func(text string) *manifest.Templates {
		t.Helper()
		tmpl, err := manifest.ParseTemplates("prompts.tmpl", text)
		if err != nil {
			t.Fatal(err)
		}
		return tmpl
	}
	base := parse(promptFile)
	if again := parse(promptFile); again.Version("Mugs") != base.Version("Mugs") || again.Version("default") != base.Version("default") {
		t.Error("parsing the same text twice gave different versions")
	}
	// A comment and spaces that trim markers remove are not edits.
	same := parse(strings.Replace(promptFile, "{{- .Title}}", "{{- /* warm */ -}}\n\n  {{- .Title}}", 1))
	if same.Version("Mugs") != base.Version("Mugs") {
		t.Error("a comment changed the version of Mugs")
	}
	// Editing a block changes its version and that of the blocks that
	// include it, and no other.
	edited := parse(strings.Replace(promptFile, "soft morning light", "golden hour light", 1))
	for name, changed := range map[string]bool{"light": true, "Mugs": true, "default": false, "spring-drop": false, "sizes": false} {
		if (edited.Version(name) != base.Version(name)) != changed {
			t.Errorf("after editing the block light, version of %q changed: %v, want %v", name, !changed, changed)
		}
	}
	if base.Version("absent") != "" {
		t.Error("a version for a template that is not defined")
	}
}

func TestTemplateVersionInRowKey(t *testing.T) {
	r := manifest.Row{SKU: "SKU-1001", ImageURL: "https://cdn.example.com/catalog/mug-hero.jpg", VideoPrompt: "5-second product hero shot, slow camera push, clean white sweep"}
	// The key of a row with its own prompt is what it was before templates
	// existed (computed by the SDK at commit 220d4b1), so reruns of old
	// manifests still find their jobs.
	if got, want := manifest.RowKey(r, manifest.Defaults{}), "SKU-1001#e9ff8518f144232d"; got != want {
		t.Errorf("RowKey of a manifest row = %s, want %s", got, want)
	}
	v1, v2 := r, r
	v1.Template, v1.TemplateVersion = "default", "0123456789ab"
	v2.Template, v2.TemplateVersion = "default", "ba9876543210"
	k0, k1, k2 := manifest.RowKey(r, manifest.Defaults{}), manifest.RowKey(v1, manifest.Defaults{}), manifest.RowKey(v2, manifest.Defaults{})
	if k0 == k1 || k1 == k2 {
		t.Errorf("keys %s, %s, %s: a template version must make a new key", k0, k1, k2)
	}
	if again := manifest.RowKey(v1, manifest.Defaults{}); again != k1 {
		t.Errorf("the same row and version gave keys %s and %s", k1, again)
	}
	// Product is not a render input.
	v1.Product = &manifest.Product{Title: "x"}
	if manifest.RowKey(v1, manifest.Defaults{}) != k1 {
		t.Error("Product changed the row key")
	}
}

func TestTemplatesApply(t *testing.T) {
	tmpl, err := manifest.ParseTemplates("prompts.tmpl", `{{define "default"}}{{.Title}}, slow push{{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	// A manifest row's own prompt is replaced; errors pass through.
	src, err := manifest.Open(strings.NewReader("sku,image_url,video_prompt,title\nA,https://x.example/a.jpg,own prompt,Mug\nB,nope,p,Bag\n"), "m.csv", tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for row, err := range src.Rows() {
		if err != nil {
			got = append(got, "error: "+err.Error())
			continue
		}
		got = append(got, row.SKU+": "+row.VideoPrompt)
	}
	want := []string{"A: Mug, slow push", `error: m.csv:3: image_url "nope" is not an absolute http(s) URL (sku "B")`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// FuzzTemplates parses arbitrary template files and renders them for rows
// of arbitrary values. It must not panic or hang; a file that parses has
// versions of 12 hex digits that do not change on a second parse; a render
// either fails with a *RowError naming the row or writes a non-empty,
// trimmed, valid UTF-8 prompt, and names the template and version it used.
func FuzzTemplates(f *testing.F) {
	f.Add(promptFile, "Ceramic Mug", "Acme", "Mugs", "Color", "Blue", "material", "stoneware")
	f.Add(`{{define "default"}}{{.Column "x"}}{{end}}`, "", "", "", "", "", "x", "caf\xe9")
	f.Add(`{{define "default"}}{{template "a" .}}{{end}}{{define "a"}}{{.Title}}{{end}}{{define "Mugs"}}{{range .Options}}{{.}}{{end}}{{end}}`, "T", " ", "mugs", "C", "", "", "")
	f.Add(`{{define "default"}}{{index .Options "Color"}} {{.Has "Vendor"}}{{end}}`, "T", "V", "", "Color", "\ufffd", "", "")
	hex := regexp.MustCompile(`^[0-9a-f]{12}$`)
	f.Fuzz(func(t *testing.T, text, title, vendor, typ, optName, optValue, colName, colValue string) {
		tmpl, err := manifest.ParseTemplates("f.tmpl", text)
		if err != nil {
			return
		}
		again, err := manifest.ParseTemplates("f.tmpl", text)
		if err != nil {
			t.Fatalf("second parse: %v", err)
		}
		if len(tmpl.Names()) == 0 {
			t.Fatal("parsed with no templates")
		}
		for _, name := range tmpl.Names() {
			if v := tmpl.Version(name); !hex.MatchString(v) || v != again.Version(name) {
				t.Fatalf("version of %q: %q, then %q", name, v, again.Version(name))
			}
		}
		r := manifest.Row{SKU: "S", ImageURL: "https://x.example/a.jpg", Collection: typ, File: "m.csv", Line: 3,
			Product: &manifest.Product{Title: title, Vendor: vendor, Type: typ,
				Options: []manifest.ProductOption{{Name: optName, Value: optValue}},
				Columns: map[string]string{colName: colValue}}}
		got, err := tmpl.Render(r)
		if err != nil {
			var re *manifest.RowError
			if !errors.As(err, &re) || re.Line != 3 || re.File != "m.csv" || re.SKU != "S" {
				t.Fatalf("render error %v (%T) does not name the row", err, err)
			}
			return
		}
		p := got.VideoPrompt
		if p == "" || p != strings.TrimSpace(p) || !utf8.ValidString(p) || strings.ContainsRune(p, utf8.RuneError) || len(p) > manifest.MaxPromptBytes {
			t.Fatalf("prompt %q", p)
		}
		if got.TemplateVersion != tmpl.Version(got.Template) || got.TemplateVersion == "" {
			t.Fatalf("rendered with %q version %q; the file has %q", got.Template, got.TemplateVersion, tmpl.Version(got.Template))
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("rendered row does not validate: %v", err)
		}
	})
}

// TestREADMETemplates keeps the README's example template file working.
func TestREADMETemplates(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```gotemplate\n")
	text, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no ```gotemplate block")
	}
	tmpl, err := manifest.ParseTemplates("prompts.tmpl", text)
	if err != nil {
		t.Fatalf("the README's templates: %v", err)
	}
	for _, tt := range []struct {
		row  manifest.Row
		want string
	}{
		{row("", "Mugs", nil, manifest.ProductOption{Name: "Color", Value: "Blue"}), "Ceramic Mug by Acme in Blue, steam rising, soft morning light"},
		{row("spring-drop", "Mugs", map[string]string{"material": "stoneware"}), "Ceramic Mug in stoneware, gentle rotation"},
		{row("", "Bags", nil), "5-second hero shot of the Ceramic Mug, clean white sweep"},
	} {
		got, err := tmpl.Render(tt.row)
		if err != nil || got.VideoPrompt != tt.want {
			t.Errorf("README template for %q/%q: %q, %v; want %q", tt.row.Collection, tt.row.Product.Type, got.VideoPrompt, err, tt.want)
		}
	}
}

// TestParseTemplatesByteOrderMark: a template file saved as "UTF-8 with
// BOM" parses as the same file without the mark: the same templates, the
// same versions (so rows keep their keys).
func TestParseTemplatesByteOrderMark(t *testing.T) {
	plain, err := manifest.ParseTemplates("prompts.tmpl", promptFile)
	if err != nil {
		t.Fatal(err)
	}
	bom, err := manifest.ParseTemplates("prompts.tmpl", "\ufeff"+promptFile)
	if err != nil {
		t.Fatalf("with a byte-order mark: %v", err)
	}
	if diff := cmp.Diff(plain.Names(), bom.Names()); diff != "" {
		t.Errorf("names (-plain +bom):\n%s", diff)
	}
	for _, name := range plain.Names() {
		if plain.Version(name) != bom.Version(name) {
			t.Errorf("version of %q: %s without the mark, %s with it", name, plain.Version(name), bom.Version(name))
		}
	}
}
