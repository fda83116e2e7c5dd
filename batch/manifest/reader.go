package manifest

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// Reader reads manifest rows from CSV one at a time, so a file of any
// size is read in constant memory, apart from the sets of row digests kept
// to report duplicate rows and rows of one SKU and surface (16 bytes and a
// line number per row each).
type Reader struct {
	name   string
	cr     *csv.Reader
	index  [numColumns]int // field index of each known column, -1 if absent
	fields int             // number of header fields
	skip   int             // lines before encoding/csv's first line (a sep= line)
	seen   DigestSet
	// surfaces finds rows of one SKU and target_surface (see surfaceDigest).
	surfaces DigestSet
	read     bool
	warn     func(Warning)
	stats    Stats
	// promptsFromTemplates leaves video_prompt to the templates Open applies.
	promptsFromTemplates bool
	keys                 []string // header names as columnKey makes them, for Row.Product
	// products makes row fill Row.Product (see Reader.RecordProducts).
	products bool
	// legacy is the single-byte encoding the text was decoded from, nil
	// for UTF-8 and UTF-16: with it, row looks for UTF-8 read as legacy.
	legacy *charmap.Charmap
}

// Stats describes how a manifest was read. Rows has its final value once
// Rows has been ranged over to the end.
type Stats struct {
	// Encoding is the text encoding read: "utf-8", "utf-16le" or "utf-16be"
	// from a byte-order mark, or the canonical name of WithEncoding's.
	Encoding string
	// Delimiter separates the fields: ',', ';' or '\t' detected from the
	// header, or what a "sep=" first line names.
	Delimiter rune
	// UnnamedColumns counts header fields with no name. Like columns the
	// SDK does not know, they are ignored.
	UnnamedColumns int
	// EmptyRows counts rows of only delimiters and spaces, which are
	// skipped. (Empty lines are skipped too, and not counted.)
	EmptyRows int
	// Rows counts the rows yielded without an error, Invalid those yielded
	// as a *RowError, and Warnings the Warning values reported.
	Rows, Invalid, Warnings int
}

// Stats returns what the reader has found so far.
func (m *Reader) Stats() Stats { return m.stats }

// Warning is something about a row it yields that the reader tells the
// user to fix in the source: a SKU with spaces around it, which a
// spreadsheet keeps but no store matches (the reader removes them), or a
// row with the SKU and target_surface of an earlier row and other render
// inputs, whose video will replace the earlier row's on the product.
type Warning struct {
	File string
	// Line is the row's first line (1-based).
	Line int
	// OtherLine is the earlier row's first line for a row of the same SKU
	// and target_surface; 0 for other warnings.
	OtherLine int
	// Column is the header name of the field concerned.
	Column string
	// SKU is the row's SKU as yielded.
	SKU string
	// Message says what was changed and how to fix the source.
	Message string
}

// String formats the warning as "file:line: warning: column message".
func (w Warning) String() string {
	return position(w.File, w.Line) + ": warning: " + w.Column + " " + w.Message
}

// NewReader reads the header of the manifest in r and returns a reader for
// its rows. name identifies the manifest in errors, usually its path. Header
// problems — no header, a missing required column (sku, image_url,
// video_prompt), a column given twice, text that is not UTF-8 — are returned
// here as an *Error, before any row is read; a bad Option is an error that
// is not an *Error.
//
// What is read, as spreadsheets save it:
//
//   - Text is UTF-8, with or without a byte-order mark. UTF-16 with a
//     byte-order mark (Excel's "Unicode Text") is decoded. Other encodings,
//     such as the windows-1252 of Excel's "CSV (Comma delimited)", are read
//     only when named with [WithEncoding]; otherwise their bytes are row
//     errors naming the line, the column and the byte, never passed on.
//     Nor is U+FFFD, the replacement character, in any column the SDK
//     reads: it means text was already damaged by a wrong decoding.
//   - Fields are separated by commas, semicolons or tabs, whichever splits
//     the header into the required columns; an Excel "sep=X" first line
//     names the delimiter instead. Fields may be quoted, with doubled quotes
//     inside.
//   - Lines end with LF, CRLF, or CR alone (classic Mac OS); a lone CR
//     becomes LF, inside quoted fields too.
//   - Header names are matched ignoring case and surrounding spaces;
//     unknown and unnamed columns are ignored, and rows of only delimiters
//     and spaces are skipped (both counted in [Reader.Stats]).
//
// Spreadsheets damage SKUs that look like numbers, and such a SKU never
// matches the store. The rule: a SKU in scientific notation, such as
// "1.23457E+11", is a row error (format the column as Text, re-enter the
// SKUs, and save again); spaces around a SKU, like those around every field,
// are removed, and for the SKU a [Warning] says so. Leading zeros a
// spreadsheet dropped ("00123" saved as "123") cannot be told from a real
// SKU and are not detected: format SKU columns as Text before typing or
// pasting them.
func NewReader(r io.Reader, name string, opts ...Option) (*Reader, error) {
	var c config
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
	}
	text, enc, err := decode(r, c)
	if err != nil {
		return nil, &Error{File: name, Err: err}
	}
	br := bufio.NewReaderSize(&stickyReader{r: transform.NewReader(text, crToLF{})}, 64<<10)
	required := requiredColumns
	if c.promptsFromTemplates {
		required = []int{colSKU, colImageURL}
	}
	comma, split, skip, err := sniffDelimiter(br, required)
	if err != nil {
		return nil, &Error{File: name, Line: 1, Err: err}
	}
	cr := csv.NewReader(br)
	cr.Comma = comma
	// Field counts are checked per row so a short row is a row error with a
	// clear message, not a fatal csv.ErrFieldCount.
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	m := &Reader{name: name, cr: cr, skip: skip, seen: make(DigestSet), surfaces: make(DigestSet), warn: c.warn,
		stats: Stats{Encoding: enc, Delimiter: comma}, promptsFromTemplates: c.promptsFromTemplates}
	if cm, ok := c.enc.(*charmap.Charmap); ok && enc == c.encName {
		m.legacy = cm
	}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &Error{File: name, Err: errors.New("empty manifest: no header line")}
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{File: name, Line: pe.StartLine + skip, Err: fmt.Errorf("header: %w", pe.Err)}
		}
		return nil, &Error{File: name, Err: err}
	}
	line := m.line(0)
	m.fields = len(header)
	m.keys = columnKeys(header)
	for i := range m.index {
		m.index[i] = -1
	}
	seen := make(map[string]bool, len(header))
	for i, h := range header {
		if at, err := checkText(h); err != nil {
			return nil, &Error{File: name, Line: line, Err: fmt.Errorf("header field %d %v", i+1, describe(h, at, err, enc != "utf-8"))}
		}
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			m.stats.UnnamedColumns++
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
	for _, c := range required {
		if m.index[c] < 0 {
			missing = append(missing, manifestColumns[c])
		}
	}
	if len(missing) > 0 {
		if err := misdecodedUTF16(header, enc); err != nil {
			return nil, &Error{File: name, Line: line, Err: err}
		}
		return nil, &Error{File: name, Line: line,
			Err: fmt.Errorf("missing required column %s (the header has %q%s)", strings.Join(missing, ", "), header, split)}
	}
	return m, nil
}

// line returns the line of field i of the last record read.
func (m *Reader) line(i int) int {
	l, _ := m.cr.FieldPos(i)
	return l + m.skip
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
					where = fmt.Sprintf("line %d, character %d", pe.Line+m.skip, pe.Column)
				}
				m.stats.Invalid++
				re := &RowError{File: m.name, Line: pe.StartLine + m.skip, Err: fmt.Errorf("malformed CSV at %s: %w", where, pe.Err)}
				if !yield(Row{}, re) {
					return
				}
				continue
			}
			lastOffset = m.cr.InputOffset()
			if blank(rec) {
				m.stats.EmptyRows++
				continue
			}
			row, warnings, rerr := m.row(rec)
			if rerr != nil {
				m.stats.Invalid++
				if !yield(Row{}, rerr) {
					return
				}
				continue
			}
			for _, w := range warnings {
				m.stats.Warnings++
				if m.warn != nil {
					m.warn(w)
				}
			}
			m.stats.Rows++
			if !yield(row, nil) {
				return
			}
		}
	}
}

// blank reports whether a record holds only spaces: a line of delimiters,
// which spreadsheets write for rows that once had content.
func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// scientific matches what spreadsheets make of long numeric SKUs, such as
// 1.23457E+11: the sign after E is always written.
var scientific = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?[eE][+-][0-9]+$`)

// row converts one record, checking it field by field.
func (m *Reader) row(rec []string) (Row, []Warning, *RowError) {
	start := m.line(0)
	if len(rec) != m.fields {
		re := &RowError{File: m.name, Line: start, Err: fieldCount(len(rec), m.fields, m.stats.Delimiter)}
		if i := m.index[colSKU]; i < len(rec) {
			re.SKU = strings.TrimSpace(rec[i])
		}
		return Row{}, nil, re
	}
	get := func(c int) string {
		if i := m.index[c]; i >= 0 {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	sku := get(colSKU)
	fail := func(c int, err error) *RowError {
		line := start
		if i := m.index[c]; i >= 0 {
			line = m.line(i)
		}
		return &RowError{File: m.name, Line: line, Column: manifestColumns[c], SKU: sku, Err: err}
	}
	for c, i := range m.index {
		if i < 0 {
			continue
		}
		if at, err := checkText(rec[i]); err != nil {
			re := fail(c, describe(rec[i], at, err, m.stats.Encoding != "utf-8"))
			re.Line += strings.Count(rec[i][:at], "\n")
			if c == colSKU {
				re.SKU = ""
			}
			return Row{}, nil, re
		}
		if m.legacy != nil && misread(m.legacy, rec[i]) {
			return Row{}, nil, fail(c, fmt.Errorf("reads %q, which is UTF-8 text decoded as %s: the file is UTF-8 (\"CSV UTF-8\"); read it without naming an encoding",
				excerpt(rec[i]), m.stats.Encoding))
		}
	}
	row := Row{
		SKU:           sku,
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
	if scientific.MatchString(sku) {
		return Row{}, nil, fail(colSKU, fmt.Errorf("%q is a number in scientific notation, as a spreadsheet shows a long numeric SKU, and its digits are lost; "+
			"format the column as Text, enter the SKUs again, and save", sku))
	}
	if d := get(colDuration); d != "" {
		v, err := ParseDuration(d)
		if err != nil {
			return Row{}, nil, fail(colDuration, err)
		}
		row.Duration = v
	}
	if c, err := row.checkWith(!m.promptsFromTemplates); err != nil {
		return Row{}, nil, fail(c, err)
	}
	if first, dup := m.seen.Add(row.Digest(), start); dup {
		return Row{}, nil, &RowError{File: m.name, Line: start, SKU: row.SKU,
			Err: fmt.Errorf("duplicates line %d (same sku and render inputs)", first)}
	}
	var ws []Warning
	if raw := rec[m.index[colSKU]]; raw != sku {
		ws = append(ws, Warning{File: m.name, Line: m.line(m.index[colSKU]), Column: ColumnSKU, SKU: sku,
			Message: fmt.Sprintf("%q has spaces around it, which no store SKU has; read as %q: remove the spaces in the file", raw, sku)})
	}
	// Rows without a target_surface are delivered nowhere: they replace
	// nothing.
	if row.TargetSurface != "" {
		if first, dup := m.surfaces.Add(surfaceDigest(row), start); dup {
			ws = append(ws, m.replacesWarning(row, first))
		}
	}
	return row, ws, nil
}

// ParseDuration reads a clip length as the duration column holds it: "5s",
// "5", or a Go duration of whole seconds such as "1m" (see
// [creativeai.ParseDuration]), at least 1s and at most
// [creativeai.MaxDuration]. Its error starts with s quoted and says what is
// wrong and what to write instead.
func ParseDuration(s string) (creativeai.Duration, error) {
	v, err := creativeai.ParseDuration(s)
	if err == nil && v > 0 {
		return v, nil
	}
	t := strings.TrimSpace(s)
	d, perr := time.ParseDuration(t)
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		d, perr = time.Duration(n)*time.Second, nil
	}
	switch {
	case perr != nil:
		return 0, fmt.Errorf("%q is not a duration such as 5s", s)
	case d > creativeai.MaxDuration.Std():
		return 0, fmt.Errorf("%q is longer than %s (%s), the longest clip length taken; write the clip's length in seconds, such as 5s",
			s, creativeai.MaxDuration, strings.TrimSuffix(creativeai.MaxDuration.Std().String(), "0m0s"))
	case d < time.Second:
		return 0, fmt.Errorf("%q must be at least 1s", s)
	}
	return 0, fmt.Errorf("%q is not a whole number of seconds; write seconds such as 5s", s)
}

// misread reports whether s, decoded from cm, was UTF-8 text all along: its
// bytes in cm are valid UTF-8 with characters beyond ASCII ("café" saved as
// UTF-8 reads "cafÃ©" as windows-1252). Text really written in a
// single-byte encoding almost never forms such sequences, which need a
// letter such as Ã or Â followed by punctuation from 0x80–0xBF.
func misread(cm *charmap.Charmap, s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return false
	}
	raw, err := cm.NewEncoder().String(s)
	return err == nil && utf8.ValidString(raw)
}

// excerpt shortens s to its first 40 characters for a message.
func excerpt(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// fieldCount explains a row whose number of fields is not the header's, and
// how such rows come about.
func fieldCount(got, want int, delim rune) error {
	fix := fmt.Sprintf("put quotes around a field that holds %s, or remove the extra fields", delimiterName(delim))
	if got < want {
		fix = "give every column a field, even an empty one"
	}
	fields := "fields"
	if got == 1 {
		fields = "field"
	}
	return fmt.Errorf("has %d %s, the header has %d: %s", got, fields, want, fix)
}

// errNotUTF8 and errReplacement are what checkText finds.
var (
	errNotUTF8     = errors.New("not UTF-8")
	errReplacement = errors.New("U+FFFD")
)

// checkText returns the byte index of the first byte in s that is not UTF-8,
// or of the first U+FFFD, the replacement character that a decoder writes
// for text it could not read.
func checkText(s string) (int, error) {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i, errNotUTF8
			}
			return i, errReplacement
		}
	}
	return 0, nil
}

// describe explains the problem checkText found at byte at of s, quoting the
// text before it so the user can find it, and says how to fix it.
func describe(s string, at int, err error, named bool) error {
	nl := strings.LastIndexByte(s[:at], '\n')
	before := s[nl+1 : at]
	n := utf8.RuneCountInString(before)
	// On the field's first line, quotes around the field and doubled quotes
	// inside it make the column in the file unknown.
	where := fmt.Sprintf("at character %d of the field", n+1)
	if nl >= 0 {
		where = fmt.Sprintf("at column %d", n+1)
	}
	if n > 20 {
		before = string([]rune(before)[n-20:])
	}
	if before != "" {
		where += fmt.Sprintf(", after %q", before)
	}
	if err == errNotUTF8 {
		return fmt.Errorf("has byte 0x%02X, which is not UTF-8, %s: save the file as \"CSV UTF-8\", "+
			"or name the encoding it was saved in, such as windows-1252", s[at], where)
	}
	fix := "retype the text, or save the file again from its source as \"CSV UTF-8\""
	if named {
		fix = "the file was decoded with the wrong encoding, or damaged before: name the encoding it was saved in, or " + fix
	}
	return fmt.Errorf("has U+FFFD, the replacement character, %s, where text was lost to a wrong encoding: %s", where, fix)
}
