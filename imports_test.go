package catalogvideo_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportRules keeps the package map one-way, as doc.go draws it: the
// API client imports nothing of ours, stores import the leaf batch/jobs and
// never an engine, nothing under batch imports webhook or shopify, shopify
// imports neither batch nor creativeai, batch/archive imports only the leaf
// (gocloud.dev only through batch/archive/blobarchive), and no library
// package imports a SQL driver, a cloud SDK or an example program.
func TestImportRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const mod = "github.com/creativeai-run/catalogvideo"
	// One go list: each package of the module with everything it depends on
	// (tests excluded: they may use what the package itself must not).
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allDeps := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		allDeps[strings.TrimPrefix(f[0], mod+"/")] = f[1:]
	}
	type rule struct {
		pkgs      []string // packages the rule is about
		forbidden []string // packages none of them may depend on; a trailing / forbids a whole tree
	}
	stores := []string{"batch/jobs", "batch/memstore", "batch/jsonlstore", "batch/sqlstore"}
	engines := []string{mod + "/batch", mod + "/batch/outbox", mod + "/batch/manifest"}
	heavy := []string{"modernc.org/", "github.com/jackc/", "gocloud.dev/", "cloud.google.com/", "github.com/aws/", "github.com/chromedp/", mod + "/examples/"}
	rules := []rule{
		{[]string{"creativeai"}, []string{mod + "/batch", mod + "/batch/", mod + "/webhook", mod + "/shopify"}},
		{[]string{"webhook"}, []string{mod + "/batch", mod + "/batch/", mod + "/shopify"}},
		{[]string{"shopify"}, []string{mod + "/batch", mod + "/batch/", mod + "/creativeai", mod + "/webhook"}},
		{stores, engines},
		{[]string{"batch/manifest"}, []string{mod + "/batch", mod + "/batch/outbox", mod + "/batch/memstore", mod + "/batch/jsonlstore", mod + "/batch/sqlstore"}},
		{[]string{"batch", "batch/jobs", "batch/manifest", "batch/memstore", "batch/outbox", "batch/jsonlstore", "batch/sqlstore", "batch/console/consolemetrics"}, []string{mod + "/webhook", mod + "/shopify", mod + "/shopify/"}},
		{[]string{"creativeai", "webhook", "webhook/webhookjobs", "shopify/shopifysink", "batch", "batch/jobs", "batch/manifest", "batch/memstore", "batch/outbox", "batch/jsonlstore", "batch/sqlstore", "batch/console", "batch/archive", "batch/archive/archivetest", "shopify"}, heavy},
		// The console is a handler over the store: it uses batch alone, no
		// metrics library (batch/console/consolemetrics adapts it), no UI
		// library and no engine that talks to the outside.
		{[]string{"batch/console"}, []string{mod + "/webhook", mod + "/webhook/", mod + "/shopify", mod + "/shopify/", "github.com/prometheus/"}},
		// The archive step takes its own small Bucket interface; only
		// batch/archive/blobarchive, which programs import, carries
		// gocloud.dev. It depends on nothing of ours but the leaf.
		{[]string{"batch/archive"}, []string{mod + "/batch", mod + "/batch/memstore", mod + "/batch/jsonlstore", mod + "/batch/sqlstore", mod + "/batch/outbox", mod + "/batch/archive/blobarchive", mod + "/creativeai/creativeaitest", mod + "/webhook", mod + "/shopify"}},
	}
	for _, r := range rules {
		for _, pkg := range r.pkgs {
			deps, ok := allDeps[pkg]
			if !ok {
				t.Errorf("package %s is not in the module; update the rule", pkg)
				continue
			}
			for _, d := range deps {
				if slices.ContainsFunc(r.forbidden, func(f string) bool {
					return d == f || strings.HasSuffix(f, "/") && strings.HasPrefix(d, f)
				}) {
					t.Errorf("%s depends on %s, which the package map forbids", pkg, d)
				}
			}
		}
	}
}
