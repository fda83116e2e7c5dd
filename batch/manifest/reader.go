package manifest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// Reader reads manifest rows from CSV one at a time, so a file of any
// size is read in constant memory, apart from the set of row digests kept to
// report duplicate rows (16 bytes and a line number per row).
type Reader struct {
	name   string
	cr     *csv.Reader
	index  [numColumns]int // field index of each known column, -1 if absent
	fields int             // number of header fields
	seen   DigestSet
	read   bool
	keys   []string // header names as columnKey makes them, for Row.Product
	// products makes row fill Row.Product (see Reader.RecordProducts).
	products bool
}

// utf8BOM is what spreadsheet programs put in front of "UTF-8 CSV" exports.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// NewReader reads the header of the manifest in r and returns a
// reader for its rows. name identifies the manifest in errors, usually its
// path. Header problems — no header, a missing required column (sku,
// image_url, video_prompt), a column given twice — are returned here as a
// *Error, before any row is read.
//
// The CSV may start with a UTF-8 byte order mark and may use CRLF line ends;
// fields may be quoted, with doubled quotes inside.
func NewReader(r io.Reader, name string) (*Reader, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(len(utf8BOM)); err == nil && bytes.Equal(head, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	// Field counts are checked per row so a short row is a row error with a
	// clear message, not a fatal csv.ErrFieldCount.
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	m := &Reader{name: name, cr: cr, seen: make(DigestSet)}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &Error{File: name, Err: errors.New("empty manifest: no header line")}
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{File: name, Line: pe.StartLine, Err: fmt.Errorf("header: %w", pe.Err)}
		}
		return nil, &Error{File: name, Err: err}
	}
	line, _ := cr.FieldPos(0)
	m.fields = len(header)
	m.keys = columnKeys(header)
	for i := range m.index {
		m.index[i] = -1
	}
	seen := make(map[string]bool, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if seen[h] {
			return nil, &Error{File: name, Line: line, Column: h, Err: errors.New("appears more than once in the header")}
		}
		seen[h] = true
		for c, known := range manifestColumns {
			if h == known {
				m.index[c] = i
			}
		}
	}
	var missing []string
	for _, c := range requiredColumns {
		if m.index[c] < 0 {
			missing = append(missing, manifestColumns[c])
		}
	}
	if len(missing) > 0 {
		return nil, &Error{File: name, Line: line,
			Err: fmt.Errorf("missing required column %s (the header has %q)", strings.Join(missing, ", "), header)}
	}
	return m, nil
}

// Rows yields the manifest's rows in order. A problem with one row is yielded
// as a *RowError and reading goes on with the next row; a failure to read the
// input itself is yielded as another error and ends the sequence. A row that
// repeats an earlier row (same SKU and render inputs as written) is a
// *RowError naming the first line.
//
// Rows reads the underlying input, so it yields the rows only once.
func (m *Reader) Rows() iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		if m.read {
			return
		}
		m.read = true
		lastOffset := int64(-1)
		for {
			rec, err := m.cr.Read()
			if err == io.EOF {
				return
			}
			if err != nil {
				var pe *csv.ParseError
				offset := m.cr.InputOffset()
				if !errors.As(err, &pe) || offset == lastOffset {
					yield(Row{}, &Error{File: m.name, Err: err})
					return
				}
				lastOffset = offset
				where := fmt.Sprintf("character %d", pe.Column)
				if pe.Line != pe.StartLine {
					where = fmt.Sprintf("line %d, character %d", pe.Line, pe.Column)
				}
				re := &RowError{File: m.name, Line: pe.StartLine, Err: fmt.Errorf("malformed CSV at %s: %w", where, pe.Err)}
				if !yield(Row{}, re) {
					return
				}
				continue
			}
			lastOffset = m.cr.InputOffset()
			row, rerr := m.row(rec)
			if rerr != nil {
				if !yield(Row{}, rerr) {
					return
				}
				continue
			}
			if !yield(row, nil) {
				return
			}
		}
	}
}

// row converts one record, checking it field by field.
func (m *Reader) row(rec []string) (Row, *RowError) {
	start, _ := m.cr.FieldPos(0)
	if len(rec) != m.fields {
		re := &RowError{File: m.name, Line: start, Err: fmt.Errorf("has %d fields, the header has %d", len(rec), m.fields)}
		if i := m.index[colSKU]; i < len(rec) {
			re.SKU = strings.TrimSpace(rec[i])
		}
		return Row{}, re
	}
	get := func(c int) string {
		if i := m.index[c]; i >= 0 {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	row := Row{
		SKU:           get(colSKU),
		ImageURL:      get(colImageURL),
		VideoPrompt:   get(colVideoPrompt),
		Collection:    get(colCollection),
		TargetSurface: get(colTargetSurface),
		Model:         get(colModel),
		AspectRatio:   get(colAspectRatio),
		StillPrompt:   get(colStillPrompt),
		File:          m.name,
		Line:          start,
	}
	if m.products {
		row.Product = manifestProduct(m.keys, rec)
	}
	fail := func(c int, err error) *RowError {
		line := start
		if i := m.index[c]; i >= 0 {
			line, _ = m.cr.FieldPos(i)
		}
		return &RowError{File: m.name, Line: line, Column: manifestColumns[c], SKU: row.SKU, Err: err}
	}
	if d := get(colDuration); d != "" {
		v, err := creativeai.ParseDuration(d)
		if err != nil {
			return Row{}, fail(colDuration, fmt.Errorf("%q is not a duration such as 5s", d))
		}
		if v <= 0 {
			return Row{}, fail(colDuration, fmt.Errorf("%q must be at least 1s", d))
		}
		row.Duration = v
	}
	if c, err := row.check(); err != nil {
		return Row{}, fail(c, err)
	}
	if first, dup := m.seen.Add(row.Digest(), start); dup {
		return Row{}, &RowError{File: m.name, Line: start, SKU: row.SKU,
			Err: fmt.Errorf("duplicates line %d (same sku and render inputs)", first)}
	}
	return row, nil
}
