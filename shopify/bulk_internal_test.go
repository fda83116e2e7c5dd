package shopify

import (
	"strings"
	"testing"
)

const bulkResultSample = `{"data":{"productUpdate":{"product":{"id":"gid://shopify/Product/1","media":{"nodes":[{"__typename":"Video","id":"gid://shopify/Video/9","alt":"a [cv-1]","status":"PROCESSING","mediaContentType":"VIDEO","mediaErrors":[],"filename":"cv-1.mp4"}]}},"userErrors":[]}},"__lineNumber":0}
{"data":{"productUpdate":{"product":{"id":"gid://shopify/Product/2"},"userErrors":[{"field":["media","0"],"message":"Exceeded the limit"}]}},"__lineNumber":1}
{"errors":[{"message":"Internal error"}],"__lineNumber":2}
not json
{"data":{"productUpdate":{"product":{"id":"gid://shopify/Product/4","media":{"nodes":[]}},"userErrors":[]}}}
{"data":{"productUpdate":{"product":{"id":"gid://shopify/Product/5","media":{"nodes":[]}},"userErrors":[]}},"__lineNumber":4}
`

func TestParseBulkResults(t *testing.T) {
	lines, err := parseBulkResults(strings.NewReader(bulkResultSample))
	if err != nil {
		t.Fatal(err)
	}
	if l := lines[0]; !l.applied || l.newest == nil || l.newest.ID != "gid://shopify/Video/9" || l.newest.Filename != "cv-1.mp4" {
		t.Errorf("line 0 = %+v, want applied with its newest video", l)
	}
	if l := lines[1]; l.applied || len(l.userErrors) != 1 || l.userErrors[0].Message != "Exceeded the limit" {
		t.Errorf("line 1 = %+v, want refused with one user error", l)
	}
	if _, ok := lines[2]; ok {
		t.Errorf("line 2 (errors, no data) = %+v, want it left out so its job is checked by marker", lines[2])
	}
	if l := lines[4]; !l.applied || l.newest != nil {
		t.Errorf("line 4 = %+v, want applied without a video read back", l)
	}
	if len(lines) != 3 {
		t.Errorf("%d lines parsed, want 3 (a line without __lineNumber and one that is not JSON are skipped)", len(lines))
	}
}

func FuzzParseBulkResults(f *testing.F) {
	for _, l := range strings.Split(bulkResultSample, "\n") {
		f.Add(l)
	}
	f.Add(`{"__lineNumber":-1,"data":{}}`)
	f.Fuzz(func(t *testing.T, s string) {
		lines, _ := parseBulkResults(strings.NewReader(s))
		for n, l := range lines {
			if n < 0 {
				t.Errorf("negative line number %d from %q", n, s)
			}
			if l.applied && len(l.userErrors) > 0 {
				t.Errorf("line %d both applied and refused from %q", n, s)
			}
		}
	})
}
