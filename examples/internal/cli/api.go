package cli

import (
	"errors"
	"io"
	"log/slog"
	"os"

	"golang.org/x/term"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// NewAPIClient returns a client for the live render API from the
// environment: CREATIVEAI_API_KEY, and CREATIVEAI_BASE_URL when set.
func NewAPIClient(env Env, program string, logger *slog.Logger, opts ...creativeai.Option) (*creativeai.Client, error) {
	base := []creativeai.Option{
		creativeai.WithUserAgent("catalogvideo-" + program),
		creativeai.WithLogger(logger),
	}
	if env.BaseURL != "" {
		base = append(base, creativeai.WithBaseURL(env.BaseURL))
	}
	return creativeai.NewClient(env.APIKey, append(base, opts...)...)
}

// NewLogger returns the programs' logger: text records on w from level up,
// or from Debug when verbose. Batch programs pass Warn; the long-running
// server passes Info, so that each delivery leaves a line for its operators.
func NewLogger(w io.Writer, level slog.Level, verbose bool) *slog.Logger {
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// IsTerminal reports whether w is a terminal, where progress bars make sense;
// redirected output gets plain lines instead.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// CheckAspectRatio reports whether s is an aspect ratio the manifest reader
// accepts (W:H with positive whole numbers, such as 16:9). It asks batch's
// own row validation, so a flag and a manifest column follow one rule.
func CheckAspectRatio(s string) error {
	probe := manifest.Row{SKU: "probe", ImageURL: "https://example.com/probe.jpg", VideoPrompt: "probe", AspectRatio: s}
	if s == "" {
		return errors.New("is empty")
	}
	var re *manifest.RowError
	if err := probe.Validate(); errors.As(err, &re) {
		return re.Err
	} else if err != nil {
		return err
	}
	return nil
}
