package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
)

func TestCheckManifest(t *testing.T) {
	tests := []struct {
		name   string
		csv    string
		valid  int
		err    string
		stderr []string
	}{
		{
			name:  "seed rows with BOM and CRLF",
			csv:   "\ufeffsku,image_url,video_prompt,collection,target_surface\r\nA,https://cdn.example.com/a.jpg,\"push, slow\",c,shopify-pdp\r\nB,https://cdn.example.com/b.jpg,\"say \"\"hi\"\"\",c,meta-ads\r\n",
			valid: 2,
		},
		{name: "missing column", csv: "sku,image_url\nA,https://cdn.example.com/a.jpg\n", err: "video_prompt"},
		{
			name:   "bad rows are all reported",
			csv:    "sku,image_url,video_prompt\n,https://cdn.example.com/a.jpg,p\nB,ftp://x/b.jpg,p\nC,https://cdn.example.com/c.jpg,\n",
			err:    "products.csv: 3 invalid rows; nothing was submitted",
			stderr: []string{"products.csv:2: sku", "products.csv:3: image_url", "products.csv:4: video_prompt"},
		},
		{name: "header only", csv: "sku,image_url,video_prompt\n", err: "no rows"},
		{
			name:   "repeat once defaults apply",
			csv:    "sku,image_url,video_prompt,model\nA,https://cdn.example.com/a.jpg,p,\nA,https://cdn.example.com/a.jpg,p,kling-v3\nA,https://cdn.example.com/a.jpg,p,veo-3.1\n",
			err:    "1 invalid row",
			stderr: []string{"products.csv:3: repeats line 2 once defaults apply"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			var rows []manifest.Row
			n, err := CheckManifest(strings.NewReader(tt.csv), "products.csv", manifest.Defaults{}, nil, &stderr, func(r manifest.Row) { rows = append(rows, r) })
			if tt.err != "" {
				var usage *UsageError
				if !errors.As(err, &usage) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want a *UsageError containing %q", err, tt.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if n != tt.valid || (err == nil && len(rows) != tt.valid) {
				t.Errorf("valid rows %d (%d yielded), want %d", n, len(rows), tt.valid)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}

func TestCheckAspectRatio(t *testing.T) {
	for _, ok := range []string{"16:9", "9:16", "1:1", "21:9"} {
		if err := CheckAspectRatio(ok); err != nil {
			t.Errorf("CheckAspectRatio(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "wide", "16x9", "0:9", "16:", "-16:9"} {
		if err := CheckAspectRatio(bad); err == nil {
			t.Errorf("CheckAspectRatio(%q) accepted it", bad)
		}
	}
}

func TestCheckManifestSpreadsheet(t *testing.T) {
	csv := "sku;image_url;video_prompt;\r\n SKU-1 ;https://cdn.example.com/a.jpg;caf\xe9 table;\r\n;;;\r\n"
	var stderr strings.Builder
	if _, err := CheckManifest(strings.NewReader(csv), "products.csv", manifest.Defaults{}, nil, &stderr, nil); err == nil {
		t.Fatal("a windows-1252 manifest was accepted without -encoding")
	}
	opt, err := EncodingOption("windows-1252")
	if err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	var rows []manifest.Row
	n, err := CheckManifest(strings.NewReader(csv), "products.csv", manifest.Defaults{}, nil, &stderr, func(r manifest.Row) { rows = append(rows, r) }, opt)
	if err != nil || n != 1 || rows[0].SKU != "SKU-1" || rows[0].VideoPrompt != "café table" {
		t.Fatalf("CheckManifest = %d, %v, rows %+v", n, err, rows)
	}
	for _, want := range []string{
		`products.csv:2: warning: sku " SKU-1 " has spaces around it`,
		"products.csv: skipped 1 row of only delimiters and 1 column with no name",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if opt, err := EncodingOption(""); opt != nil || err != nil {
		t.Errorf(`EncodingOption("") = %v, %v; want nil, nil`, opt, err)
	}
	var usage *UsageError
	if _, err := EncodingOption("klingon"); !errors.As(err, &usage) {
		t.Errorf(`EncodingOption("klingon") = %v, want a *UsageError`, err)
	}
}
