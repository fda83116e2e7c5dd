package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode"
)

// DefaultTemplate is the name of the template for rows whose collection and
// product type have none of their own.
const DefaultTemplate = "default"

// maxTemplateFile bounds what ParseTemplates reads: a template file holds a
// few prompts, not a catalog.
const maxTemplateFile = 1 << 20

// Templates are prompt templates: a text/template file whose
// {{define "NAME"}}…{{end}} blocks are the templates. NAME is a collection,
// a product type, or "default" for the other rows; a row's collection is
// tried first, then its product type (the "type" or "product_type" column).
//
// A template's data are the row's columns, each named by its header in
// CamelCase with SKU, URL and ID in capitals: {{.SKU}}, {{.ImageURL}},
// {{.Collection}}, {{.Title}} for a "title" column, {{.ProductType}} for
// "product type", and any other column the manifest has. A name that is no
// column, or a column empty on the row, is an error naming the row.
//
// Each template has a version, a hash of its parsed text, which is part of
// the row key: editing a template makes new renders of its rows, and
// rerunning with it unchanged does not.
type Templates struct {
	file     string
	set      *template.Template
	versions map[string]string // template name → version
}

// ParseTemplates reads a template file. name identifies it in errors,
// usually its path. The file must be UTF-8, define at least one template,
// and hold nothing but space and comments outside its define blocks.
func ParseTemplates(r io.Reader, name string) (*Templates, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxTemplateFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > maxTemplateFile {
		return nil, fmt.Errorf("%s: longer than %d bytes; a template file holds a few prompts", name, maxTemplateFile)
	}
	text := string(data)
	if at, err := checkText(text); err != nil {
		line := strings.Count(text[:at], "\n") + 1
		return nil, fmt.Errorf("%s:%d: %v", name, line, describe(text, at, err, false))
	}
	set, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err // "template: NAME:LINE: problem"
	}
	if set.Tree != nil {
		for _, n := range set.Tree.Root.Nodes {
			t, ok := n.(*parse.TextNode)
			if ok && strings.TrimSpace(string(t.Text)) == "" {
				continue
			}
			at, stray := int(n.Position()), n.String()
			if ok {
				stray = strings.TrimLeft(string(t.Text), " \t\r\n")
				at += len(t.Text) - len(stray)
			}
			line := strings.Count(text[:min(at, len(text))], "\n") + 1
			return nil, fmt.Errorf("%s:%d: %q is outside every {{define \"NAME\"}} block; put each template in one", name, line, abbreviate(strings.TrimSpace(stray)))
		}
	}
	t := &Templates{file: name, set: set, versions: map[string]string{}}
	for _, tt := range set.Templates() {
		if tt.Name() == name {
			continue
		}
		body := ""
		if tt.Tree != nil {
			body = tt.Tree.Root.String()
		}
		sum := sha256.Sum256([]byte(body))
		t.versions[tt.Name()] = hex.EncodeToString(sum[:6])
	}
	if len(t.versions) == 0 {
		return nil, fmt.Errorf("%s: defines no template; write {{define \"default\"}}…{{end}}, and one block per collection or product type", name)
	}
	return t, nil
}

func abbreviate(s string) string {
	if r := []rune(s); len(r) > 30 {
		return string(r[:30]) + "…"
	}
	return s
}

// Names returns the names of the templates, sorted.
func (t *Templates) Names() []string {
	var names []string
	for n := range t.versions {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Version returns the version of the named template: 12 hex digits of the
// SHA-256 of its parsed text. ok is false when there is no such template.
func (t *Templates) Version(name string) (version string, ok bool) {
	version, ok = t.versions[name]
	return version, ok
}

// pick returns the name of the template for a row.
func (t *Templates) pick(collection, productType string) (string, error) {
	for _, n := range []string{collection, productType, DefaultTemplate} {
		if _, ok := t.versions[n]; ok && n != "" {
			return n, nil
		}
	}
	return "", fmt.Errorf("has no template: %s defines none for collection %q or product type %q, and no %q", t.file, collection, productType, DefaultTemplate)
}

// render executes the template for a row whose non-empty columns are data,
// keyed by their template names.
func (t *Templates) render(name string, data map[string]string) (string, error) {
	b := &limitWriter{max: maxPrompt}
	if err := t.set.ExecuteTemplate(b, name, data); err != nil {
		if errors.Is(err, errPromptTooLong) {
			return "", fmt.Errorf("template %q of %s renders more than %d bytes", name, t.file, maxPrompt)
		}
		var ee template.ExecError
		if errors.As(err, &ee) && strings.Contains(err.Error(), "map has no entry for key") {
			_, key, _ := strings.Cut(err.Error(), "map has no entry for key ")
			return "", fmt.Errorf("template %q of %s uses .%s, which is no column of the manifest or is empty on this row", name, t.file, strings.Trim(key, `"`))
		}
		return "", fmt.Errorf("template %q of %s: %w", name, t.file, err)
	}
	out := strings.TrimSpace(b.b.String())
	if out == "" {
		return "", fmt.Errorf("template %q of %s renders an empty prompt", name, t.file)
	}
	return out, nil
}

// maxPrompt bounds a rendered prompt, so a template that loops cannot fill
// memory; render APIs take prompts of a few hundred words.
const maxPrompt = 8 << 10

var errPromptTooLong = errors.New("prompt too long")

// limitWriter fails writes beyond max bytes, which stops the template.
type limitWriter struct {
	b   strings.Builder
	max int
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		return 0, errPromptTooLong
	}
	return w.b.Write(p)
}

// templateKey names a column for templates: "image_url" is ImageURL,
// "product type" ProductType, "sku" SKU.
func templateKey(header string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(header, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		switch part {
		case "sku", "url", "id":
			b.WriteString(strings.ToUpper(part))
		default:
			r := []rune(part)
			b.WriteString(strings.ToUpper(string(r[0])) + string(r[1:]))
		}
	}
	return b.String()
}

// WithTemplates renders every row's video_prompt from t (see Templates), so
// the manifest needs no video_prompt column, and a prompt it has is
// replaced. The row records the template's name and version (Row.Template,
// Row.TemplateVersion), which are part of its key.
func WithTemplates(t *Templates) Option {
	return func(c *config) error {
		if t == nil {
			return errors.New("WithTemplates: nil *Templates")
		}
		c.templates = t
		return nil
	}
}
