package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
)

// CheckManifest reads a whole manifest and reports every problem before
// anything is sent: a header problem (a missing required column) at once,
// and each bad row as FILE:LINE on stderr, including rows that repeat an
// earlier one once the run's defaults fill their empty settings. It calls
// each, if not nil, for every valid row, and returns the number of valid
// rows. Any problem is a *UsageError, so programs exit with ExitUsage and
// nothing submitted.
//
// The file may be a manifest or a Shopify product export (see
// manifest.Open); templates, if not nil, write every row's prompt, and the
// variants of an export that are skipped are listed on stderr. Warnings (a
// SKU read without its surrounding spaces, a row whose video replaces an
// earlier row's) and a note of the rows and
// columns skipped as empty go to stderr too; opts are passed to
// manifest.Open.
//
// It reads the manifest as a stream; what it keeps per row is the row's key,
// to find repeats.
func CheckManifest(r io.Reader, name string, defaults manifest.Defaults, templates *manifest.Templates, stderr io.Writer, each func(manifest.Row), opts ...manifest.Option) (int, error) {
	opts = append(opts, manifest.WithWarnings(func(w manifest.Warning) { fmt.Fprintln(stderr, w) }))
	m, err := manifest.Open(r, name, templates, func(s manifest.SkippedRow) { fmt.Fprintln(stderr, s) }, opts...)
	if err != nil {
		return 0, Invalidf("%v", err)
	}
	defer func() {
		if st := m.Stats(); st.EmptyRows > 0 || st.UnnamedColumns > 0 {
			fmt.Fprintf(stderr, "%s: skipped %s of only delimiters and %s with no name\n",
				name, plural(st.EmptyRows, "row"), plural(st.UnnamedColumns, "column"))
		}
	}()
	valid, bad := 0, 0
	firstLine := map[string]int{} // row key → line
	for row, err := range m.Rows() {
		if err == nil {
			err = row.Validate()
		}
		if err == nil {
			key := manifest.RowKey(row, defaults)
			if first, dup := firstLine[key]; dup {
				err = &manifest.RowError{File: name, Line: row.Line, SKU: row.SKU,
					Err: fmt.Errorf("repeats line %d once defaults apply (same sku and render inputs)", first)}
			} else {
				firstLine[key] = row.Line
			}
		}
		var re *manifest.RowError
		switch {
		case err == nil:
			valid++
			if each != nil {
				each(row)
			}
		case errors.As(err, &re):
			bad++
			if re.File == "" {
				re.File = name // Row.Validate does not know the file
			}
			fmt.Fprintln(stderr, re)
		default:
			return 0, Invalidf("manifest %s: %v", name, err)
		}
	}
	if n := m.Skipped(); n > 0 {
		fmt.Fprintf(stderr, "%s: %d variants skipped for no SKU or no image (listed above); they are not errors\n", name, n)
	}
	switch {
	case bad == 1:
		return 0, Invalidf("%s: 1 invalid row; nothing was submitted", name)
	case bad > 1:
		return 0, Invalidf("%s: %d invalid rows; nothing was submitted", name, bad)
	case valid == 0 && m.Skipped() > 0:
		return 0, Invalidf("%s: every variant of the export was skipped (see above); nothing to submit", name)
	case valid == 0:
		return 0, Invalidf("%s: the manifest has no rows", name)
	}
	return valid, nil
}

// EncodingOption checks the -encoding flag's value and returns the manifest
// option for it, or nil for "" (the manifest is UTF-8).
func EncodingOption(name string) (manifest.Option, error) {
	if name == "" {
		return nil, nil
	}
	if _, _, err := manifest.LookupEncoding(name); err != nil {
		return nil, Usagef("-encoding: %v", err)
	}
	return manifest.WithEncoding(name), nil
}

// EncodingFlagHelp describes the -encoding flag of the programs that read
// manifests.
const EncodingFlagHelp = "text `encoding` of a -csv file that is not UTF-8 and has no byte-order mark, such as windows-1252 (Excel's \"CSV\" on Windows)"

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
