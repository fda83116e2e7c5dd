package manifest

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Product is what a row knows of its product and variant beyond the render
// inputs, for prompt templates (see [Templates]).
type Product struct {
	// Handle is the product's Shopify handle; empty for manifest rows.
	Handle string
	// Title, Vendor, Type and Category are the product's Title, Vendor,
	// Type and Product Category.
	Title, Vendor, Type, Category string
	// Options are the variant's options in order (Option1 to Option3 of
	// Shopify's export), with the product's option names.
	Options []ProductOption
	// Columns holds every column of the row by header name, lower-cased and
	// trimmed; for a Shopify export, the product's columns (Title, Vendor,
	// Tags, SEO Title, …) carry the values of the product's rows.
	Columns map[string]string
}

// ProductOption is one option of a variant, such as Color: Red.
type ProductOption struct{ Name, Value string }

// SkippedRow is a variant of a Shopify product export that yields no row
// because it cannot be rendered: it has no SKU, or neither it nor its
// product has an image. Skipping is not an error; fix the product in
// Shopify and export again to render it.
type SkippedRow struct {
	File string
	// Line is the variant's line (1-based).
	Line int
	// Handle is the product's handle; Variant names the variant by its
	// option values, such as "Red / M".
	Handle, Variant string
	// Reason says what is missing and how to fix it.
	Reason string
}

// String formats the skip as "file:line: skipped handle "h" variant "v": reason".
func (s SkippedRow) String() string {
	return fmt.Sprintf("%s: skipped product %q variant %q: %s", position(s.File, s.Line), s.Handle, s.Variant, s.Reason)
}

// The columns of Shopify's product CSV export that the reader uses, by the
// headers of the classic export and of the export Shopify writes since 2025
// (https://help.shopify.com/manual/products/import-export/using-csv). Both
// are matched ignoring case and surrounding spaces.
const (
	exHandle = iota
	exTitle
	exBody
	exVendor
	exCategory
	exType
	exSKU
	exImageSrc
	exImagePosition
	exVariantImage
	exCollection
	exTargetSurface
	numExportColumns
)

var exportHeaders = [numExportColumns][]string{
	exHandle:        {"Handle", "URL handle"},
	exTitle:         {"Title"},
	exBody:          {"Body (HTML)", "Description"},
	exVendor:        {"Vendor"},
	exCategory:      {"Product Category"},
	exType:          {"Type"},
	exSKU:           {"Variant SKU", "SKU"},
	exImageSrc:      {"Image Src", "Product image URL"},
	exImagePosition: {"Image Position"},
	exVariantImage:  {"Variant Image", "Variant image URL"},
	// Not Shopify's: a column a merchant may add to route rows.
	exCollection:    {ColumnCollection},
	exTargetSurface: {ColumnTargetSurface},
}

// productColumns are the export's columns that Shopify writes only on a
// product's first row; the reader gives their values to every variant.
var productColumns = map[string]bool{
	"handle": true, "url handle": true, "title": true, "body (html)": true, "description": true,
	"vendor": true, "product category": true, "type": true, "tags": true, "published": true,
	"published on online store": true, "status": true, "seo title": true, "seo description": true,
	"gift card": true, "option1 name": true, "option2 name": true, "option3 name": true,
	ColumnCollection: true, ColumnTargetSurface: true,
}

func isProductColumn(key string) bool {
	return productColumns[key] || strings.HasPrefix(key, "google shopping / ") || strings.Contains(key, "(product.metafields.")
}

// ShopifyExportReader reads Shopify's product CSV export as manifest rows:
// one row per variant with a SKU and an image. It reads a product's rows
// (one per variant, and image-only rows) before yielding its variants, so
// its memory grows with the largest product, not with the file, apart from
// 16 bytes per product kept to find a product whose rows are not together.
type ShopifyExportReader struct {
	name     string
	cr       *csv.Reader
	index    [numExportColumns]int
	options  [3][2]int // field index of Option1..3 Name and Value, -1 if absent
	header   []string  // column keys, lower-cased
	product  []bool    // which fields are product columns
	products DigestSet // handles whose rows have ended
	onSkip   func(SkippedRow)
	skipped  int
	read     bool
}

// NewShopifyExportReader reads the header of the Shopify product export in r
// and returns a reader for its rows; name identifies the file in errors.
// The header must have Handle (or URL handle), Variant SKU (or SKU), and
// Image Src or Variant Image (or Product image URL, Variant image URL);
// otherwise, or for a column given twice, it returns an *Error. onSkip, if
// not nil, is called for every variant skipped.
func NewShopifyExportReader(r io.Reader, name string, onSkip func(SkippedRow)) (*ShopifyExportReader, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(3); err == nil && string(head) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	x := &ShopifyExportReader{name: name, cr: cr, products: make(DigestSet), onSkip: onSkip}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &Error{File: name, Err: errors.New("empty Shopify export: no header line")}
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{File: name, Line: pe.StartLine, Err: fmt.Errorf("header: %w", pe.Err)}
		}
		return nil, &Error{File: name, Err: err}
	}
	for i := range x.index {
		x.index[i] = -1
	}
	for i := range x.options {
		x.options[i] = [2]int{-1, -1}
	}
	seen := map[string]bool{}
	for i, h := range header {
		key := columnKey(h)
		x.header = append(x.header, key)
		x.product = append(x.product, isProductColumn(key))
		if key == "" {
			continue
		}
		if seen[key] {
			return nil, &Error{File: name, Line: 1, Column: strings.TrimSpace(h), Err: errors.New("appears more than once in the header")}
		}
		seen[key] = true
		for c, names := range exportHeaders {
			for _, n := range names {
				if key == columnKey(n) {
					x.index[c] = i
				}
			}
		}
		for o := range x.options {
			for k, part := range []string{"name", "value"} {
				if key == fmt.Sprintf("option%d %s", o+1, part) {
					x.options[o][k] = i
				}
			}
		}
	}
	var missing []string
	if x.index[exHandle] < 0 {
		missing = append(missing, "Handle")
	}
	if x.index[exSKU] < 0 {
		missing = append(missing, "Variant SKU")
	}
	if x.index[exImageSrc] < 0 && x.index[exVariantImage] < 0 {
		missing = append(missing, "Image Src or Variant Image")
	}
	if len(missing) > 0 {
		return nil, &Error{File: name, Line: 1, Err: fmt.Errorf("a Shopify product export needs the column %s; export the products again from Shopify with all columns", strings.Join(missing, ", "))}
	}
	return x, nil
}

// Skipped returns the number of variants skipped so far.
func (x *ShopifyExportReader) Skipped() int { return x.skipped }

// exportVariant is a variant row of the product being read.
type exportVariant struct {
	line    int
	sku     string
	options [3]string
	image   string // Variant Image
	columns map[string]string
}

// exportImage is an image of the product being read.
type exportImage struct {
	src      string
	position int // 0 when the row gives none
	line     int
}

// exportProduct collects the rows of one product.
type exportProduct struct {
	handle   string
	dupOf    int // line where the product's earlier rows started, if its rows are not together
	columns  map[string]string
	options  [3]string // option names
	image    exportImage
	variants []exportVariant
	errs     []*RowError
}

// Rows yields one row per variant that has a SKU and an image, in file
// order, each product's variants once its rows are read. A variant's image
// is its Variant Image, else the product's image with the lowest Image
// Position (an image with no position comes after those with one). The
// product's fields (Title, Vendor, Type, …) are given to every variant. A
// variant with no SKU or no image is skipped and reported to onSkip; a
// malformed row, an image that is not an http(s) URL, or a product whose
// rows are not together is yielded as a *RowError, and reading goes on. A
// failure to read the input is another error and ends the sequence.
//
// The rows have no VideoPrompt: prompt templates write it (see [Templates]).
// Their TargetSurface is "shopify-pdp" unless a target_surface column says
// otherwise.
func (x *ShopifyExportReader) Rows() iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		if x.read {
			return
		}
		x.read = true
		var p *exportProduct
		lastOffset := int64(-1)
		for {
			rec, err := x.cr.Read()
			if err == io.EOF {
				x.flush(p, yield)
				return
			}
			if err != nil {
				var pe *csv.ParseError
				offset := x.cr.InputOffset()
				if !errors.As(err, &pe) || offset == lastOffset {
					if x.flush(p, yield) {
						yield(Row{}, &Error{File: x.name, Err: err})
					}
					return
				}
				lastOffset = offset
				if p == nil {
					p = &exportProduct{}
				}
				p.errs = append(p.errs, &RowError{File: x.name, Line: pe.StartLine, Err: fmt.Errorf("malformed CSV: %w", pe.Err)})
				continue
			}
			lastOffset = x.cr.InputOffset()
			line, _ := x.cr.FieldPos(0)
			if len(rec) != len(x.header) {
				if p == nil {
					p = &exportProduct{}
				}
				p.errs = append(p.errs, &RowError{File: x.name, Line: line,
					Err: fieldCount(len(rec), len(x.header), x.cr.Comma)})
				continue
			}
			if blankRecord(rec) {
				continue
			}
			handle := strings.TrimSpace(rec[x.index[exHandle]])
			if handle == "" {
				if p == nil {
					p = &exportProduct{}
				}
				p.errs = append(p.errs, &RowError{File: x.name, Line: line, Column: "Handle",
					Err: errors.New("is empty; every row of a Shopify export names its product's handle")})
				continue
			}
			if p == nil || p.handle != handle {
				if !x.flush(p, yield) {
					return
				}
				p = &exportProduct{handle: handle, columns: map[string]string{}}
				if first, dup := x.products.Add(sha256.Sum256([]byte(handle)), line); dup {
					p.dupOf = first
				}
			}
			x.add(p, rec, line)
		}
	}
}

// add records one row of product p.
func (x *ShopifyExportReader) add(p *exportProduct, rec []string, line int) {
	get := func(c int) string {
		if i := x.index[c]; i >= 0 {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var own map[string]string
	var v exportVariant
	for o, idx := range x.options {
		if idx[0] >= 0 && p.options[o] == "" {
			p.options[o] = strings.TrimSpace(rec[idx[0]])
		}
		if idx[1] >= 0 {
			v.options[o] = strings.TrimSpace(rec[idx[1]])
		}
	}
	v.sku = get(exSKU)
	isVariant := v.sku != "" || v.options != [3]string{}
	if isVariant {
		own = map[string]string{}
	}
	for i, key := range x.header {
		if key == "" {
			continue
		}
		val := strings.TrimSpace(rec[i])
		switch {
		case x.product[i]:
			if p.columns[key] == "" {
				p.columns[key] = val
			}
		case isVariant:
			own[key] = val
		}
	}
	if src := get(exImageSrc); src != "" {
		img := exportImage{src: src, line: line}
		if s := get(exImagePosition); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				p.errs = append(p.errs, &RowError{File: x.name, Line: line, Column: x.headerName(exImagePosition),
					Err: fmt.Errorf("%q is not a position such as 1; fix it in Shopify and export again", s)})
			} else {
				img.position = n
			}
		}
		if p.image.src == "" || before(img, p.image) {
			p.image = img
		}
	}
	if isVariant {
		v.line, v.image, v.columns = line, get(exVariantImage), own
		p.variants = append(p.variants, v)
	}
}

// before reports whether image a comes before b: a lower position, or a
// position where b has none.
func before(a, b exportImage) bool {
	switch {
	case a.position == 0:
		return false
	case b.position == 0:
		return true
	}
	return a.position < b.position
}

// flush yields the rows and errors of product p in line order and reports
// whether to go on.
func (x *ShopifyExportReader) flush(p *exportProduct, yield func(Row, error) bool) bool {
	if p == nil {
		return true
	}
	type item struct {
		line int
		row  Row
		skip *SkippedRow
		err  error
	}
	var items []item
	for _, e := range p.errs {
		items = append(items, item{line: e.Line, err: e})
	}
	for _, v := range p.variants {
		row, skip, err := x.variantRow(p, v)
		items = append(items, item{line: v.line, row: row, skip: skip, err: err})
	}
	slices.SortStableFunc(items, func(a, b item) int { return cmp.Compare(a.line, b.line) })
	for _, it := range items {
		if it.skip != nil {
			x.skipped++
			if x.onSkip != nil {
				x.onSkip(*it.skip)
			}
			continue
		}
		if !yield(it.row, it.err) {
			return false
		}
	}
	return true
}

// variantRow makes the row of variant v of product p, or says why it is
// skipped.
func (x *ShopifyExportReader) variantRow(p *exportProduct, v exportVariant) (Row, *SkippedRow, error) {
	product := &Product{
		Handle:   p.handle,
		Title:    p.columns[x.key(exTitle)],
		Vendor:   p.columns[x.key(exVendor)],
		Type:     p.columns[x.key(exType)],
		Category: p.columns[x.key(exCategory)],
		Columns:  maps.Clone(p.columns),
	}
	maps.Copy(product.Columns, v.columns)
	var names []string
	for o, name := range p.options {
		if name != "" || v.options[o] != "" {
			product.Options = append(product.Options, ProductOption{Name: name, Value: v.options[o]})
			names = append(names, v.options[o])
		}
	}
	variant := strings.Join(names, " / ")
	fail := func(line int, column string, err error) (Row, *SkippedRow, error) {
		return Row{}, nil, &RowError{File: x.name, Line: line, Column: column, SKU: v.sku, Err: err}
	}
	if p.dupOf > 0 {
		return fail(v.line, "Handle", fmt.Errorf("%q continues here after its product's rows that start on line %d ended; keep a product's rows together (sort the file by Handle, keeping the rows' order)", p.handle, p.dupOf))
	}
	skip := func(reason string) (Row, *SkippedRow, error) {
		return Row{}, &SkippedRow{File: x.name, Line: v.line, Handle: p.handle, Variant: variant, Reason: reason}, nil
	}
	if v.sku == "" {
		return skip("it has no " + x.headerName(exSKU) + "; give the variant a SKU in Shopify and export again")
	}
	if !utf8.ValidString(v.sku) || strings.ContainsRune(v.sku, utf8.RuneError) {
		return fail(v.line, x.headerName(exSKU), fmt.Errorf("%q is not valid UTF-8 text; export the products from Shopify again and do not re-save the file in another encoding", v.sku))
	}
	image, column, line := v.image, x.headerName(exVariantImage), v.line
	if image == "" {
		image, column, line = p.image.src, x.headerName(exImageSrc), p.image.line
	}
	if image == "" {
		return skip("neither the variant nor its product has an image; add a product image in Shopify and export again")
	}
	if err := checkImageURL(image); err != nil {
		return fail(line, column, err)
	}
	return Row{
		SKU:           v.sku,
		ImageURL:      image,
		Collection:    product.Columns[ColumnCollection],
		TargetSurface: cmp.Or(product.Columns[ColumnTargetSurface], "shopify-pdp"),
		Product:       product,
		File:          x.name,
		Line:          v.line,
	}, nil, nil
}

// key returns the column key of an export column, or "" when the header
// lacks it.
func (x *ShopifyExportReader) key(c int) string {
	if i := x.index[c]; i >= 0 {
		return x.header[i]
	}
	return ""
}

// headerName names an export column in messages, as the classic export
// spells it.
func (x *ShopifyExportReader) headerName(c int) string { return exportHeaders[c][0] }

func blankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// Format is the kind of file [Open] found.
type Format int

// The formats Open reads.
const (
	// FormatManifest is the SDK's manifest (see [NewReader]).
	FormatManifest Format = iota
	// FormatShopifyExport is Shopify's product CSV export (see
	// [NewShopifyExportReader]).
	FormatShopifyExport
)

// String returns "manifest" or "Shopify product export".
func (f Format) String() string {
	if f == FormatShopifyExport {
		return "Shopify product export"
	}
	return "manifest"
}

// DetectFormat tells the format from a header line: a Shopify product export
// has a Handle (or URL handle) column and no image_url column.
func DetectFormat(header []string) Format {
	var handle, imageURL bool
	for _, h := range header {
		switch columnKey(strings.TrimPrefix(h, "\ufeff")) {
		case "handle", "url handle":
			handle = true
		case ColumnImageURL:
			imageURL = true
		}
	}
	if handle && !imageURL {
		return FormatShopifyExport
	}
	return FormatManifest
}

// Source is a manifest or a Shopify product export opened by [Open].
type Source struct {
	// Format is the format found from the header.
	Format   Format
	rows     iter.Seq2[Row, error]
	export   *ShopifyExportReader
	manifest *Reader
}

// Open reads a manifest or a Shopify product export from r, telling which
// from its header (see [DetectFormat]); name identifies the file in errors.
// With templates, every row's VideoPrompt is written by them (see
// [Templates.Render]); without, a manifest row keeps its own, and each row
// of a Shopify export, which has none, is a *RowError saying to give
// prompt templates. onSkip, if not nil, is called for each variant of an
// export that is skipped. Header problems are an *Error, as from
// NewReader. opts configure the reading of a manifest (WithEncoding,
// WithWarnings); with templates, its video_prompt column is optional. A
// Shopify export is read as the UTF-8 that Shopify writes.
func Open(r io.Reader, name string, templates *Templates, onSkip func(SkippedRow), opts ...Option) (*Source, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(br.Size())
	if i := bytes.IndexAny(head, "\r\n"); i >= 0 {
		head = head[:i]
	}
	hr := csv.NewReader(bytes.NewReader(head))
	hr.LazyQuotes = true
	header, _ := hr.Read()
	s := &Source{Format: DetectFormat(header)}
	if s.Format == FormatShopifyExport {
		x, err := NewShopifyExportReader(br, name, onSkip)
		if err != nil {
			return nil, err
		}
		s.export, s.rows = x, x.Rows()
	} else {
		if templates != nil {
			opts = append(opts, promptsFromTemplates())
		}
		m, err := NewReader(br, name, opts...)
		if err != nil {
			return nil, err
		}
		if templates != nil {
			m.RecordProducts()
		}
		s.manifest, s.rows = m, m.Rows()
	}
	switch {
	case templates != nil:
		s.rows = templates.Apply(s.rows)
	case s.Format == FormatShopifyExport:
		s.rows = needPrompts(s.rows)
	}
	return s, nil
}

// Stats returns how a manifest was read (see Reader.Stats); zero for a
// Shopify export.
func (s *Source) Stats() Stats {
	if s.manifest == nil {
		return Stats{}
	}
	return s.manifest.Stats()
}

// Rows yields the rows, once; see NewReader and NewShopifyExportReader.
func (s *Source) Rows() iter.Seq2[Row, error] { return s.rows }

// Skipped returns the number of variants of a Shopify export skipped so
// far; zero for a manifest.
func (s *Source) Skipped() int {
	if s.export == nil {
		return 0
	}
	return s.export.Skipped()
}

// needPrompts makes each row of a Shopify export, which has no prompt, a
// *RowError saying how to give it one.
func needPrompts(rows iter.Seq2[Row, error]) iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		for row, err := range rows {
			if err == nil {
				err = &RowError{File: row.File, Line: row.Line, SKU: row.SKU,
					Err: errors.New("a Shopify product export has no video_prompt column: give prompt templates (submit -template FILE; see the README's \"Prompt templates\")")}
			}
			if !yield(Row{}, err) {
				return
			}
		}
	}
}
