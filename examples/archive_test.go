package examples_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCatalogArchivesEveryVideo runs the offline main job on rows with and
// without a target_surface: every video, delivered or not, is copied into
// the default archive folder beside the job file, and the job file records
// each copy's URL and checksum.
func TestCatalogArchivesEveryVideo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	csv := filepath.Join(dir, "rows.csv")
	manifest := "sku,image_url,video_prompt,target_surface\n" +
		"SKU-PDP,https://cdn.example.com/1.jpg,spin,shopify-pdp\n" +
		"SKU-KEEP,https://cdn.example.com/2.jpg,spin,\n"
	if err := os.WriteFile(csv, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runProgram(t, dir, cleanEnv(), "catalog", "-csv", csv, "-jobs", filepath.Join(dir, "jobs.jsonl"))
	if res.code != 0 {
		t.Fatalf("catalog exited %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	data, err := os.ReadFile(filepath.Join(dir, "jobs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, data)
	if len(recs) != 2 {
		t.Fatalf("job file has %d lines, want 2:\n%s", len(recs), data)
	}
	for _, r := range recs {
		path, ok := strings.CutPrefix(r.ArchiveURL, "file://")
		if !ok {
			t.Errorf("%s: archive_url %q; want a file:// URL in the default archive folder", r.SKU, r.ArchiveURL)
			continue
		}
		if !strings.HasPrefix(path, filepath.Join(dir, "video-archive")) {
			t.Errorf("%s: archived at %s; want under %s", r.SKU, path, filepath.Join(dir, "video-archive"))
		}
		video, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v", r.SKU, err)
			continue
		}
		if sum := sha256.Sum256(video); hex.EncodeToString(sum[:]) != r.SHA256 || int64(len(video)) != r.ArchiveSize {
			t.Errorf("%s: the archived file (%d bytes) does not match the record's sha256 %s and size %d", r.SKU, len(video), r.SHA256, r.ArchiveSize)
		}
	}
}
