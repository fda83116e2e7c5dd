package manifest_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
)

// FuzzManifest feeds arbitrary bytes to the manifest reader. Whatever the
// input, the reader must not panic or loop, must report header problems as
// *ManifestError and row problems as *RowError with a line number, must only
// yield rows that validate, and those rows must survive a round trip through
// encoding/csv unchanged.
func FuzzManifest(f *testing.F) {
	f.Add([]byte(seedManifest))
	f.Add([]byte("\ufeffSKU , Image_URL,video_prompt,duration,aspect_ratio,still_prompt\r\nA,https://x.example/a.jpg,\"a, \"\"b\"\"\",10s,9:16,\r\n"))
	f.Add([]byte("sku,image_url,video_prompt\nA,https://x.example/a.jpg,p\nA,https://x.example/a.jpg,p\n,,\n\"unterminated\n"))
	f.Add([]byte("sku,sku\n"))
	f.Add([]byte("sku,image_url,video_prompt,model\nA,http://h/p,\"multi\nline\",veo\nB,http://h/p,x\"y,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := manifest.NewReader(bytes.NewReader(data), "fuzz.csv")
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
			if row.Line < 2 || row.Line < lastLine || len(rows) > 0 && row.Line <= rows[len(rows)-1].Line {
				t.Fatalf("row on line %d after line %d", row.Line, lastLine)
			}
			lastLine = row.Line
			rows = append(rows, row)
		}
		if len(rows) > bytes.Count(data, []byte("\n"))+1 {
			t.Fatalf("%d rows from %d lines", len(rows), bytes.Count(data, []byte("\n"))+1)
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
