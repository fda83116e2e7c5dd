package manifest_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/unicode"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
)

// read collects the rows, the row error texts and the warnings of a
// manifest named sheet.csv.
func read(t *testing.T, r io.Reader, opts ...manifest.Option) ([]manifest.Row, []string, []string, manifest.Stats) {
	t.Helper()
	rows, errs, warnings, st := readWith(t, r, "sheet.csv", opts...)
	return rows, rowErrorTexts(t, errs), warnings, st
}

// headerError returns the error NewReader gives for a manifest, which must
// be a *manifest.Error.
func headerError(t *testing.T, r io.Reader, opts ...manifest.Option) string {
	t.Helper()
	m, err := manifest.NewReader(r, "sheet.csv", opts...)
	var me *manifest.Error
	if m != nil || !errors.As(err, &me) {
		t.Fatalf("NewReader = %v, %v (%T); want only a *manifest.Error", m, err, err)
	}
	return err.Error()
}

func prompts(rows []manifest.Row) []string {
	var p []string
	for _, r := range rows {
		p = append(p, r.VideoPrompt)
	}
	return p
}

// cp1252 is a manifest as Excel's "CSV (Comma delimited)" saves it on
// Windows: smart quotes (0x93, 0x94), an e acute (0xE9) and an en dash
// (0x96) in windows-1252.
const cp1252 = "sku,image_url,video_prompt\r\n" +
	"A,https://cdn.example.com/a.jpg,\x93slow\x94 push \x96 caf\xe9 table\r\n" +
	"B,https://cdn.example.com/b.jpg,plain ASCII\r\n" +
	"C,https://cdn.example.com/c.jpg,\"two\r\nlines, the second caf\xe9\"\r\n"

func TestNotUTF8Refused(t *testing.T) {
	rows, errs, _, _ := read(t, strings.NewReader(cp1252))
	want := []string{
		`sheet.csv:2: video_prompt has byte 0x93, which is not UTF-8, at character 1 of the field: save the file as "CSV UTF-8", or name the encoding it was saved in, such as windows-1252 (sku "A")`,
		`sheet.csv:5: video_prompt has byte 0xE9, which is not UTF-8, at column 22, after "ines, the second caf": save the file as "CSV UTF-8", or name the encoding it was saved in, such as windows-1252 (sku "C")`,
	}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"plain ASCII"}, prompts(rows)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestNotUTF8InSKU(t *testing.T) {
	_, errs, _, _ := read(t, strings.NewReader("sku,image_url,video_prompt\nCAF\xc9-1,https://cdn.example.com/a.jpg,p\n"))
	want := []string{`sheet.csv:2: sku has byte 0xC9, which is not UTF-8, at character 4 of the field, after "CAF": save the file as "CSV UTF-8", or name the encoding it was saved in, such as windows-1252`}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestNotUTF8Header(t *testing.T) {
	got := headerError(t, strings.NewReader("sku,image_url,video_prompt,d\xe9tail\nA,https://x.example/a.jpg,p,\n"))
	want := `sheet.csv:1: header field 4 has byte 0xE9, which is not UTF-8, at character 2 of the field, after "d"`
	if !strings.HasPrefix(got, want) {
		t.Errorf("error\n got %q\nwant prefix %q", got, want)
	}
}

func TestUnknownColumnsNotChecked(t *testing.T) {
	// Bytes in a column the SDK does not read are never sent anywhere.
	rows, errs, _, _ := read(t, strings.NewReader("sku,image_url,video_prompt,notes\nA,https://x.example/a.jpg,p,caf\xe9\n"))
	if len(errs) > 0 || len(rows) != 1 {
		t.Errorf("got %d rows, errors %q; want the row", len(rows), errs)
	}
}

func TestWithEncoding(t *testing.T) {
	for _, name := range []string{"windows-1252", "Windows-1252", "cp1252", "latin1", "ISO-8859-1"} {
		t.Run(name, func(t *testing.T) {
			rows, errs, _, st := read(t, strings.NewReader(cp1252), manifest.WithEncoding(name))
			if len(errs) > 0 {
				t.Fatalf("errors: %q", errs)
			}
			want := []string{"“slow” push – café table", "plain ASCII", "two\nlines, the second café"}
			if diff := cmp.Diff(want, prompts(rows)); diff != "" {
				t.Errorf("prompts (-want +got):\n%s", diff)
			}
			if st.Encoding != "windows-1252" {
				t.Errorf("Stats.Encoding = %q, want windows-1252", st.Encoding)
			}
		})
	}
}

// TestWithEncodingOnUTF8File: a UTF-8 file read with a single-byte encoding
// named (a merchant passing -encoding windows-1252 out of habit) makes
// "cafÃ©" of "café"; the rows that hold such text are refused, saying the
// file is UTF-8, and ASCII rows, which read the same either way, go on.
func TestWithEncodingOnUTF8File(t *testing.T) {
	utf8File := "sku,image_url,video_prompt,collection\n" +
		"A,https://cdn.example.com/a.jpg,slow push – café table,\n" +
		"B,https://cdn.example.com/b.jpg,plain ASCII,\n" +
		"C,https://cdn.example.com/c.jpg,plain,Été\n"
	fix := `: the file is UTF-8 ("CSV UTF-8"); read it without naming an encoding`
	rows, errs, _, _ := read(t, strings.NewReader(utf8File), manifest.WithEncoding("windows-1252"))
	want := []string{
		`sheet.csv:2: video_prompt reads "slow push â€“ cafÃ© table", which is UTF-8 text decoded as windows-1252` + fix + ` (sku "A")`,
		`sheet.csv:4: collection reads "Ã‰tÃ©", which is UTF-8 text decoded as windows-1252` + fix + ` (sku "C")`,
	}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"plain ASCII"}, prompts(rows)); diff != "" {
		t.Errorf("prompts (-want +got):\n%s", diff)
	}

	// Any single-byte encoding: ISO-8859-15 too.
	_, errs, _, _ = read(t, strings.NewReader("sku,image_url,video_prompt\nD,https://cdn.example.com/d.jpg,café\n"), manifest.WithEncoding("iso-8859-15"))
	want = []string{`sheet.csv:2: video_prompt reads "cafÃ©", which is UTF-8 text decoded as iso-8859-15` + fix + ` (sku "D")`}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("iso-8859-15 errors (-want +got):\n%s", diff)
	}

	// Where UTF-8 bytes fall on a code a single-byte encoding leaves
	// undefined (0x9D of ”), the U+FFFD check already says so.
	_, errs, _, _ = read(t, strings.NewReader("sku,image_url,video_prompt\nE,https://cdn.example.com/e.jpg,”\n"), manifest.WithEncoding("windows-1252"))
	if len(errs) != 1 || !strings.Contains(errs[0], "decoded with the wrong encoding") {
		t.Errorf("errors %q, want the row refused for its U+FFFD", errs)
	}

	// The same text really saved in windows-1252 reads as it should.
	rows, errs, _, _ = read(t, strings.NewReader(cp1252), manifest.WithEncoding("windows-1252"))
	if len(errs) > 0 || len(rows) != 3 {
		t.Errorf("windows-1252 file: %d rows, errors %q; want 3 rows", len(rows), errs)
	}
}

func TestWithEncodingUTF8StillChecked(t *testing.T) {
	// Naming UTF-8 must not turn bad bytes into U+FFFD silently.
	_, errs, _, _ := read(t, strings.NewReader(cp1252), manifest.WithEncoding("utf-8"))
	if len(errs) != 2 || !strings.Contains(errs[0], "byte 0x93, which is not UTF-8") {
		t.Errorf("errors %q, want the two rows refused for their bytes", errs)
	}
}

func TestWithEncodingUnknown(t *testing.T) {
	for _, name := range []string{"klingon", "", "replacement"} {
		m, err := manifest.NewReader(strings.NewReader(cp1252), "sheet.csv", manifest.WithEncoding(name))
		var me *manifest.Error
		if m != nil || err == nil || errors.As(err, &me) {
			t.Errorf("WithEncoding(%q): got %v, %v; want an option error, not a *manifest.Error", name, m, err)
			continue
		}
		if !strings.Contains(err.Error(), "unknown text encoding") || !strings.Contains(err.Error(), "windows-1252") {
			t.Errorf("WithEncoding(%q): error %q does not name the problem and an example", name, err)
		}
	}
}

func TestReplacementCharacterRefused(t *testing.T) {
	// The file is valid UTF-8, but U+FFFD says an earlier step lost text.
	_, errs, _, _ := read(t, strings.NewReader("sku,image_url,video_prompt\nA,https://x.example/a.jpg,caf\uFFFD table\n"))
	want := []string{`sheet.csv:2: video_prompt has U+FFFD, the replacement character, at character 4 of the field, after "caf", where text was lost to a wrong encoding: retype the text, or save the file again from its source as "CSV UTF-8" (sku "A")`}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// unicodeText is a manifest as Excel's "Unicode Text" saves it: tabs, CRLF.
const unicodeText = "sku\timage_url\tvideo_prompt\r\n" +
	"A\thttps://cdn.example.com/a.jpg\t“slow” push, café table\r\n" +
	"B\thttps://cdn.example.com/b.jpg\t日本語のプロンプト\r\n"

func TestUTF16WithBOM(t *testing.T) {
	for _, tt := range []struct {
		name   string
		endian unicode.Endianness
	}{{"utf-16le", unicode.LittleEndian}, {"utf-16be", unicode.BigEndian}} {
		t.Run(tt.name, func(t *testing.T) {
			data, err := unicode.UTF16(tt.endian, unicode.UseBOM).NewEncoder().String(unicodeText)
			if err != nil {
				t.Fatal(err)
			}
			rows, errs, _, st := read(t, strings.NewReader(data))
			if len(errs) > 0 {
				t.Fatalf("errors: %q", errs)
			}
			if diff := cmp.Diff([]string{"“slow” push, café table", "日本語のプロンプト"}, prompts(rows)); diff != "" {
				t.Errorf("prompts (-want +got):\n%s", diff)
			}
			if rows[1].Line != 3 || st.Encoding != tt.name || st.Delimiter != '\t' {
				t.Errorf("line %d, stats %+v; want line 3, %s, tab", rows[1].Line, st, tt.name)
			}
		})
	}
}

func TestUTF16WithoutBOM(t *testing.T) {
	data, _ := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewEncoder().String(unicodeText)
	got := headerError(t, strings.NewReader(data))
	if want := "sheet.csv: starts with a NUL byte: it looks like UTF-16 text without a byte-order mark"; !strings.HasPrefix(got, want) {
		t.Errorf("error\n got %q\nwant prefix %q", got, want)
	}
	// Named, it is read.
	rows, errs, _, _ := read(t, strings.NewReader(data), manifest.WithEncoding("utf-16le"))
	if len(rows) != 2 || len(errs) > 0 {
		t.Errorf("with utf-16le named: %d rows, errors %q", len(rows), errs)
	}
}

// UTF-16 without a byte-order mark read as the wrong encoding makes a
// garbled header; the error names the encoding to give instead.
func TestUTF16WithoutBOMWrongEncoding(t *testing.T) {
	le, _ := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewEncoder().String(unicodeText)
	be, _ := unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewEncoder().String(unicodeText)
	for _, tt := range []struct{ name, data, named, want string }{
		{"le read as be", le, "utf-16be", "sheet.csv:1: the header reads \"猀欀甀\u0900椀洀\"…, UTF-16 read in the wrong byte order: the file is UTF-16 (little-endian), not utf-16be; name its encoding utf-16le instead, or save it as CSV UTF-8"},
		{"be read as le", be, "utf-16le", "sheet.csv:1: the header reads \"猀欀甀\u0900椀洀\"…, UTF-16 read in the wrong byte order: the file is UTF-16 (big-endian), not utf-16le; name its encoding utf-16be instead, or save it as CSV UTF-8"},
		{"le read as windows-1252", le, "windows-1252", `sheet.csv:1: the header is mostly NUL characters: the file is UTF-16 (little-endian) text, not windows-1252; name its encoding utf-16le instead, or save it as CSV UTF-8`},
		{"be read as iso-8859-15", be, "iso-8859-15", `sheet.csv:1: the header is mostly NUL characters: the file is UTF-16 (big-endian) text, not iso-8859-15; name its encoding utf-16be instead, or save it as CSV UTF-8`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := headerError(t, strings.NewReader(tt.data), manifest.WithEncoding(tt.named)); got != tt.want {
				t.Errorf("error\n got %q\nwant %q", got, tt.want)
			}
		})
	}
	// A header that only lacks a column is not taken for swapped UTF-16
	// for a character U+XX00.
	data, _ := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewEncoder().String("sku,image_url,怀\n")
	got := headerError(t, strings.NewReader(data), manifest.WithEncoding("utf-16le"))
	if !strings.Contains(got, "missing required column video_prompt") {
		t.Errorf("error %q, want the missing column", got)
	}
}

func TestUTF16LoneSurrogate(t *testing.T) {
	data, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String("sku\timage_url\tvideo_prompt\nA\thttps://x.example/a.jpg\tab")
	data += "\x00\xD8" + "c\x00\n\x00" // a high surrogate with no low one
	_, errs, _, _ := read(t, strings.NewReader(data))
	if len(errs) != 1 || !strings.Contains(errs[0], "sheet.csv:2: video_prompt has U+FFFD") {
		t.Errorf("errors %q, want the row refused for U+FFFD", errs)
	}
}

func TestDelimiters(t *testing.T) {
	tests := []struct {
		name, csv string
		delim     rune
		lines     []int
	}{
		{"semicolons", "sku;image_url;video_prompt\nA;https://x.example/a.jpg;slow push, white sweep\nB;https://x.example/b.jpg;\"quoted; with a semicolon\"\n", ';', []int{2, 3}},
		{"tabs", "sku\timage_url\tvideo_prompt\nA\thttps://x.example/a.jpg\tslow push, white sweep\n", '\t', []int{2}},
		{"commas with semicolons in prompts", "sku,image_url,video_prompt\nA,https://x.example/a.jpg,slow push; white sweep\n", ',', []int{2}},
		{"sep line", "sep=;\r\nsku;image_url;video_prompt\r\nA;https://x.example/a.jpg;slow push, white sweep\r\n", ';', []int{3}},
		{"sep line names commas", "SEP=,\nsku,image_url,video_prompt\nA,https://x.example/a.jpg,p\n", ',', []int{3}},
		{"sep line names a tab", "sep=\t\nsku\timage_url\tvideo_prompt\nA\thttps://x.example/a.jpg\tp\n", '\t', []int{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, errs, _, st := read(t, strings.NewReader(tt.csv))
			if len(errs) > 0 {
				t.Fatalf("errors: %q", errs)
			}
			var lines []int
			for _, r := range rows {
				lines = append(lines, r.Line)
				if !strings.HasPrefix(r.ImageURL, "https://") || strings.ContainsAny(r.SKU, ",;\t") {
					t.Errorf("row split wrongly: %+v", r)
				}
			}
			if diff := cmp.Diff(tt.lines, lines); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			if st.Delimiter != tt.delim {
				t.Errorf("Stats.Delimiter = %q, want %q", st.Delimiter, tt.delim)
			}
		})
	}
	if rows, _, _, _ := read(t, strings.NewReader(tests[0].csv)); rows[0].VideoPrompt != "slow push, white sweep" || rows[1].VideoPrompt != "quoted; with a semicolon" {
		t.Errorf("semicolon prompts %q", prompts(rows))
	}
}

func TestSepLineKeepsLineNumbers(t *testing.T) {
	_, errs, _, _ := read(t, strings.NewReader("sep=;\nsku;image_url;video_prompt\nA;https://x.example/a.jpg;p\nB;x.example/b.jpg;p\n"))
	want := []string{`sheet.csv:4: image_url "x.example/b.jpg" is not an absolute http(s) URL (sku "B")`}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestDelimiterErrors(t *testing.T) {
	tests := []struct{ name, csv, want string }{
		{"pipes", "sku|image_url|video_prompt\nA|https://x.example/a.jpg|p\n",
			`sheet.csv:1: missing required column sku, image_url, video_prompt (the header has ["sku|image_url|video_prompt"]; no split at commas, semicolons or tabs gives the required columns)`},
		{"sep line disagrees", "sep=;\nsku,image_url,video_prompt\n",
			`sheet.csv:2: missing required column sku, image_url, video_prompt (the header has ["sku,image_url,video_prompt"], split at semicolons as line 1 "sep=;" asks)`},
		{"sep line names a quote", "sep=\"\nsku,image_url,video_prompt\n",
			`sheet.csv:1: line 1 "sep=\"" does not name a delimiter that can separate fields; write sep=, sep=; or a tab after sep=, or delete the line`},
		{"sep line names two", "sep=;;\nsku;image_url;video_prompt\n",
			`sheet.csv:1: line 1 "sep=;;" does not name a delimiter`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := headerError(t, strings.NewReader(tt.csv)); !strings.HasPrefix(got, tt.want) {
				t.Errorf("error\n got %q\nwant prefix %q", got, tt.want)
			}
		})
	}
}

func TestClassicMacLineEnds(t *testing.T) {
	csv := "sku,image_url,video_prompt\rA,https://x.example/a.jpg,p\rB,https://x.example/b.jpg,\"two\rlines\"\rC,x.example/c.jpg,p\r"
	rows, errs, _, _ := read(t, strings.NewReader(csv))
	if diff := cmp.Diff([]string{`sheet.csv:5: image_url "x.example/c.jpg" is not an absolute http(s) URL (sku "C")`}, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if len(rows) != 2 || rows[1].Line != 3 || rows[1].VideoPrompt != "two\nlines" {
		t.Errorf("rows %+v; want A on 2 and B on 3 with a two-line prompt", rows)
	}
}

func TestLineEndsReadInPieces(t *testing.T) {
	// A CR at the end of one read and its LF at the start of the next are
	// one line end, not two.
	for _, csv := range []string{
		"sku,image_url,video_prompt\r\nA,https://x.example/a.jpg,p\r\n\r\nB,x.example/b.jpg,p\r\n",
		"sku,image_url,video_prompt\rA,https://x.example/a.jpg,p\r\rB,x.example/b.jpg,p",
	} {
		rows, errs, _, _ := read(t, iotest.OneByteReader(strings.NewReader(csv)))
		if len(rows) != 1 || rows[0].Line != 2 || len(errs) != 1 || !strings.HasPrefix(errs[0], "sheet.csv:4: image_url") {
			t.Errorf("%q: rows %+v, errors %q; want A on line 2 and an error on line 4", csv, rows, errs)
		}
	}
}

func TestSKUScientificNotation(t *testing.T) {
	csv := "sku,image_url,video_prompt\n" +
		"1.23457E+11,https://x.example/a.jpg,p\n" +
		"4E+15,https://x.example/b.jpg,p\n" +
		"7.1e-05,https://x.example/c.jpg,p\n" +
		"SKU-1E+5,https://x.example/d.jpg,p\n" + // a real SKU: letters
		"12E34,https://x.example/e.jpg,p\n" // no sign: spreadsheets write one
	rows, errs, _, _ := read(t, strings.NewReader(csv))
	fix := "is a number in scientific notation, as a spreadsheet shows a long numeric SKU, and its digits are lost; format the column as Text, enter the SKUs again, and save"
	want := []string{
		`sheet.csv:2: sku "1.23457E+11" ` + fix,
		`sheet.csv:3: sku "4E+15" ` + fix,
		`sheet.csv:4: sku "7.1e-05" ` + fix,
	}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if len(rows) != 2 || rows[0].SKU != "SKU-1E+5" || rows[1].SKU != "12E34" {
		t.Errorf("rows %+v, want SKU-1E+5 and 12E34", rows)
	}
}

func TestSKUSpacesWarned(t *testing.T) {
	csv := "sku,image_url,video_prompt\n" +
		" SKU-1 ,https://x.example/a.jpg,p\n" +
		"SKU-2, https://x.example/b.jpg ,  p  \n" + // spaces elsewhere are trimmed silently
		"\"SKU-3\t\",https://x.example/c.jpg,p\n"
	rows, errs, warnings, st := read(t, strings.NewReader(csv))
	if len(errs) > 0 {
		t.Fatalf("errors: %q", errs)
	}
	var skus []string
	for _, r := range rows {
		skus = append(skus, r.SKU)
	}
	if diff := cmp.Diff([]string{"SKU-1", "SKU-2", "SKU-3"}, skus); diff != "" {
		t.Errorf("skus (-want +got):\n%s", diff)
	}
	want := []string{
		`sheet.csv:2: warning: sku " SKU-1 " has spaces around it, which no store SKU has; read as "SKU-1": remove the spaces in the file`,
		`sheet.csv:4: warning: sku "SKU-3\t" has spaces around it, which no store SKU has; read as "SKU-3": remove the spaces in the file`,
	}
	if diff := cmp.Diff(want, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if st.Warnings != 2 || st.Rows != 3 {
		t.Errorf("stats %+v, want 2 warnings and 3 rows", st)
	}
}

func TestEmptyColumnsAndRows(t *testing.T) {
	csv := "sku,image_url,,video_prompt,,\n" +
		"A,https://x.example/a.jpg,,p,,\n" +
		",,,,,\n" +
		" , ,\t, ,,\n" +
		",,\n" + // a short row of commas is still only commas
		"B,https://x.example/b.jpg,,p,,\n" +
		"C,x.example/c.jpg,,p,,\n"
	rows, errs, _, st := read(t, strings.NewReader(csv))
	if diff := cmp.Diff([]string{`sheet.csv:7: image_url "x.example/c.jpg" is not an absolute http(s) URL (sku "C")`}, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if len(rows) != 2 || rows[1].Line != 6 {
		t.Errorf("rows %+v, want A on 2 and B on 6", rows)
	}
	want := manifest.Stats{Encoding: "utf-8", Delimiter: ',', UnnamedColumns: 3, EmptyRows: 3, Rows: 2, Invalid: 1}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestEmptyRowsSemicolons(t *testing.T) {
	_, _, _, st := read(t, strings.NewReader("sku;image_url;video_prompt\n;;\nA;https://x.example/a.jpg;p\n;;\n"))
	if st.EmptyRows != 2 || st.Rows != 1 {
		t.Errorf("stats %+v, want 2 empty rows and 1 row", st)
	}
}

func TestLookupEncoding(t *testing.T) {
	for name, want := range map[string]string{"cp1252": "windows-1252", "Shift_JIS": "shift_jis", "utf-16le": "utf-16le", "ISO-8859-15": "iso-8859-15", " utf8 ": "utf-8"} {
		if _, got, err := manifest.LookupEncoding(name); err != nil || got != want {
			t.Errorf("LookupEncoding(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestByteOrderMarkWinsOverWithEncoding(t *testing.T) {
	csv := "\ufeffsku,image_url,video_prompt\nA,https://x.example/a.jpg,café\n"
	rows, errs, _, st := read(t, strings.NewReader(csv), manifest.WithEncoding("windows-1252"))
	if len(errs) > 0 || len(rows) != 1 || rows[0].VideoPrompt != "café" || st.Encoding != "utf-8" {
		t.Errorf("rows %+v, errors %q, stats %+v; want café read as UTF-8", rows, errs, st)
	}
}
