package shopify

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Khan/genqlient/generate"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// TestGeneratedCodeIsCurrent regenerates the client from genqlient.yaml into
// a temporary directory and compares it with the committed generated.go.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("genqlient loads packages with the go command; skipped in -short")
	}
	cfg, err := generate.ReadAndValidateConfig("genqlient.yaml")
	if err != nil {
		t.Fatalf("reading genqlient.yaml: %v", err)
	}
	// The package name and path were worked out from the real location;
	// only the output goes elsewhere.
	cfg.Generated = filepath.Join(t.TempDir(), "generated.go")
	files, err := generate.Generate(cfg)
	if err != nil {
		t.Fatalf("genqlient: %v", err)
	}
	for name, content := range files {
		if err := os.WriteFile(name, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fresh, err := os.ReadFile(cfg.Generated)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("generated.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, committed) {
		t.Errorf("generated.go is stale (first difference at line %d); run: go generate ./shopify", firstDiffLine(fresh, committed))
	}
}

func firstDiffLine(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

// operationsSource returns the operations as one document, the way genqlient
// reads them (the fragment in one file is used by operations in another).
func operationsSource(t *testing.T) *ast.Source {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("operations", "*.graphql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no operations found: %v", err)
	}
	var b strings.Builder
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(src)
		b.WriteString("\n")
	}
	return &ast.Source{Name: "operations", Input: b.String()}
}

func validateOperations(t *testing.T, schema *ast.Schema) *ast.QueryDocument {
	t.Helper()
	doc, err := parser.ParseQuery(operationsSource(t))
	if err != nil {
		t.Fatalf("parsing operations: %v", err)
	}
	for _, e := range validator.ValidateWithRules(schema, doc, nil) {
		t.Errorf("%v", e)
	}
	return doc
}

func TestOperationsValidateAgainstProjectSchema(t *testing.T) {
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: Schema})
	if err != nil {
		t.Fatalf("schema.graphql: %v", err)
	}
	doc := validateOperations(t, schema)
	if len(doc.Operations) != 20 {
		t.Errorf("found %d operations, want 20", len(doc.Operations))
	}
	for _, op := range doc.Operations {
		if schema.Types[op.Name] != nil || schema.Types[strings.ToUpper(op.Name[:1])+op.Name[1:]] != nil {
			t.Errorf("operation %s is named like a schema type; the generated Go names would clash", op.Name)
		}
	}
}

// TestOperationsValidateAgainstShopifySchema checks the operations against
// Shopify's published 2025-01 schema, which lives beside the repository in
// CI (…/shared/shopify/admin-2025-01.graphql), and refuses deprecated
// fields.
func TestOperationsValidateAgainstShopifySchema(t *testing.T) {
	path := findShared(t, filepath.Join("shared", "shopify", "admin-2025-01.graphql"))
	if path == "" {
		t.Skip("shared/shopify/admin-2025-01.graphql not found in any parent directory; only the project schema was checked")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: path, Input: string(src)})
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	doc := validateOperations(t, schema)
	for _, op := range doc.Operations {
		walkFields(op.SelectionSet, doc, func(f *ast.Field) {
			if f.Definition != nil && f.Definition.Directives.ForName("deprecated") != nil {
				t.Errorf("operation %s uses deprecated field %s.%s", op.Name, f.ObjectDefinition.Name, f.Name)
			}
		})
	}
}

// TestProjectSchemaIsASubset checks that every type, field and argument of
// the project schema exists with the same type in Shopify's schema.
func TestProjectSchemaIsASubset(t *testing.T) {
	path := findShared(t, filepath.Join("shared", "shopify", "admin-2025-01.graphql"))
	if path == "" {
		t.Skip("shared/shopify/admin-2025-01.graphql not found in any parent directory")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	full, err := gqlparser.LoadSchema(&ast.Source{Name: path, Input: string(src)})
	if err != nil {
		t.Fatal(err)
	}
	ours, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: Schema})
	if err != nil {
		t.Fatal(err)
	}
	for name, def := range ours.Types {
		if def.BuiltIn {
			continue
		}
		theirs := full.Types[name]
		if theirs == nil || theirs.Kind != def.Kind {
			t.Errorf("%s %s is not a %s in Shopify's schema", def.Kind, name, def.Kind)
			continue
		}
		for _, ev := range def.EnumValues {
			if theirs.EnumValues.ForName(ev.Name) == nil {
				t.Errorf("enum value %s.%s is not in Shopify's schema", name, ev.Name)
			}
		}
		for _, f := range def.Fields {
			tf := theirs.Fields.ForName(f.Name)
			if tf == nil || tf.Type.String() != f.Type.String() {
				t.Errorf("field %s.%s: %s is not in Shopify's schema", name, f.Name, f.Type)
				continue
			}
			for _, a := range f.Arguments {
				if ta := tf.Arguments.ForName(a.Name); ta == nil || ta.Type.String() != a.Type.String() {
					t.Errorf("argument %s.%s(%s: %s) is not in Shopify's schema", name, f.Name, a.Name, a.Type)
				}
			}
		}
	}
}

func walkFields(set ast.SelectionSet, doc *ast.QueryDocument, visit func(*ast.Field)) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			visit(s)
			walkFields(s.SelectionSet, doc, visit)
		case *ast.InlineFragment:
			walkFields(s.SelectionSet, doc, visit)
		case *ast.FragmentSpread:
			if def := doc.Fragments.ForName(s.Name); def != nil {
				walkFields(def.SelectionSet, doc, visit)
			}
		}
	}
}

// findShared looks for rel in the working directory's ancestors, so that the
// test finds shared/ beside a clone wherever the clone is.
func findShared(t *testing.T, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
