package batch_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/manifest"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

// trackRecorder is a store that keeps the jobs Run tracks, as Run gave
// them.
type trackRecorder struct {
	jobs.Store
	mu      sync.Mutex
	tracked []jobs.Job
}

func (s *trackRecorder) Track(ctx context.Context, j jobs.Job) (jobs.Job, bool, error) {
	s.mu.Lock()
	s.tracked = append(s.tracked, j)
	s.mu.Unlock()
	return s.Store.Track(ctx, j)
}

// TestRunRecordsTemplates submits rows written by prompt templates: each
// job carries the template's name and version, and a new version of a
// template is a new row while the same version is skipped.
func TestRunRecordsTemplates(t *testing.T) {
	sim := newSim(t, creativeaitest.WithManualRender())
	store := &trackRecorder{Store: memstore.New()}
	const export = "Handle,Title,Type,Variant SKU,Image Src\nmug,Ceramic Mug,Mugs,MUG-1,https://cdn.example.com/mug.jpg\ntote,Tote,Bags,TOTE-1,https://cdn.example.com/tote.jpg\n"
	run := func(templates string) *batch.Summary {
		t.Helper()
		tmpl, err := manifest.ParseTemplates("prompts.tmpl", templates)
		if err != nil {
			t.Fatal(err)
		}
		src, err := manifest.Open(strings.NewReader(export), "products_export.csv", tmpl, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := batch.Run(t.Context(), batch.Config{Client: simClient(t, sim.URL, sim.APIKey), Store: store, Rate: unlimited}, src.Rows())
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	const v1 = `{{define "Mugs"}}{{.Title}}, steam rising{{end}}{{define "default"}}{{.Title}}, slow push{{end}}`
	if sum := run(v1); sum.Submitted != 2 {
		t.Fatalf("first run: %+v", sum.Counts)
	}
	tmpl, _ := manifest.ParseTemplates("prompts.tmpl", v1)
	for _, j := range store.tracked {
		want := map[string]string{"MUG-1": "Mugs", "TOTE-1": "default"}[j.SKU]
		if j.Template != want || j.TemplateVersion != tmpl.Version(want) || j.VideoPrompt == "" {
			t.Errorf("job %s tracked with template %q version %q; want %q version %q", j.SKU, j.Template, j.TemplateVersion, want, tmpl.Version(want))
		}
	}
	if sum := run(v1); sum.Skipped != 2 || sum.Submitted != 0 {
		t.Errorf("rerun with the same templates: %+v; want 2 skipped", sum.Counts)
	}
	// Only the block of Mugs changes, and only in a way the prompt does not
	// show.
	v2 := strings.Replace(v1, "steam rising{{end}}", "steam rising{{if false}}!{{end}}{{end}}", 1)
	sum := run(v2)
	if sum.Submitted != 1 || sum.Skipped != 1 {
		t.Fatalf("after editing the Mugs template: %+v; want 1 submitted, 1 skipped", sum.Counts)
	}
	for _, r := range sum.Rows {
		if r.SKU == "MUG-1" && r.Outcome != batch.OutcomeSubmitted {
			t.Errorf("MUG-1 was %s, want submitted anew", r.Outcome)
		}
	}
}
