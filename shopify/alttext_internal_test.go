package shopify

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestMediaMarkerAndFilename(t *testing.T) {
	m := MediaMarker("row-1")
	if m != MediaMarker("row-1") || m == MediaMarker("row-2") || len(m) != 23 || !strings.HasPrefix(m, "cv-") {
		t.Errorf("MediaMarker = %q: want a stable, distinct cv- marker of 23 characters", m)
	}
	name := VideoFilename("row-1", "MUG-1", "night_run-2")
	if !strings.HasPrefix(name, m+"-s") || !strings.HasSuffix(name, ".mp4") || name == VideoFilename("row-1", "MUG-2", "night_run-2") {
		t.Errorf("VideoFilename = %q: want the marker, a tag per SKU, .mp4", name)
	}
	created := time.Date(2026, 11, 30, 9, 0, 0, 123, time.UTC)
	for name, want := range map[string]filenameInfo{
		name:                                {marker: m, batch: "night_run-2"},
		VideoFilename("row-1", "MUG-1", ""): {marker: m},
		videoFilename("row-1", "MUG-1", "r-2", true, time.Time{}): {marker: m, replaces: true, batch: "r-2"},
		videoFilename("row-1", "MUG-1", "", true, time.Time{}):    {marker: m, replaces: true},
		videoFilename("row-1", "MUG-1", "r", false, time.Time{}):  {marker: m, batch: "r"},
		videoFilename("row-1", "MUG-1", "b-1", true, created):     {marker: m, replaces: true, created: created, batch: "b-1"},
		videoFilename("row-1", "MUG-1", "", false, created):       {marker: m, created: created},
		m + ".mp4":                           {},
		"merchant-clip.mp4":                  {},
		strings.Replace(name, "-s", "-x", 1): {},
	} {
		if got := parseFilename(name); got != want {
			t.Errorf("parseFilename(%q) = %+v, want %+v", name, got, want)
		}
	}
	if !publishedFor("MUG-1")(mediaItem{Filename: videoFilename("row-1", "MUG-1", "b", true, time.Time{})}) {
		t.Error("publishedFor misses a replacement's file name")
	}
	own := hasMarker(m)
	if !own(mediaItem{Filename: name}) || !own(mediaItem{Filename: m + ".mp4"}) || !own(mediaItem{Alt: "Red mug [" + m + "]"}) {
		t.Error("hasMarker misses the file name, an older file name, or an older version's bracketed alt tag")
	}
	if own(mediaItem{Alt: m}) || own(mediaItem{Filename: MediaMarker("row-2") + ".mp4"}) {
		t.Error("hasMarker matches another job's video or an unbracketed alt")
	}
	bySKU := publishedFor("MUG-1")
	if !bySKU(mediaItem{Filename: VideoFilename("row-9", "MUG-1", "b")}) || !bySKU(mediaItem{Filename: videoFilename("row-9", "MUG-1", "b", false, created)}) || bySKU(mediaItem{Filename: VideoFilename("row-9", "MUG-2", "b")}) ||
		bySKU(mediaItem{Filename: "merchant-upload-" + skuTag("MUG-1") + ".mp4"}) {
		t.Error("publishedFor must match this SDK's videos of the SKU and nothing else")
	}
}

func TestAltText(t *testing.T) {
	p := &Publisher{alt: defaultAltTemplate}
	b := &batchJob{v: Variant{SKU: "MUG-1", Title: "Default Title", ProductTitle: "Red mug"}, marker: MediaMarker("k")}
	if got := p.altText(b); got != "Red mug – product video" {
		t.Errorf("default alt = %q", got)
	}
	tmpl, err := ParseAltTemplate(`{{.Product.Title}}{{with .Variant.Title}} in {{.}}{{end}}, turning on a table`)
	if err != nil {
		t.Fatal(err)
	}
	p.alt = tmpl
	if got := p.altText(b); got != "Red mug, turning on a table" {
		t.Errorf("Default Title is left out: alt = %q", got)
	}
	b.v.Title = "Large / Blue"
	if got := p.altText(b); got != "Red mug in Large / Blue, turning on a table" || strings.Contains(got, "MUG-1") || strings.Contains(got, b.marker) {
		t.Errorf("alt = %q: want the variant's title and neither SKU nor marker", got)
	}
	b.job.Alt = "  " + strings.Repeat("é", 600) + " "
	got := p.altText(b)
	if n := utf8.RuneCountInString(got); n != maxAltLength || !utf8.ValidString(got) {
		t.Errorf("long alt: %d characters (valid %v), want %d", n, utf8.ValidString(got), maxAltLength)
	}
}

func TestParseAltTemplateRefusals(t *testing.T) {
	for _, text := range []string{"", "  ", "{{.Product.Title", "{{.SKU}}", "{{.Product.Handle}}", "{{if false}}x{{end}}"} {
		if _, err := ParseAltTemplate(text); err == nil {
			t.Errorf("ParseAltTemplate(%q) accepted", text)
		}
	}
}

// FuzzParseFilename reads file names as Shopify hands them back, which
// anyone with access to the store's files may have written: it must not
// panic, and what videoFilename writes must read back.
func FuzzParseFilename(f *testing.F) {
	f.Add("row-1", "MUG-1", "pb-1", true, int64(1_795_000_000_000_000_000))
	f.Add("k", " SKU ", "", false, int64(0))
	f.Fuzz(func(t *testing.T, key, sku, batch string, replaces bool, nanos int64) {
		_ = parseFilename(key)
		created := time.Time{}
		if nanos > 0 {
			created = time.Unix(0, nanos).UTC()
		}
		if !validBatchID(batch) {
			batch = ""
		}
		want := filenameInfo{marker: MediaMarker(key), replaces: replaces, created: created, batch: batch}
		if got := parseFilename(videoFilename(key, sku, batch, replaces, created)); got != want {
			t.Fatalf("parseFilename(videoFilename(%q, %q, %q, %v, %v)) = %+v, want %+v", key, sku, batch, replaces, created, got, want)
		}
	})
}
