package manifest

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Option configures a Reader. A nil Option is skipped.
type Option func(*config) error

type config struct {
	enc     encoding.Encoding // nil: UTF-8, checked
	encName string
	warn    func(Warning)
	// promptsFromTemplates makes video_prompt optional: Open sets it when
	// templates write the prompts.
	promptsFromTemplates bool
}

// WithEncoding names the text encoding of a manifest that has no byte-order
// mark, such as "windows-1252" (what Excel's "CSV (Comma delimited)" writes
// on Windows in Western locales), "iso-8859-15", "shift_jis" or "utf-16le".
// The bytes are transcoded to UTF-8 before they are parsed. Names are looked
// up in the WHATWG Encoding Standard's index (golang.org/x/text/encoding/
// htmlindex) and then in IANA's character set registry (ianaindex), case
// insensitively; an unknown name is an error from NewReader. A byte-order
// mark in the file takes precedence over the name. Without this option a
// manifest must be UTF-8, and bytes that are not are row errors.
func WithEncoding(name string) Option {
	return func(c *config) error {
		enc, canonical, err := LookupEncoding(name)
		if err != nil {
			return err
		}
		c.enc, c.encName = enc, canonical
		if canonical == "utf-8" {
			c.enc = nil // read as is, so invalid bytes are reported, not replaced
		}
		return nil
	}
}

// promptsFromTemplates makes the video_prompt column optional, for Open
// when templates write the prompts.
func promptsFromTemplates() Option {
	return func(c *config) error {
		c.promptsFromTemplates = true
		return nil
	}
}

// WithWarnings calls fn, in row order and from the goroutine ranging over
// Rows, for each Warning about a row it yields: a SKU read without the
// spaces around it, and a row whose video will replace an earlier row's
// (the same SKU and target_surface with other render inputs).
func WithWarnings(fn func(Warning)) Option {
	return func(c *config) error {
		c.warn = fn
		return nil
	}
}

// LookupEncoding finds a text encoding by name, as WithEncoding does, and
// returns it with its canonical name (such as "windows-1252" for "cp1252" or
// "latin1"; WHATWG maps ISO-8859-1 labels to windows-1252, a superset).
func LookupEncoding(name string) (encoding.Encoding, string, error) {
	n := strings.TrimSpace(name)
	if enc, err := htmlindex.Get(n); err == nil {
		canonical, _ := htmlindex.Name(enc)
		if canonical != "replacement" { // it decodes every input to U+FFFD
			return enc, canonical, nil
		}
	}
	if enc, err := ianaindex.IANA.Encoding(n); err == nil && enc != nil {
		canonical, _ := ianaindex.IANA.Name(enc)
		return enc, strings.ToLower(canonical), nil
	}
	return nil, "", fmt.Errorf("unknown text encoding %q; use a name such as windows-1252, iso-8859-15, utf-16le or shift_jis", name)
}

// decode returns r as UTF-8 text, or as bytes that should be UTF-8 when no
// byte-order mark or named encoding says otherwise, and the encoding's name.
func decode(r io.Reader, c config) (io.Reader, string, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(3)
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}): // spreadsheets' "CSV UTF-8"
		_, _ = br.Discard(3)
		return br, "utf-8", nil
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}): // Excel's "Unicode Text"
		return transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()), "utf-16le", nil
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return transform.NewReader(br, unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder()), "utf-16be", nil
	case c.enc != nil:
		return transform.NewReader(br, c.enc.NewDecoder()), c.encName, nil
	case len(head) >= 2 && (head[0] == 0) != (head[1] == 0):
		return nil, "", errors.New("starts with a NUL byte: it looks like UTF-16 text without a byte-order mark; " +
			"save it as CSV UTF-8, or name its encoding (utf-16le or utf-16be)")
	}
	return br, cmp.Or(c.encName, "utf-8"), nil
}

// misdecodedUTF16 explains a header that UTF-16 text without a byte-order
// mark makes when read as the encoding enc names: mostly NULs when enc is a
// single-byte encoding (each ASCII letter's other byte), or mostly
// characters U+XX00 whose XX is ASCII when enc is UTF-16 of the other byte
// order. It returns nil for any other header.
func misdecodedUTF16(header []string, enc string) error {
	var n, nul, swapped int
	first := rune(-1)
	for _, h := range header {
		for _, r := range h {
			if first < 0 {
				first = r
			}
			n++
			switch {
			case r == 0:
				nul++
			case r > 0xFF && r < 0x8000 && r&0xFF == 0:
				swapped++
			}
		}
	}
	// A third is far above what any text holds, and far below what UTF-16
	// of a header (ASCII names) makes: half NULs, or nearly all swapped.
	switch {
	case n == 0:
		return nil
	case 3*nul >= n:
		order, name := "little-endian", "utf-16le"
		if first == 0 {
			order, name = "big-endian", "utf-16be"
		}
		return fmt.Errorf("the header is mostly NUL characters: the file is UTF-16 (%s) text, not %s; name its encoding %s instead, or save it as CSV UTF-8", order, enc, name)
	case 3*swapped >= n && (enc == "utf-16le" || enc == "utf-16be"):
		order, name := "big-endian", "utf-16be"
		if enc == "utf-16be" {
			order, name = "little-endian", "utf-16le"
		}
		head := []rune(strings.Join(header, ","))
		return fmt.Errorf("the header reads %q…, UTF-16 read in the wrong byte order: the file is UTF-16 (%s), not %s; name its encoding %s instead, or save it as CSV UTF-8",
			string(head[:min(len(head), 6)]), order, enc, name)
	}
	return nil
}

// crToLF turns a CR that no LF follows into an LF, so files saved with
// classic Mac line ends (CR only) read as lines: encoding/csv ends lines only
// at LF. CRLF is left for encoding/csv, which reads it as LF.
type crToLF struct{ transform.NopResetter }

func (crToLF) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		c := src[nSrc]
		if c == '\r' {
			switch {
			case nSrc+1 < len(src):
				if src[nSrc+1] != '\n' {
					c = '\n'
				}
			case !atEOF:
				return nDst, nSrc, transform.ErrShortSrc // is an LF next?
			default:
				c = '\n'
			}
		}
		if nDst == len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		dst[nDst] = c
		nDst++
		nSrc++
	}
	return nDst, nSrc, nil
}

// stickyReader repeats the first error of r, so that peeking at the start of
// a manifest cannot swallow a read error that Rows must report.
type stickyReader struct {
	r   io.Reader
	err error
}

func (s *stickyReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	s.err = err
	return n, err
}

// delimiters are the field separators detected from a header, in order of
// preference: spreadsheets write commas, or semicolons in locales whose
// decimal separator is a comma, or tabs ("Unicode Text", TSV).
var delimiters = []rune{',', ';', '\t'}

// sniffDelimiter reads the start of br without consuming it, apart from an
// Excel "sep=X" first line, which it consumes. It returns the delimiter, how
// it was chosen when that may explain a missing column (a note to append to
// the error), and the number of lines consumed.
func sniffDelimiter(br *bufio.Reader, required []int) (comma rune, why string, skipped int, err error) {
	data, _ := br.Peek(br.Size())
	line, _, _ := bytes.Cut(data, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) >= 4 && strings.EqualFold(string(line[:4]), "sep=") {
		sep := string(line[4:])
		r, size := utf8.DecodeRuneInString(sep)
		if size == 0 || size != len(sep) || !validDelim(r) {
			return 0, "", 0, fmt.Errorf("line 1 %q does not name a delimiter that can separate fields; write sep=, sep=; or a tab after sep=, or delete the line", line)
		}
		n := len(data)
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			n = i + 1
		}
		_, _ = br.Discard(n)
		return r, fmt.Sprintf(", split at %s as line 1 %q asks", delimiterName(r), line), 1, nil
	}
	best, bestFields := ',', 0
	for _, d := range delimiters {
		cr := csv.NewReader(bytes.NewReader(data))
		cr.Comma, cr.FieldsPerRecord, cr.LazyQuotes = d, -1, true
		header, err := cr.Read()
		if err != nil {
			continue
		}
		if hasRequired(header, required) {
			return d, "", 0, nil
		}
		if len(header) > bestFields {
			best, bestFields = d, len(header)
		}
	}
	if bestFields > 1 {
		return best, "", 0, nil // a missing column, not a wrong delimiter
	}
	return best, "; no split at commas, semicolons or tabs gives the required columns", 0, nil
}

// validDelim is encoding/csv's rule for Reader.Comma.
func validDelim(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}

func delimiterName(r rune) string {
	switch r {
	case ',':
		return "commas"
	case ';':
		return "semicolons"
	case '\t':
		return "tabs"
	}
	return fmt.Sprintf("%q", r)
}

func hasRequired(header []string, required []int) bool {
	for _, c := range required {
		found := false
		for _, h := range header {
			if strings.EqualFold(strings.TrimSpace(h), manifestColumns[c]) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
