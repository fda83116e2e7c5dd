package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
)

// TemplateFlagHelp describes the -template flag of the programs that read
// manifests.
const TemplateFlagHelp = "prompt templates `file`: {{define \"NAME\"}}…{{end}} blocks of text/template, NAME a collection, a product type or \"default\"; they write every row's video_prompt (needed for a Shopify product export)"

// LoadTemplates reads and parses the -template file, or returns nil for "".
// A problem with the file is a *UsageError naming its line.
func LoadTemplates(path string) (*manifest.Templates, error) {
	if path == "" {
		return nil, nil
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, Invalidf("-template: %v", err)
	}
	t, err := manifest.ParseTemplates(path, string(text))
	if err != nil {
		return nil, Invalidf("-template: %v", err)
	}
	return t, nil
}

// PrintPrompt writes the prompt a row will be rendered with, and the
// template that wrote it, as -dry-run shows them.
func PrintPrompt(w io.Writer, row manifest.Row) {
	from := "from the manifest"
	if row.Template != "" {
		from = fmt.Sprintf("template %q version %s", row.Template, row.TemplateVersion)
	}
	fmt.Fprintf(w, "%s:%d: sku %q, %s:\n    %s\n", row.File, row.Line, row.SKU, from, row.VideoPrompt)
}
