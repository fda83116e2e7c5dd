package examples_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
	"github.com/creativeai-run/catalogvideo/examples/internal/cli"
)

// shopifyExport is a products_export.csv as Shopify writes it: product
// fields only on a product's first row, an image-only row, a variant with
// no SKU.
const shopifyExport = `Handle,Title,Body (HTML),Vendor,Product Category,Type,Tags,Published,Option1 Name,Option1 Value,Variant SKU,Variant Price,Image Src,Image Position,Variant Image,Status
ceramic-mug,Ceramic Mug,<p>Stoneware.</p>,Acme,Home & Garden,Mugs,kitchen,TRUE,Color,Blue,MUG-BLU,18.00,https://cdn.example.com/mug.jpg,1,,active
ceramic-mug,,,,,,,,,Red,MUG-RED,18.00,,,https://cdn.example.com/mug-red.jpg,
ceramic-mug,,,,,,,,,Green,,18.00,,,,
ceramic-mug,,,,,,,,,,,,https://cdn.example.com/mug-top.jpg,2,,
canvas-tote,Canvas Tote,,Acme,,Bags,,TRUE,Title,Default Title,TOTE-1,25.00,https://cdn.example.com/tote.jpg,1,,active
`

const promptTemplates = `{{define "Mugs"}}{{.Title}} by {{.Vendor}} in {{.Options.Color}}, steam rising, slow push{{end}}
{{define "default"}}5-second hero shot of the {{.Title}}, clean white sweep{{end}}
`

// TestSubmitShopifyExportWithTemplates runs submit on a Shopify export with
// prompt templates: a dry run prints the prompts, the run renders one job
// per variant with a SKU, recording the template and its version; a rerun
// renders nothing, and editing one template renders again only the rows it
// serves.
func TestSubmitShopifyExportWithTemplates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sim := creativeaitest.NewServer()
	defer sim.Close()
	env := cleanEnv("CREATIVEAI_API_KEY="+sim.APIKey, "CREATIVEAI_BASE_URL="+sim.URL)
	csvPath, tmplPath, jobsPath := filepath.Join(dir, "products_export.csv"), filepath.Join(dir, "prompts.tmpl"), filepath.Join(dir, "video-jobs.jsonl")
	write := func(path, text string) {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(csvPath, shopifyExport)
	write(tmplPath, promptTemplates)

	// Without -template each row says how to give it a prompt.
	res := runProgram(t, dir, env, "submit", "-csv", csvPath, "-dry-run")
	if res.code != 2 || !strings.Contains(res.stderr, `products_export.csv:2: a Shopify product export has no video_prompt column: give prompt templates (submit -template FILE`) {
		t.Fatalf("without -template: exit %d\nstderr:\n%s", res.code, res.stderr)
	}

	res = runProgram(t, dir, env, "submit", "-csv", csvPath, "-template", tmplPath, "-dry-run")
	if res.code != 0 {
		t.Fatalf("dry run: exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{
		"Ceramic Mug by Acme in Blue, steam rising, slow push",
		"Ceramic Mug by Acme in Red, steam rising, slow push",
		"5-second hero shot of the Canvas Tote, clean white sweep",
		`sku "TOTE-1", template "default" version `,
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("dry run stdout lacks %q:\n%s", want, res.stdout)
		}
	}
	if !strings.Contains(res.stderr, `products_export.csv:4: skipped product "ceramic-mug" variant "Green": it has no Variant SKU`) {
		t.Errorf("dry run stderr lacks the skipped variant:\n%s", res.stderr)
	}
	if n := len(sim.Generations()); n != 0 {
		t.Fatalf("the dry run made %d generations", n)
	}

	submit := func() {
		t.Helper()
		res := runProgram(t, dir, env, "submit", "-csv", csvPath, "-template", tmplPath, "-jobs", jobsPath, "-webhook-url=")
		if res.code != 0 || !strings.Contains(res.stdout, "Submitted 3/3 jobs") {
			t.Fatalf("submit: exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
		}
	}
	prompts := func() []string {
		var out []string
		for _, g := range sim.Generations() {
			out = append(out, g.Prompt)
		}
		return out
	}
	submit()
	if got := prompts(); len(got) != 3 || !slices.Contains(got, "Ceramic Mug by Acme in Red, steam rising, slow push") {
		t.Fatalf("prompts sent: %q", got)
	}
	first := readJobs(t, jobsPath)
	for sku, want := range map[string]string{"MUG-BLU": "Mugs", "MUG-RED": "Mugs", "TOTE-1": "default"} {
		j, ok := first[sku]
		if !ok || j.Template != want || len(j.TemplateVersion) != 12 || !strings.Contains(j.Key, "#") {
			t.Errorf("job of %s: template %q version %q key %q; want template %q and a 12-digit version", sku, j.Template, j.TemplateVersion, j.Key, want)
		}
		if j.TargetSurface != "shopify-pdp" || j.ImageURL == "" {
			t.Errorf("job of %s: target %q image %q", sku, j.TargetSurface, j.ImageURL)
		}
	}

	// Rerunning with the same templates renders nothing new.
	submit()
	if n := len(sim.Generations()); n != 3 {
		t.Fatalf("a rerun with the same templates made %d generations, want still 3", n)
	}

	// Editing the default template makes new versions of its rows only,
	// even where the prompt would read the same.
	write(tmplPath, strings.Replace(promptTemplates, "clean white sweep{{end}}", "clean white sweep{{/* reviewed */}}{{if false}}x{{end}}{{end}}", 1))
	submit()
	if n := len(sim.Generations()); n != 4 {
		t.Fatalf("after editing the default template: %d generations, want 4", n)
	}
	second := readJobs(t, jobsPath)
	if second["TOTE-1"].TemplateVersion == first["TOTE-1"].TemplateVersion {
		t.Error("TOTE-1 kept its template version after the default template changed")
	}
	if second["MUG-RED"].Key != first["MUG-RED"].Key {
		t.Error("MUG-RED got a new key though its template did not change")
	}
}

// readJobs returns the newest job of each SKU in a job store.
func readJobs(t *testing.T, spec string) map[string]jobs.Job {
	t.Helper()
	store, _, err := cli.OpenStore(t.Context(), spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	out := map[string]jobs.Job{}
	for j, err := range store.List(t.Context(), jobs.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if old, ok := out[j.SKU]; !ok || !j.CreatedAt.Before(old.CreatedAt) {
			out[j.SKU] = j
		}
	}
	return out
}

// TestCatalogShopifyExportWithTemplates runs the main job offline on a
// Shopify export: every variant with a SKU is rendered and published, and a
// template with an unknown variable stops it before anything is sent.
func TestCatalogShopifyExportWithTemplates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	csvPath, tmplPath := filepath.Join(dir, "products_export.csv"), filepath.Join(dir, "prompts.tmpl")
	if err := os.WriteFile(csvPath, []byte(shopifyExport), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmplPath, []byte("{{define \"default\"}}\n{{.Title}} by {{.Brand}}{{end}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runProgram(t, dir, cleanEnv(), "catalog", "-csv", csvPath, "-template", tmplPath)
	if res.code != 2 || !strings.Contains(res.stderr, `prompts.tmpl:2:17: template "default" uses .Brand, which is not a variable`) {
		t.Fatalf("bad template: exit %d\nstderr:\n%s", res.code, res.stderr)
	}
	if err := os.WriteFile(tmplPath, []byte(promptTemplates), 0o644); err != nil {
		t.Fatal(err)
	}
	res = runProgram(t, dir, cleanEnv(), "catalog", "-csv", csvPath, "-template", tmplPath)
	if res.code != 0 {
		t.Fatalf("catalog exited %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{"MUG-BLU", "MUG-RED", "TOTE-1", "total    3      0       $1.50", "Fake Shopify: 3 videos uploaded and attached"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output does not mention %q:\n%s", want, res.stdout)
		}
	}
}
