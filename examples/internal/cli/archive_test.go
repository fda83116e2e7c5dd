package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckArchiveURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"file:///var/lib/catalogvideo":   true,
		"s3://bucket?region=eu-west-1":   true,
		"gs://bucket":                    true,
		"file:///":                       false,
		"s3://":                          false,
		"/var/lib/catalogvideo":          false,
		"https://example.com/videos":     false,
		"ftp://example.com/videos":       false,
		"file:///tmp/x?create_dir=1":     true,
		"gs:///no-bucket-only-path/here": false,
	} {
		if err := CheckArchiveURL(raw); (err == nil) != ok {
			t.Errorf("CheckArchiveURL(%q) = %v; want ok %v", raw, err, ok)
		}
	}
}

func TestOpenArchiveCreatesFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "video-archive")
	raw, err := FolderURL(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := OpenArchive(t.Context(), raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the folder was not created: %v", err)
	}
	if want := "file://" + filepath.ToSlash(dir); a.Display != want || strings.Contains(a.Display, "?") {
		t.Errorf("Display = %q, want %q", a.Display, want)
	}
}
