package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode/utf8"
)

// DefaultTemplate is the name of the template that serves rows whose
// collection and product type have no template of their own.
const DefaultTemplate = "default"

// Templates is a set of prompt templates read from one text/template file.
// Each {{define "NAME"}}…{{end}} block of the file is a template: NAME is a
// collection or a product type, and "default" serves the other rows. A row's
// collection is tried first, then its product type (exact names first, then
// ignoring case), then "default".
//
// A template sees a [PromptData] as dot: {{.Title}}, {{.Vendor}},
// {{.Type}}, {{.Collection}}, {{.Handle}}, {{.SKU}}, an option value as
// {{.Options.Color}} (or {{index .Options "Shoe size"}} for a name with a
// space), and any manifest column as {{.Column "material"}}. A value a
// template uses must be there and not blank, or the row is a *RowError
// naming it; {{if .Has "material"}}…{{end}} guards optional ones. An unknown
// variable is an error when the file is parsed.
//
// Each template has a version, the first 12 hex digits of the SHA-256 of
// its text as parsed together with the text of the blocks it includes
// ({{template "NAME"}}), so that editing a block, and only that, makes new
// versions of the rows it serves. Comments, and spaces that trim markers
// remove, are not part of the text as parsed.
type Templates struct {
	file     string
	set      *template.Template
	names    []string          // the defined templates, sorted
	versions map[string]string // template name → version
}

// ParseTemplates parses text, the content of a template file (UTF-8, with
// or without a byte-order mark); file names it in errors, usually its path.
// It fails for a syntax error, a file with no {{define}} block, text outside
// the blocks, an unknown variable such as {{.Colour}}, or a {{template}}
// call of a block that is not defined; the error gives the file, the line
// and, but for a syntax error, the column (both 1-based; the column counts
// bytes).
func ParseTemplates(file, text string) (*Templates, error) {
	if !utf8.ValidString(text) {
		return nil, fmt.Errorf("%s: the template file is not UTF-8 text; save it as UTF-8", file)
	}
	// Editors on Windows save "UTF-8 with BOM": the mark is no text of the
	// file, and would read as text outside the blocks.
	text = strings.TrimPrefix(text, "\ufeff")
	root, err := template.New(file).Option("missingkey=error").Parse(text)
	if err != nil {
		// text/template says "template: FILE:LINE: problem".
		return nil, errors.New(strings.TrimPrefix(err.Error(), "template: "))
	}
	t := &Templates{file: file, set: root, versions: map[string]string{}}
	if root.Tree != nil {
		for _, n := range root.Tree.Root.Nodes {
			if tn, ok := n.(*parse.TextNode); ok && strings.TrimSpace(string(tn.Text)) == "" {
				continue
			}
			return nil, fmt.Errorf("%s: text outside the {{define \"NAME\"}}…{{end}} blocks is not used; move it into a block", location(root.Tree, n))
		}
	}
	for _, d := range root.Templates() {
		if d.Name() != file && d.Tree != nil {
			t.names = append(t.names, d.Name())
		}
	}
	if len(t.names) == 0 {
		return nil, fmt.Errorf("%s: no templates: write each prompt as {{define \"NAME\"}}…{{end}}, NAME a collection, a product type, or %q", file, DefaultTemplate)
	}
	slices.Sort(t.names)
	for _, name := range t.names {
		if err := t.check(name); err != nil {
			return nil, err
		}
	}
	done := map[string]bool{}
	for _, name := range t.names {
		if err := t.checkCycle(name, nil, done); err != nil {
			return nil, err
		}
	}
	for _, name := range t.names {
		t.versions[name] = t.version(name)
	}
	return t, nil
}

// File returns the name the templates were parsed with.
func (t *Templates) File() string { return t.file }

// Names returns the names of the templates, sorted.
func (t *Templates) Names() []string { return slices.Clone(t.names) }

// Version returns the version of the named template, or "" when there is
// no such template.
func (t *Templates) Version(name string) string { return t.versions[name] }

// promptFields are the names a template may use on dot: PromptData's methods.
var promptFields = func() map[string]bool {
	m := map[string]bool{}
	typ := reflect.TypeFor[PromptData]()
	for i := range typ.NumMethod() {
		m[typ.Method(i).Name] = true
	}
	return m
}()

// check looks through the named template for variables PromptData does not
// have and for {{template}} calls of blocks that are not defined.
func (t *Templates) check(name string) error {
	tree := t.set.Lookup(name).Tree
	var err error
	walk(tree.Root, func(n parse.Node) bool {
		var field string
		switch n := n.(type) {
		case *parse.FieldNode:
			field = n.Ident[0]
		case *parse.VariableNode:
			if n.Ident[0] == "$" && len(n.Ident) > 1 {
				field = n.Ident[1]
			}
		case *parse.TemplateNode:
			if t.set.Lookup(n.Name) == nil || t.set.Lookup(n.Name).Tree == nil {
				err = fmt.Errorf("%s: template %q calls {{template %q}}, which is not defined in this file", location(tree, n), name, n.Name)
				return false
			}
		}
		if field != "" && !promptFields[field] {
			err = fmt.Errorf("%s: template %q uses .%s, which is not a variable; use one of %s, or {{.Column %q}} for a manifest column",
				location(tree, n), name, field, strings.Join(sortedKeys(promptFields), ", "), strings.ToLower(field))
			return false
		}
		return true
	})
	return err
}

// checkCycle reports a block that includes itself, directly or through
// others: path holds the blocks being included, outermost first, and done
// the blocks already found to include no cycle.
func (t *Templates) checkCycle(name string, path []string, done map[string]bool) error {
	if done[name] {
		return nil
	}
	if slices.Contains(path, name) {
		return fmt.Errorf("%s: template %q includes itself (%s); a prompt cannot repeat without end",
			t.file, name, strings.Join(append(path, name), " → "))
	}
	path = append(path, name)
	var err error
	walk(t.set.Lookup(name).Tree.Root, func(n parse.Node) bool {
		if tn, ok := n.(*parse.TemplateNode); ok {
			err = t.checkCycle(tn.Name, path, done)
		}
		return err == nil
	})
	if err == nil {
		done[name] = true
	}
	return err
}

// version hashes the parsed text of the named block and of every block it
// includes, in name order.
func (t *Templates) version(name string) string {
	deps := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		if deps[n] {
			return
		}
		deps[n] = true
		walk(t.set.Lookup(n).Tree.Root, func(node parse.Node) bool {
			if tn, ok := node.(*parse.TemplateNode); ok {
				visit(tn.Name)
			}
			return true
		})
	}
	visit(name)
	h := sha256.New()
	for _, n := range sortedKeys(deps) {
		fmt.Fprintf(h, "%d:%s%d:%s", len(n), n, len(t.set.Lookup(n).Tree.Root.String()), t.set.Lookup(n).Tree.Root.String())
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// location returns "file:line:column" for node n of tree, the column
// 1-based like the line and counted in bytes, as Go's compiler and editors
// count: text/template's ErrorContext gives the 0-based byte offset.
func location(tree *parse.Tree, n parse.Node) string {
	loc, _ := tree.ErrorContext(n)
	return oneBasedColumn(loc)
}

// oneBasedColumn adds 1 to the column of a "file:line:column" text/template
// wrote, and returns other text unchanged.
func oneBasedColumn(loc string) string {
	m := lineColumn.FindStringSubmatch(loc)
	if m == nil {
		return loc
	}
	col, _ := strconv.Atoi(m[2])
	return m[1] + ":" + strconv.Itoa(col+1)
}

var (
	// lineColumn splits "file:line:column" after the line.
	lineColumn = regexp.MustCompile(`^(.*:[0-9]+):([0-9]+)$`)
	// execPosition finds where a text/template execution error says it
	// happened: "template: FILE:LINE:COL: executing …".
	execPosition = regexp.MustCompile(`^template: (.*:[0-9]+:[0-9]+): executing `)
)

// oneBasedExecError is a text/template execution error whose column is
// 1-based (see location); it unwraps to the error itself.
type oneBasedExecError struct{ err error }

func (e oneBasedExecError) Error() string {
	msg := e.err.Error()
	m := execPosition.FindStringSubmatchIndex(msg)
	if m == nil {
		return msg
	}
	return msg[:m[2]] + oneBasedColumn(msg[m[2]:m[3]]) + msg[m[3]:]
}

func (e oneBasedExecError) Unwrap() error { return e.err }

// walk calls fn for n and every node under it, until fn returns false; it
// reports whether the walk went to the end.
func walk(n parse.Node, fn func(parse.Node) bool) bool {
	if n == nil || reflect.ValueOf(n).IsNil() {
		return true // an absent else branch
	}
	if !fn(n) {
		return false
	}
	var kids []parse.Node
	switch n := n.(type) {
	case *parse.ListNode:
		kids = n.Nodes
	case *parse.ActionNode:
		kids = []parse.Node{n.Pipe}
	case *parse.IfNode:
		kids = []parse.Node{n.Pipe, n.List, n.ElseList}
	case *parse.RangeNode:
		kids = []parse.Node{n.Pipe, n.List, n.ElseList}
	case *parse.WithNode:
		kids = []parse.Node{n.Pipe, n.List, n.ElseList}
	case *parse.TemplateNode:
		kids = []parse.Node{n.Pipe}
	case *parse.PipeNode:
		for _, d := range n.Decl {
			kids = append(kids, d)
		}
		for _, c := range n.Cmds {
			kids = append(kids, c)
		}
	case *parse.CommandNode:
		kids = n.Args
	case *parse.ChainNode:
		kids = []parse.Node{n.Node}
	}
	for _, k := range kids {
		if !walk(k, fn) {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Select returns the name of the template for row: the one named as its
// collection, else as its product type, else "default"; ok is false when
// none of them is defined.
func (t *Templates) Select(row Row) (name string, ok bool) {
	var typ string
	if row.Product != nil {
		typ = row.Product.Type
	}
	for _, want := range []string{row.Collection, typ} {
		if want == "" {
			continue
		}
		if _, ok := t.versions[want]; ok {
			return want, true
		}
		for _, n := range t.names {
			if strings.EqualFold(n, want) {
				return n, true
			}
		}
	}
	if _, ok := t.versions[DefaultTemplate]; ok {
		return DefaultTemplate, true
	}
	return "", false
}

// Render returns row with its VideoPrompt written by its template (see
// [Templates.Select]) and Template and TemplateVersion naming the template.
// A prompt the row had is replaced. A row no template serves, a variable
// with no value for the row, or a prompt that renders empty is a *RowError
// naming the row, the template and the variable.
func (t *Templates) Render(row Row) (Row, error) {
	fail := func(err error) (Row, error) {
		return Row{}, &RowError{File: row.File, Line: row.Line, SKU: row.SKU, Err: err}
	}
	name, ok := t.Select(row)
	if !ok {
		return fail(fmt.Errorf("no prompt template serves this row (collection %q, product type %q) and %s has no %q template; add {{define %q}}…{{end}} or a block for the row's collection or type",
			row.Collection, row.productType(), t.file, DefaultTemplate, DefaultTemplate))
	}
	b := &cappedBuilder{max: MaxPromptBytes}
	if err := t.set.ExecuteTemplate(b, name, PromptData{row: row}); err != nil {
		// "prompt template: FILE:LINE:COL: executing "NAME" at <.Vendor>: …"
		return fail(fmt.Errorf("prompt %w", oneBasedExecError{err}))
	}
	prompt := strings.TrimSpace(b.String())
	switch {
	case prompt == "":
		return fail(fmt.Errorf("prompt template %q of %s renders an empty prompt for this row; give the block some text", name, t.file))
	case !utf8.ValidString(prompt) || strings.ContainsRune(prompt, utf8.RuneError):
		return fail(fmt.Errorf("prompt template %q of %s renders text that is not valid UTF-8 (a value of the row holds damaged text); fix the row's text", name, t.file))
	}
	row.VideoPrompt = prompt
	row.Template, row.TemplateVersion = name, t.versions[name]
	return row, nil
}

// MaxPromptBytes bounds a row's video_prompt and still_prompt, whether a
// template rendered it or the manifest gave it: a prompt is a sentence or
// two, and a field that holds more has gone wrong (a template that runs on,
// a whole file pasted into a cell).
const MaxPromptBytes = 16 << 10

// cappedBuilder is a strings.Builder that refuses to grow past max bytes,
// which stops a template's execution.
type cappedBuilder struct {
	strings.Builder
	max int
}

func (b *cappedBuilder) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, fmt.Errorf("the prompt is longer than %d bytes; a prompt is a sentence or two", b.max)
	}
	return b.Builder.Write(p)
}

// Apply returns rows with each row rendered by [Templates.Render]; errors
// pass through, and a row that fails to render is yielded as its
// *RowError.
func (t *Templates) Apply(rows iter.Seq2[Row, error]) iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		for row, err := range rows {
			if err == nil {
				row, err = t.Render(row)
			}
			if !yield(row, err) {
				return
			}
		}
	}
}

// PromptData is dot in a prompt template: the row it renders for. Every
// method but Has, Options and SKU fails when the row has no value for it,
// so a template never writes a prompt with a hole in it.
type PromptData struct{ row Row }

// SKU returns the row's SKU.
func (d PromptData) SKU() string { return d.row.SKU }

// Title returns the product's title (Shopify's Title column, or a
// manifest's title column).
func (d PromptData) Title() (string, error) { return d.field("Title", d.product().Title) }

// Vendor returns the product's vendor (Shopify's Vendor column, or a
// manifest's vendor column).
func (d PromptData) Vendor() (string, error) { return d.field("Vendor", d.product().Vendor) }

// Type returns the product type (Shopify's Type column, or a manifest's
// type column).
func (d PromptData) Type() (string, error) { return d.field("Type", d.product().Type) }

// Handle returns the product's Shopify handle.
func (d PromptData) Handle() (string, error) { return d.field("Handle", d.product().Handle) }

// Collection returns the row's collection.
func (d PromptData) Collection() (string, error) { return d.field("Collection", d.row.Collection) }

// Options returns the variant's option values by option name, such as
// {"Color": "Red", "Size": "M"}; options with no value are left out, so
// that {{.Options.Color}} fails for a variant with no color.
func (d PromptData) Options() map[string]string {
	m := map[string]string{}
	for _, o := range d.product().Options {
		if o.Value != "" {
			m[o.Name] = o.Value
		}
	}
	return m
}

// Column returns the value of the row's column named name (matched
// ignoring case and surrounding spaces). It fails when the manifest has no
// such column or the row leaves it blank.
func (d PromptData) Column(name string) (string, error) {
	v, ok := d.product().Columns[columnKey(name)]
	switch {
	case !ok:
		return "", fmt.Errorf("the file has no column %q; add it, or use {{if .Has %q}}…{{end}} around the text", name, name)
	case strings.TrimSpace(v) == "":
		return "", fmt.Errorf("column %q is blank for this row; fill it, or use {{if .Has %q}}…{{end}} around the text", name, name)
	}
	return v, nil
}

// Has reports whether the row has a value for name: a variable (Title,
// Vendor, Type, Handle, Collection), an option name, or a column.
func (d PromptData) Has(name string) bool {
	var v string
	switch name {
	case "Title":
		v = d.product().Title
	case "Vendor":
		v = d.product().Vendor
	case "Type":
		v = d.product().Type
	case "Handle":
		v = d.product().Handle
	case "Collection":
		v = d.row.Collection
	default:
		if ov, ok := d.Options()[name]; ok {
			v = ov
		} else {
			v = d.product().Columns[columnKey(name)]
		}
	}
	return strings.TrimSpace(v) != ""
}

func (d PromptData) product() *Product {
	if d.row.Product == nil {
		return &Product{}
	}
	return d.row.Product
}

func (d PromptData) field(name, v string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("%s is blank for this row; fill it in the source (for a Shopify export, on the product's first row), or guard the text with {{if .Has %q}}…{{end}}", name, name)
	}
	return v, nil
}

// columnKey is how column names are matched: without case or surrounding
// spaces.
func columnKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

func (r Row) productType() string {
	if r.Product == nil {
		return ""
	}
	return r.Product.Type
}

// RecordProducts makes the reader give each row its columns in
// Row.Product, for prompt templates: every column by name, and the title,
// vendor and type columns as Title, Vendor and Type. Call it before Rows.
func (m *Reader) RecordProducts() { m.products = true }

// columnKeys returns the keys of a header's column names.
func columnKeys(header []string) []string {
	keys := make([]string, len(header))
	for i, h := range header {
		keys[i] = columnKey(h)
	}
	return keys
}

// manifestProduct gives a manifest row's columns to prompt templates: every
// column by name, and the title, vendor and type columns as Title, Vendor
// and Type.
func manifestProduct(keys, rec []string) *Product {
	p := &Product{Columns: make(map[string]string, len(keys))}
	for i, k := range keys {
		if k != "" && i < len(rec) {
			p.Columns[k] = strings.TrimSpace(rec[i])
		}
	}
	p.Title, p.Vendor, p.Type = p.Columns["title"], p.Columns["vendor"], p.Columns["type"]
	return p
}
