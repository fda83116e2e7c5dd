package manifest_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
)

const templateFile = `{{/* Prompts for the spring catalog. */}}
{{define "default"}}5-second product hero shot of the {{.Title}}, slow camera push, clean white sweep{{end}}
{{define "spring-drop"}}5-second reveal of the {{.Title}} by {{.Vendor}}, gentle rotation, soft daylight{{end}}
{{define "Shoes"}}5-second {{.Title}} on a plinth, dynamic shadow{{end}}
`

func parseTemplates(t *testing.T, text string) *manifest.Templates {
	t.Helper()
	tpl, err := manifest.ParseTemplates(strings.NewReader(text), "prompts.tmpl")
	if err != nil {
		t.Fatalf("ParseTemplates: %v", err)
	}
	return tpl
}

func TestTemplatesPickAndRender(t *testing.T) {
	tpl := parseTemplates(t, templateFile)
	if diff := cmp.Diff([]string{"Shoes", "default", "spring-drop"}, tpl.Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
	csv := "sku,image_url,title,vendor,collection,product type,video_prompt\n" +
		"A,https://x.example/a.jpg,Mug,Acme,,,its own prompt\n" + // default: -template replaces the row's prompt
		"B,https://x.example/b.jpg,Runner,Fleet,spring-drop,Shoes,\n" + // the collection wins
		"C,https://x.example/c.jpg,Trail shoe,,,Shoes,\n" + // then the product type
		"D,https://x.example/d.jpg,Bag,,spring-drop,,\n" // no vendor: an error
	rows, errs, _, _ := read(t, strings.NewReader(csv), manifest.WithTemplates(tpl))
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s %s: %s", r.SKU, r.Template, r.VideoPrompt))
		if v, _ := tpl.Version(r.Template); r.TemplateVersion != v || len(v) != 12 {
			t.Errorf("row %s: version %q, want %q (12 hex digits)", r.SKU, r.TemplateVersion, v)
		}
	}
	want := []string{
		"A default: 5-second product hero shot of the Mug, slow camera push, clean white sweep",
		"B spring-drop: 5-second reveal of the Runner by Fleet, gentle rotation, soft daylight",
		"C Shoes: 5-second Trail shoe on a plinth, dynamic shadow",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	wantErrs := []string{`sheet.csv:5: video_prompt template "spring-drop" of prompts.tmpl uses .Vendor, which is no column of the manifest or is empty on this row (sku "D")`}
	if diff := cmp.Diff(wantErrs, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestTemplatesNoVideoPromptColumn(t *testing.T) {
	tpl := parseTemplates(t, `{{define "default"}}spin the {{.SKU}} from {{.ImageURL}}{{end}}`)
	rows, errs, _, _ := read(t, strings.NewReader("sku,image_url\nA,https://x.example/a.jpg\n"), manifest.WithTemplates(tpl))
	if len(errs) > 0 || len(rows) != 1 || rows[0].VideoPrompt != "spin the A from https://x.example/a.jpg" {
		t.Errorf("rows %+v, errors %q", rows, errs)
	}
	// Without templates the column is required.
	if got := headerError(t, strings.NewReader("sku,image_url\nA,https://x.example/a.jpg\n")); !strings.Contains(got, "missing required column video_prompt") {
		t.Errorf("error %q", got)
	}
}

func TestTemplatesNoMatch(t *testing.T) {
	tpl := parseTemplates(t, `{{define "Shoes"}}x{{end}}`)
	_, errs, _, _ := read(t, strings.NewReader("sku,image_url,collection\nA,https://x.example/a.jpg,bags\n"), manifest.WithTemplates(tpl))
	want := []string{`sheet.csv:2: video_prompt has no template: prompts.tmpl defines none for collection "bags" or product type "", and no "default" (sku "A")`}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestTemplateVersionInRowKey(t *testing.T) {
	csv := "sku,image_url,title\nA,https://x.example/a.jpg,Mug\n"
	keyWith := func(text string) string {
		rows, errs, _, _ := read(t, strings.NewReader(csv), manifest.WithTemplates(parseTemplates(t, text)))
		if len(rows) != 1 {
			t.Fatalf("rows %+v, errors %q", rows, errs)
		}
		return manifest.RowKey(rows[0], manifest.Defaults{})
	}
	base := keyWith(`{{define "default"}}hero shot of the {{.Title}}{{end}}`)
	if k := keyWith(`{{/* a comment */}}{{define "default"}}hero shot of the {{.Title}}{{end}}`); k != base {
		t.Errorf("an unchanged template changed the key: %q != %q", k, base)
	}
	if k := keyWith(`{{define "default"}}hero shot of the {{.Title}}{{end}}{{define "other"}}x{{end}}`); k != base {
		t.Errorf("another template changed the key: %q != %q", k, base)
	}
	// Same rendered text, edited template: a new version, a new key.
	if k := keyWith(`{{define "default"}}hero shot of the {{.Title | printf "%s"}}{{end}}`); k == base {
		t.Errorf("an edited template kept the key %q", k)
	}
	// A row whose prompt is its own keeps its key from before templates.
	own := manifest.Row{SKU: "A", ImageURL: "https://x.example/a.jpg", VideoPrompt: "hero shot of the Mug"}
	if k := manifest.RowKey(own, manifest.Defaults{}); k == base {
		t.Errorf("a row's own prompt and a template's give the same key %q", k)
	}
}

func TestTemplateTooLong(t *testing.T) {
	tpl := parseTemplates(t, `{{define "default"}}{{range 100000000}}spin {{end}}{{end}}`)
	_, errs, _, _ := read(t, strings.NewReader("sku,image_url\nA,https://x.example/a.jpg\n"), manifest.WithTemplates(tpl))
	if len(errs) != 1 || !strings.Contains(errs[0], `template "default" of prompts.tmpl renders more than 8192 bytes`) {
		t.Errorf("errors %q", errs)
	}
}

func TestParseTemplatesErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"no define", "just a prompt {{.Title}}", `prompts.tmpl:1: "just a prompt" is outside every {{define "NAME"}} block`},
		{"nothing", "  \n", `prompts.tmpl: defines no template`},
		{"syntax", `{{define "default"}}{{.Title}{{end}}`, `template: prompts.tmpl:1: bad character U+007D '}'`},
		{"not UTF-8", "{{define \"default\"}}caf\xe9{{end}}", `prompts.tmpl:1: has byte 0xE9, which is not UTF-8`},
		{"text after", "{{define \"default\"}}x{{end}}\n\nstray", `prompts.tmpl:3: "stray" is outside every`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := manifest.ParseTemplates(strings.NewReader(tt.text), "prompts.tmpl")
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %v, want prefix %q", err, tt.want)
			}
		})
	}
}

// FuzzTemplates feeds arbitrary text to ParseTemplates and renders what
// parses for a fixed manifest: nothing may panic, every template has a
// 12-digit version, and a yielded row's prompt is clean UTF-8 from a named
// template.
func FuzzTemplates(f *testing.F) {
	f.Add(templateFile)
	f.Add(`{{define "default"}}{{.Title}}{{else}}{{end}}`)
	f.Add(`{{define "default"}}{{range .}}{{.}}{{end}}{{template "x" .}}{{end}}{{define "x"}}{{.SKU}}{{end}}`)
	f.Add("{{define \"a\"}}\x00{{end}}")
	f.Fuzz(func(t *testing.T, text string) {
		tpl, err := manifest.ParseTemplates(strings.NewReader(text), "fuzz.tmpl")
		if err != nil {
			return
		}
		for _, n := range tpl.Names() {
			if v, ok := tpl.Version(n); !ok || len(v) != 12 {
				t.Fatalf("template %q has version %q", n, v)
			}
		}
		m, err := manifest.NewReader(strings.NewReader("sku,image_url,title,collection\nA,https://x.example/a.jpg,Mug,a\n"), "m.csv", manifest.WithTemplates(tpl))
		if err != nil {
			t.Fatal(err)
		}
		for row, err := range m.Rows() {
			if err != nil {
				continue
			}
			if _, ok := tpl.Version(row.Template); !ok || row.VideoPrompt == "" || !utf8.ValidString(row.VideoPrompt) || strings.ContainsRune(row.VideoPrompt, utf8.RuneError) {
				t.Fatalf("row %+v", row)
			}
		}
	})
}
