package manifest_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// FuzzManifest feeds arbitrary bytes to the manifest reader, as UTF-8 or as
// windows-1252 named. Whatever the input, the reader must not panic or loop,
// must report header problems as *manifest.Error and row problems as
// *RowError with a line number, must only yield rows that validate, whose
// text is UTF-8 without U+FFFD and whose SKU has no surrounding spaces and no
// scientific notation, must count what it yields in Stats, and those rows
// must survive a round trip through encoding/csv unchanged.
// spreadsheetNumber is the reader's documented rule for SKUs in scientific
// notation, written out again.
var spreadsheetNumber = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?[eE][+-][0-9]+$`)

func FuzzManifest(f *testing.F) {
	f.Add([]byte(seedManifest), false)
	f.Add([]byte("\ufeffSKU , Image_URL,video_prompt,duration,aspect_ratio,still_prompt\r\nA,https://x.example/a.jpg,\"a, \"\"b\"\"\",10s,9:16,\r\n"), false)
	f.Add([]byte("sku,image_url,video_prompt\nA,https://x.example/a.jpg,p\nA,https://x.example/a.jpg,p\n,,\n\"unterminated\n"), false)
	f.Add([]byte("sku,sku\n"), false)
	f.Add([]byte("sku,image_url,video_prompt,model\nA,http://h/p,\"multi\nline\",veo\nB,http://h/p,x\"y,\n"), false)
	f.Add([]byte("sku,image_url,video_prompt\r\nA,https://x.example/a.jpg,\x93caf\xe9\x94\r\n"), true)
	f.Add([]byte("sku,image_url,video_prompt\r\nA,https://x.example/a.jpg,\x93caf\xe9\x94\r\n"), false)
	f.Add([]byte("\xff\xfes\x00k\x00u\x00\t\x00i\x00m\x00a\x00g\x00e\x00_\x00u\x00r\x00l\x00\t\x00v\x00i\x00d\x00e\x00o\x00_\x00p\x00r\x00o\x00m\x00p\x00t\x00\n\x00"), false)
	f.Add([]byte("sep=;\nsku;image_url;video_prompt\nA;https://x.example/a.jpg;p, q\n;;\n"), false)
	f.Add([]byte("sku,image_url,video_prompt,,\r1.23457E+11,https://x.example/a.jpg,p,,\r  B ,https://x.example/b.jpg,p\uFFFD,,\r,,,,\r"), false)
	f.Fuzz(func(t *testing.T, data []byte, windows1252 bool) {
		var opts []manifest.Option
		if windows1252 {
			opts = append(opts, manifest.WithEncoding("windows-1252"))
		}
		m, err := manifest.NewReader(bytes.NewReader(data), "fuzz.csv", opts...)
		if err != nil {
			var me *manifest.Error
			if !errors.As(err, &me) || m != nil {
				t.Fatalf("NewManifestReader: %v (%T), reader %v; want only a *ManifestError", err, err, m)
			}
			return
		}
		var rows []manifest.Row
		lastLine := 1
		for row, err := range m.Rows() {
			if err != nil {
				var re *manifest.RowError
				if !errors.As(err, &re) {
					t.Fatalf("row error %v (%T) is not a *RowError", err, err)
				}
				if re.Line < lastLine {
					t.Fatalf("row error on line %d after line %d: %v", re.Line, lastLine, err)
				}
				lastLine = re.Line
				continue
			}
			if err := row.Validate(); err != nil {
				t.Fatalf("yielded an invalid row: %v", err)
			}
			for _, s := range []string{row.SKU, row.ImageURL, row.VideoPrompt, row.Collection, row.TargetSurface, row.Model, row.AspectRatio, row.StillPrompt} {
				if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
					t.Fatalf("yielded text that is not clean UTF-8: %q", s)
				}
			}
			if row.SKU != strings.TrimSpace(row.SKU) || spreadsheetNumber.MatchString(row.SKU) {
				t.Fatalf("yielded a damaged SKU %q", row.SKU)
			}
			if row.Line < 2 || row.Line < lastLine || len(rows) > 0 && row.Line <= rows[len(rows)-1].Line {
				t.Fatalf("row on line %d after line %d", row.Line, lastLine)
			}
			lastLine = row.Line
			rows = append(rows, row)
		}
		// Every line end is an LF or a CR, in UTF-8 or UTF-16.
		if ends := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")); len(rows) > ends+1 {
			t.Fatalf("%d rows from %d line ends", len(rows), ends)
		}
		if st := m.Stats(); st.Rows != len(rows) {
			t.Fatalf("Stats().Rows = %d, yielded %d", st.Rows, len(rows))
		}

		// Round trip: write the rows back as CSV and read them again.
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		_ = w.Write([]string{"sku", "image_url", "video_prompt", "collection", "target_surface", "model", "duration", "aspect_ratio", "still_prompt"})
		for _, r := range rows {
			d := ""
			if r.Duration > 0 {
				d = r.Duration.String()
			}
			_ = w.Write([]string{r.SKU, r.ImageURL, r.VideoPrompt, r.Collection, r.TargetSurface, r.Model, d, r.AspectRatio, r.StillPrompt})
		}
		w.Flush()
		m2, err := manifest.NewReader(&buf, "again.csv")
		if err != nil {
			t.Fatalf("re-reading written rows: %v", err)
		}
		var again []manifest.Row
		for row, err := range m2.Rows() {
			if err != nil {
				t.Fatalf("re-reading written rows: %v", err)
			}
			row.File, row.Line = "", 0
			again = append(again, row)
		}
		for i := range rows {
			rows[i].File, rows[i].Line = "", 0
		}
		if diff := cmp.Diff(rows, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip changed the rows (-first +second):\n%s", diff)
		}
	})
}

// FuzzParseDuration checks that a duration is accepted exactly when the
// client takes it and it is at least 1s, and that a refusal quotes the text.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"5s", "5", "1m", "99999h", "0", "-5s", "1.5s", "5 minutes", "86401", "9999999999999999999999h", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := manifest.ParseDuration(s)
		want, werr := creativeai.ParseDuration(s)
		switch {
		case werr == nil && want > 0:
			if err != nil || got != want {
				t.Fatalf("ParseDuration(%q) = %v, %v; the client reads %v", s, got, err, want)
			}
		case err == nil:
			t.Fatalf("ParseDuration(%q) = %v; the client says %v, %v", s, got, want, werr)
		case !strings.HasPrefix(err.Error(), strconv.Quote(s)):
			t.Fatalf("ParseDuration(%q) error %q does not start with the text", s, err)
		}
	})
}
