package shopify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"
)

// DefaultAltTemplate is the alt text template a Publisher uses unless
// WithAltTemplate sets another: the product's title and what the media is,
// which is what a screen reader should say about it.
const DefaultAltTemplate = "{{.Product.Title}} – product video"

// AltData is what an alt text template is executed on. It holds what a
// shopper may hear, and deliberately not the SKU, the job key or the
// publisher's marker: those are for machines, and a screen reader reads
// alt text aloud.
type AltData struct {
	// Product is the product the video is attached to.
	Product AltProduct
	// Variant is the variant whose SKU the job names.
	Variant AltVariant
}

// AltProduct is the product part of AltData.
type AltProduct struct {
	// Title is the product's title.
	Title string
}

// AltVariant is the variant part of AltData.
type AltVariant struct {
	// Title is the variant's title, such as "M / Blue"; empty for the
	// "Default Title" Shopify gives the variant of a product without
	// options.
	Title string
}

// shopifyDefaultVariantTitle is the title Shopify gives the only variant of
// a product without options.
const shopifyDefaultVariantTitle = "Default Title"

var defaultAltTemplate = template.Must(template.New("alt").Option("missingkey=error").Parse(DefaultAltTemplate))

// ParseAltTemplate parses an alt text template (text/template syntax over
// AltData, such as "{{.Product.Title}} in {{.Variant.Title}} – video") and
// tries it on sample data, so that a template naming a field AltData does
// not have fails here rather than at publish time. The error names the
// problem as text/template reports it.
func ParseAltTemplate(text string) (*template.Template, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("shopify: alt text template is empty; leave it unset for the default " + DefaultAltTemplate)
	}
	t, err := template.New("alt").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("shopify: alt text template: %w", err)
	}
	var b strings.Builder
	if err := t.Execute(&b, AltData{Product: AltProduct{Title: "Sample"}, Variant: AltVariant{Title: "M"}}); err != nil {
		return nil, fmt.Errorf("shopify: alt text template: %w (the template sees .Product.Title and .Variant.Title)", err)
	}
	if strings.TrimSpace(b.String()) == "" {
		return nil, fmt.Errorf("shopify: alt text template %q writes nothing for a sample product", text)
	}
	return t, nil
}

// WithAltTemplate sets the template videos' alt text is written from (see
// ParseAltTemplate); the default is DefaultAltTemplate. A VideoJob's Alt,
// when set, is used instead.
func WithAltTemplate(t *template.Template) PublisherOption {
	return func(p *Publisher) {
		if t != nil {
			p.alt = t
		}
	}
}

// altText is the alt text of the job's video: the job's own, or the
// template's over the product and variant. A template that fails on this
// product (it passed ParseAltTemplate, so only through its own logic)
// falls back to the default rather than holding a publish back. The text
// is cut to Shopify's limit.
func (p *Publisher) altText(b *batchJob) string {
	alt := strings.TrimSpace(b.job.Alt)
	if alt == "" {
		data := AltData{Product: AltProduct{Title: b.v.ProductTitle}, Variant: AltVariant{Title: b.v.Title}}
		if data.Variant.Title == shopifyDefaultVariantTitle {
			data.Variant.Title = ""
		}
		var s strings.Builder
		if err := p.alt.Execute(&s, data); err != nil || strings.TrimSpace(s.String()) == "" {
			s.Reset()
			_ = defaultAltTemplate.Execute(&s, data)
		}
		alt = strings.TrimSpace(s.String())
	}
	if utf8.RuneCountInString(alt) > maxAltLength {
		alt = strings.TrimSpace(string([]rune(alt)[:maxAltLength]))
	}
	return alt
}

// MediaMarker returns the marker that identifies the video of the job with
// the given key: "cv-" and 20 hex digits of the key's SHA-256. The
// publisher starts the video's file name with it (see VideoFilename) and
// finds earlier attempts' videos by it; it is never shown to shoppers.
// Videos attached by earlier versions, which carried it in brackets in
// their alt text, are found too.
func MediaMarker(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "cv-" + hex.EncodeToString(sum[:10])
}

// skuTag is the part of a video's file name that tells which SKU it was
// published for: "s" and 10 hex digits of the SKU's SHA-256 (the SKU itself
// may hold characters a file name cannot).
func skuTag(sku string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(sku)))
	return "s" + hex.EncodeToString(sum[:5])
}

// VideoFilename is the file name the publisher stages a job's video under:
// the job's marker, the SKU's tag and the publish batch (see WithBatchID),
// as in cv-0123456789abcdef0123-s0123456789-pb-0f3a9c2e71d4.mp4. Shopify
// keeps it as the video's filename, where the marker survives crashes and
// other processes (a retry finds the video by it) and shoppers never see
// it; the SKU's tag tells a later job's video for the same SKU which
// video to replace, and the batch which publish batch attached it. A video
// that replaces an earlier one has its SKU's tag start with "r" instead of
// "s". A job with a VideoJob.CreatedAt has it after the tag, as "." and
// "t" and its Unix time in nanoseconds in base 36
// (cv-…-s0123456789.t18f0c2b1ka8w0-pb-….mp4), so that an older job of the
// SKU published later can tell that this video is newer and leave it (see
// PublishResult.Superseded).
func VideoFilename(key, sku, batch string) string {
	return videoFilename(key, sku, batch, false, time.Time{})
}

func videoFilename(key, sku, batch string, replaces bool, created time.Time) string {
	tag := skuTag(sku)
	if replaces {
		tag = "r" + tag[1:]
	}
	name := MediaMarker(key) + "-" + tag
	if !created.IsZero() {
		// "." cannot be in a batch ID, so the time is never taken for one.
		name += ".t" + strconv.FormatInt(created.UnixNano(), 36)
	}
	if batch != "" {
		name += "-" + batch
	}
	return name + ".mp4"
}

// filenameInfo is what a video's file name tells (see VideoFilename): its
// job's marker, whether it replaced an earlier video, when its job was
// created, and its publish batch. All are zero for a file name the
// publisher did not write.
type filenameInfo struct {
	marker   string
	replaces bool
	created  time.Time
	batch    string
}

// parseFilename reads a file name VideoFilename wrote.
func parseFilename(filename string) filenameInfo {
	const tagged = len("cv-") + 20 + len("-s") + 10
	rest, ok := strings.CutSuffix(filename, ".mp4")
	if !ok || len(rest) < tagged || !strings.HasPrefix(rest, "cv-") {
		return filenameInfo{}
	}
	info := filenameInfo{marker: rest[:tagged-12]}
	switch rest[tagged-11 : tagged-10] {
	case "r":
		info.replaces = true
	case "s":
	default:
		return filenameInfo{}
	}
	rest = rest[tagged:]
	if t, ok := strings.CutPrefix(rest, ".t"); ok {
		digits, _, _ := strings.Cut(t, "-")
		if n, err := strconv.ParseInt(digits, 36, 64); err == nil {
			info.created = time.Unix(0, n).UTC()
		}
		rest = strings.TrimPrefix(t, digits)
	}
	if b, ok := strings.CutPrefix(rest, "-"); ok && validBatchID(b) {
		info.batch = b
	}
	return info
}

// maxBatchIDLength bounds a batch ID, which goes into file names.
const maxBatchIDLength = 40

// validBatchID reports whether id may name a publish batch: 1 to 40
// letters, digits, hyphens and underscores.
func validBatchID(id string) bool {
	if id == "" || len(id) > maxBatchIDLength {
		return false
	}
	for _, c := range []byte(id) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// WithBatchID names the publish batch: every video this Publisher attaches
// carries it in its file name and in its DeliveryRef, so that the batch
// can be rolled back together (jobs rollback -batch ID). It must be 1 to
// 40 letters, digits, hyphens and underscores; another value is skipped.
// The default is "pb-" and 12 random hex digits, new for each Publisher:
// one run of a program.
func WithBatchID(id string) PublisherOption {
	return func(p *Publisher) {
		if validBatchID(id) {
			p.batch = id
		}
	}
}

func hasMarker(marker string) func(mediaItem) bool {
	legacy := "[" + marker + "]"
	return func(m mediaItem) bool {
		return strings.HasPrefix(m.Filename, marker) || strings.Contains(m.Alt, legacy)
	}
}

// publishedFor reports whether m is a video this SDK published for the SKU
// (by any job), from the SKU tag in its file name ("s" or, for a
// replacement, "r" and the same hex digits).
func publishedFor(sku string) func(mediaItem) bool {
	hex := skuTag(sku)[1:]
	return func(m mediaItem) bool {
		rest, ok := strings.CutPrefix(m.Filename, "cv-")
		if !ok || len(rest) < 20+2+len(hex) || rest[20] != '-' || (rest[21] != 's' && rest[21] != 'r') {
			return false
		}
		after, ok := strings.CutPrefix(rest[22:], hex)
		return ok && (strings.HasPrefix(after, ".") || strings.HasPrefix(after, "-"))
	}
}

// clearLegacyMarkers rewrites the alt text of videos found by their
// marker in brackets in the alt text, as earlier versions of this package
// wrote it, to the template's text: screen readers read alt text aloud.
// Only a video whose file name also starts with the marker is rewritten,
// so it can still be found after; a failure is logged and leaves the alt
// as it was, since the video is published all the same.
func (p *Publisher) clearLegacyMarkers(ctx context.Context, work []*batchJob) {
	for _, b := range work {
		if b.item == nil || b.item.ID == "" || !b.attachedAt.IsZero() ||
			!strings.Contains(b.item.Alt, "["+b.marker+"]") || !strings.HasPrefix(b.item.Filename, b.marker) {
			continue
		}
		alt := p.altText(b)
		if err := p.updateFile(ctx, fileUpdate{Id: b.item.ID, Alt: alt}); err != nil {
			p.logger.LogAttrs(ctx, slog.LevelWarn, "shopify: rewriting an alt text that holds the job marker",
				slog.String("media", b.item.ID), slog.String("error", err.Error()))
			continue
		}
		b.item.Alt = alt
	}
}
