package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/creativeai-run/catalogvideo/batch"
)

// CheckManifest reads a whole manifest and reports every problem before
// anything is sent: a header problem (a missing required column) at once,
// and each bad row as FILE:LINE on stderr. It calls each, if not nil, for
// every valid row, and returns the number of valid rows. Any problem is a
// *UsageError, so programs exit with ExitUsage and nothing submitted.
//
// It reads the manifest as a stream, in constant memory, so checking first
// costs a second read of the file but no memory.
func CheckManifest(r io.Reader, name string, stderr io.Writer, each func(batch.Row)) (int, error) {
	m, err := batch.NewManifestReader(r, name)
	if err != nil {
		return 0, Invalidf("%v", err)
	}
	valid, bad := 0, 0
	for row, err := range m.Rows() {
		if err == nil {
			err = row.Validate()
		}
		var re *batch.RowError
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
	switch {
	case bad == 1:
		return 0, Invalidf("%s: 1 invalid row; nothing was submitted", name)
	case bad > 1:
		return 0, Invalidf("%s: %d invalid rows; nothing was submitted", name, bad)
	case valid == 0:
		return 0, Invalidf("%s: the manifest has no rows", name)
	}
	return valid, nil
}
