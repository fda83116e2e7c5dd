package manifest

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"

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

// column indexes into manifestColumns and into Reader.index.
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
	// Product is what prompt templates use besides the columns above (see
	// [Templates]); nil when the reader recorded nothing more.
	Product *Product
	// Template and TemplateVersion name the prompt template that wrote
	// VideoPrompt and its version; both are empty when the manifest gave
	// the prompt.
	Template, TemplateVersion string
	// File and Line locate the row in its manifest (Line is 1-based); they
	// are empty for rows that did not come from a file.
	File string
	Line int
}

// Validate reports the first problem that keeps r from being submitted, as a
// *RowError naming the column: an empty sku or video_prompt, a control
// character in sku, collection, target_surface or model, a NUL in a prompt,
// a prompt longer than [MaxPromptBytes], an image_url that is not an
// absolute http(s) URL, or an invalid aspect ratio.
func (r Row) Validate() error {
	if col, err := r.check(); err != nil {
		return &RowError{File: r.File, Line: r.Line, Column: manifestColumns[col], SKU: r.SKU, Err: err}
	}
	return nil
}

// check is Validate without the wrapping; it returns the offending column.
func (r Row) check() (int, error) { return r.checkWith(true) }

// checkWith is check, with the prompt optional when promptRequired is false:
// a reader whose prompts come from templates checks the rest before the
// template writes the prompt.
func (r Row) checkWith(promptRequired bool) (int, error) {
	switch {
	case r.SKU == "":
		return colSKU, errors.New("is empty")
	case r.ImageURL == "":
		return colImageURL, errors.New("is empty")
	}
	// A control character never belongs in a name, and a NUL in any text
	// is refused by PostgreSQL, which would stop the whole run at this row.
	for _, f := range []struct {
		col  int
		text string
	}{{colSKU, r.SKU}, {colCollection, r.Collection}, {colTargetSurface, r.TargetSurface}, {colModel, r.Model}} {
		if err := checkControl(f.text, unicode.IsControl); err != nil {
			return f.col, err
		}
	}
	for _, f := range []struct {
		col  int
		text string
	}{{colVideoPrompt, r.VideoPrompt}, {colStillPrompt, r.StillPrompt}} {
		if err := checkControl(f.text, func(c rune) bool { return c == 0 }); err != nil {
			return f.col, err
		}
		if len(f.text) > MaxPromptBytes {
			return f.col, fmt.Errorf("is %d bytes long, more than the %d (16 KiB) a prompt may have: shorten it", len(f.text), MaxPromptBytes)
		}
	}
	if err := checkImageURL(r.ImageURL); err != nil {
		return colImageURL, err
	}
	if r.VideoPrompt == "" && promptRequired {
		return colVideoPrompt, errors.New("is empty")
	}
	if r.AspectRatio != "" {
		if err := CheckAspectRatio(r.AspectRatio); err != nil {
			return colAspectRatio, err
		}
	}
	return 0, nil
}

// checkControl reports the first character of s that bad refuses, by its
// code point and its position, so that it can be found in a spreadsheet
// that shows nothing there.
func checkControl(s string, bad func(rune) bool) error {
	n := 0
	for _, c := range s {
		n++
		if bad(c) {
			return fmt.Errorf("has the control character %U at character %d, which shows as nothing in a spreadsheet: "+
				"delete it (retype the field), or save the file again from its source as \"CSV UTF-8\"", c, n)
		}
	}
	return nil
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

// CheckAspectRatio returns an error unless s is an aspect ratio W:H of
// positive whole numbers of at most 4 digits each, such as "16:9".
func CheckAspectRatio(s string) error {
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
