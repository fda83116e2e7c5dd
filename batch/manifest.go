package batch

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"strconv"
	"strings"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// The manifest's columns. Header names are matched after trimming spaces and
// ignoring case; columns the SDK does not know are ignored.
const (
	ColumnSKU           = "sku"
	ColumnImageURL      = "image_url"
	ColumnVideoPrompt   = "video_prompt"
	ColumnCollection    = "collection"
	ColumnTargetSurface = "target_surface"
	ColumnModel         = "model"
	ColumnDuration      = "duration"
	ColumnAspectRatio   = "aspect_ratio"
	ColumnStillPrompt   = "still_prompt"
)

// column indexes into manifestColumns and into ManifestReader.index.
const (
	colSKU = iota
	colImageURL
	colVideoPrompt
	colCollection
	colTargetSurface
	colModel
	colDuration
	colAspectRatio
	colStillPrompt
	numColumns
)

var manifestColumns = [numColumns]string{
	ColumnSKU, ColumnImageURL, ColumnVideoPrompt, ColumnCollection, ColumnTargetSurface,
	ColumnModel, ColumnDuration, ColumnAspectRatio, ColumnStillPrompt,
}

// requiredColumns must appear in every manifest header.
var requiredColumns = []int{colSKU, colImageURL, colVideoPrompt}

// The defaults applied to rows that leave a render setting empty.
const (
	DefaultModel       = "kling-v3"
	DefaultDuration    = creativeai.Duration(5)
	DefaultAspectRatio = "16:9"
)

// Row is one manifest line: a SKU's hero image, the motion prompt for its
// clip, where the finished video goes, and optional per-row render settings.
// Empty Model, Duration and AspectRatio take the run's defaults.
type Row struct {
	SKU         string
	ImageURL    string
	VideoPrompt string
	Collection  string
	// TargetSurface routes the finished video to a delivery sink, such as
	// "shopify-pdp" or "meta-ads".
	TargetSurface string
	Model         string
	Duration      creativeai.Duration
	AspectRatio   string
	// StillPrompt, when set, asks for a refreshed still generated from the
	// hero image; the clip is then rendered from that still.
	StillPrompt string
	// File and Line locate the row in its manifest (Line is 1-based); they
	// are empty for rows that did not come from a file.
	File string
	Line int
}

// Validate reports the first problem that keeps r from being submitted, as a
// *RowError naming the column: an empty sku or video_prompt, an image_url
// that is not an absolute http(s) URL, or an invalid aspect ratio.
func (r Row) Validate() error {
	if col, err := r.check(); err != nil {
		return &RowError{File: r.File, Line: r.Line, Column: manifestColumns[col], SKU: r.SKU, Err: err}
	}
	return nil
}

// check is Validate without the wrapping; it returns the offending column.
func (r Row) check() (int, error) {
	switch {
	case r.SKU == "":
		return colSKU, errors.New("is empty")
	case r.ImageURL == "":
		return colImageURL, errors.New("is empty")
	}
	if err := checkImageURL(r.ImageURL); err != nil {
		return colImageURL, err
	}
	if r.VideoPrompt == "" {
		return colVideoPrompt, errors.New("is empty")
	}
	if r.AspectRatio != "" {
		if err := checkAspectRatio(r.AspectRatio); err != nil {
			return colAspectRatio, err
		}
	}
	return 0, nil
}

func checkImageURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	if !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// checkAspectRatio accepts W:H with positive whole numbers, such as "16:9".
func checkAspectRatio(s string) error {
	w, h, ok := strings.Cut(s, ":")
	if !ok || !positiveInt(w) || !positiveInt(h) {
		return fmt.Errorf("%q is not an aspect ratio such as 16:9", s)
	}
	return nil
}

func positiveInt(s string) bool {
	if len(s) == 0 || len(s) > 4 {
		return false
	}
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && s[0] != '+' && s[0] != '-'
}

// RowError is a problem with one manifest row. The row is not submitted; the
// rows after it are still read.
type RowError struct {
	// File is the manifest's name as given to NewManifestReader.
	File string
	// Line is where the problem is (1-based).
	Line int
	// Column is the header name of the offending field, or empty when the
	// problem is with the whole row.
	Column string
	// SKU is the row's SKU, when it has one.
	SKU string
	Err error
}

// Error formats the problem as "file:line: column problem (sku "X")".
func (e *RowError) Error() string {
	var b strings.Builder
	b.WriteString(position(e.File, e.Line))
	b.WriteString(": ")
	if e.Column != "" {
		b.WriteString(e.Column)
		b.WriteString(" ")
	}
	b.WriteString(e.Err.Error())
	if e.SKU != "" {
		fmt.Fprintf(&b, " (sku %q)", e.SKU)
	}
	return b.String()
}

// Unwrap returns the underlying problem.
func (e *RowError) Unwrap() error { return e.Err }

// ManifestError is a problem with the manifest as a whole, such as a missing
// required column. It is reported before any row, so nothing is submitted.
// A failure to read the input midway is a ManifestError too.
type ManifestError struct {
	File string
	// Line is where the problem is (1-based), or zero when it concerns no
	// line in particular.
	Line int
	// Column is the header name concerned, if any.
	Column string
	Err    error
}

// Error formats the problem as "file:line: column "x": problem".
func (e *ManifestError) Error() string {
	s := position(e.File, e.Line) + ": "
	if e.Column != "" {
		s += "column " + strconv.Quote(e.Column) + ": "
	}
	return s + e.Err.Error()
}

// Unwrap returns the underlying problem.
func (e *ManifestError) Unwrap() error { return e.Err }

// position formats "file:line" the way compilers do, so editors can jump to it.
func position(file string, line int) string {
	if file == "" {
		file = "manifest"
	}
	if line <= 0 {
		return file
	}
	return file + ":" + strconv.Itoa(line)
}

// ManifestReader reads manifest rows from CSV one at a time, so a file of any
// size is read in constant memory, apart from the set of row digests kept to
// report duplicate rows (16 bytes and a line number per row).
type ManifestReader struct {
	name   string
	cr     *csv.Reader
	index  [numColumns]int // field index of each known column, -1 if absent
	fields int             // number of header fields
	seen   digestSet
	read   bool
}

// utf8BOM is what spreadsheet programs put in front of "UTF-8 CSV" exports.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// NewManifestReader reads the header of the manifest in r and returns a
// reader for its rows. name identifies the manifest in errors, usually its
// path. Header problems — no header, a missing required column (sku,
// image_url, video_prompt), a column given twice — are returned here as a
// *ManifestError, before any row is read.
//
// The CSV may start with a UTF-8 byte order mark and may use CRLF line ends;
// fields may be quoted, with doubled quotes inside.
func NewManifestReader(r io.Reader, name string) (*ManifestReader, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(len(utf8BOM)); err == nil && bytes.Equal(head, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	// Field counts are checked per row so a short row is a row error with a
	// clear message, not a fatal csv.ErrFieldCount.
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	m := &ManifestReader{name: name, cr: cr, seen: make(digestSet)}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &ManifestError{File: name, Err: errors.New("empty manifest: no header line")}
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, &ManifestError{File: name, Line: pe.StartLine, Err: fmt.Errorf("header: %w", pe.Err)}
		}
		return nil, &ManifestError{File: name, Err: err}
	}
	line, _ := cr.FieldPos(0)
	m.fields = len(header)
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
			return nil, &ManifestError{File: name, Line: line, Column: h, Err: errors.New("appears more than once in the header")}
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
		return nil, &ManifestError{File: name, Line: line,
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
func (m *ManifestReader) Rows() iter.Seq2[Row, error] {
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
					yield(Row{}, &ManifestError{File: m.name, Err: err})
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
func (m *ManifestReader) row(rec []string) (Row, *RowError) {
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
	if first, dup := m.seen.add(row.digest(), start); dup {
		return Row{}, &RowError{File: m.name, Line: start, SKU: row.SKU,
			Err: fmt.Errorf("duplicates line %d (same sku and render inputs)", first)}
	}
	return row, nil
}

// Defaults are the render settings for rows that leave them empty. A zero
// field falls back to DefaultModel, DefaultDuration or DefaultAspectRatio.
type Defaults struct {
	Model       string
	Duration    creativeai.Duration
	AspectRatio string
}

// Apply returns r with its empty render settings filled in from d.
func (d Defaults) Apply(r Row) Row {
	r.Model = firstNonEmpty(r.Model, d.Model, DefaultModel)
	r.AspectRatio = firstNonEmpty(r.AspectRatio, d.AspectRatio, DefaultAspectRatio)
	if r.Duration <= 0 {
		r.Duration = d.Duration
	}
	if r.Duration <= 0 {
		r.Duration = DefaultDuration
	}
	return r
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// RowKey returns the row's key: its SKU, "#", and a short hash of its render
// inputs (image_url, video_prompt, still_prompt, model, duration,
// aspect_ratio) after the defaults are applied. Rerunning a manifest finds
// the same keys, so tracked rows are skipped; changing a prompt or a default
// makes a new version of the row, which is rendered.
func RowKey(r Row, d Defaults) string {
	return keyOf(r.SKU, d.Apply(r).digest())
}

// keyOf makes a row key from the digest of the row with defaults applied.
func keyOf(sku string, resolved [sha256.Size]byte) string {
	return sku + "#" + hex.EncodeToString(resolved[:8])
}

// digest hashes the SKU and the render inputs as they are (before defaults).
// Each field is length-prefixed so no two different rows hash the same input.
func (r Row) digest() [sha256.Size]byte {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, f := range []string{"catalogvideo/row/v1", r.SKU, r.ImageURL, r.VideoPrompt, r.StillPrompt, r.Model, durationText(r.Duration), r.AspectRatio} {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		h.Write([]byte(f))
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

func durationText(d creativeai.Duration) string {
	if d <= 0 {
		return ""
	}
	return d.String()
}

// digestSet remembers row digests to find duplicate rows. It keeps 16 bytes
// of each digest: collisions among 128-bit prefixes are out of reach for any
// manifest.
type digestSet map[[16]byte]int

// add records the digest for line and reports the first line that had it.
func (s digestSet) add(sum [sha256.Size]byte, line int) (first int, dup bool) {
	k := [16]byte(sum[:16])
	if first, ok := s[k]; ok {
		return first, true
	}
	s[k] = line
	return 0, false
}
