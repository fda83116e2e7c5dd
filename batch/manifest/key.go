package manifest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// The defaults applied to rows that leave a render setting empty.
const (
	DefaultModel       = "kling-v3"
	DefaultDuration    = creativeai.Duration(5)
	DefaultAspectRatio = "16:9"
)

// Defaults are the render settings for rows that leave them empty. A zero
// field falls back to DefaultModel, DefaultDuration or DefaultAspectRatio.
type Defaults struct {
	Model       string
	Duration    creativeai.Duration
	AspectRatio string
}

// Apply returns r with its empty render settings filled in from d.
func (d Defaults) Apply(r Row) Row {
	r.Model = firstNonEmpty(r.Model, d.Model, DefaultModel)
	r.AspectRatio = firstNonEmpty(r.AspectRatio, d.AspectRatio, DefaultAspectRatio)
	if r.Duration <= 0 {
		r.Duration = d.Duration
	}
	if r.Duration <= 0 {
		r.Duration = DefaultDuration
	}
	return r
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// RowKey returns the row's key: its SKU, "#", and a short hash of its render
// inputs (image_url, video_prompt, still_prompt, model, duration,
// aspect_ratio, and the prompt template's name and version if a template
// wrote the prompt) after the defaults are applied. Rerunning a manifest finds
// the same keys, so tracked rows are skipped; changing a prompt or a default
// makes a new version of the row, which is rendered.
func RowKey(r Row, d Defaults) string {
	return Key(r.SKU, d.Apply(r).Digest())
}

// Key makes a row key from sku and the [Row.Digest] of the row with its
// defaults applied: the SKU, "#", and the first 8 bytes of the digest in hex
// (16 characters). RowKey(r, d) is Key(r.SKU, d.Apply(r).Digest()); Run uses
// Key to avoid hashing a row twice.
func Key(sku string, resolved [sha256.Size]byte) string {
	return sku + "#" + hex.EncodeToString(resolved[:8])
}

// Digest returns the SHA-256 of the row's SKU and render inputs (image_url,
// video_prompt, still_prompt, model, duration, aspect_ratio) as they are, so
// apply the defaults first when the digest should identify a render. Each
// field is length-prefixed so no two different rows hash the same input.
// A row a prompt template wrote also hashes the template's name and
// version, so that a new version of the template makes a new version of the
// row even where the prompt reads the same. Collection, target_surface,
// Product, File and Line are not part of it.
func (r Row) Digest() [sha256.Size]byte {
	fields := []string{"catalogvideo/row/v1", r.SKU, r.ImageURL, r.VideoPrompt, r.StillPrompt, r.Model, durationText(r.Duration), r.AspectRatio}
	if r.Template != "" || r.TemplateVersion != "" {
		// Only then, so that the keys of rows with their own prompts stay
		// what they were.
		fields = append(fields, r.Template, r.TemplateVersion)
	}
	return hashFields(fields...)
}

// hashFields returns the SHA-256 of fields, each length-prefixed so that no
// two different lists hash the same input.
func hashFields(fields ...string) [sha256.Size]byte {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, f := range fields {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		h.Write([]byte(f))
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

func durationText(d creativeai.Duration) string {
	if d <= 0 {
		return ""
	}
	return d.String()
}

// DigestSet remembers row digests, by line, to find duplicate rows. It keeps
// 16 bytes of each digest (about 40 bytes a row with the map's overhead):
// collisions among 128-bit prefixes are out of reach for any manifest. The
// zero value is not usable; make one with make(DigestSet).
type DigestSet map[[16]byte]int

// Add records sum for line and, when an earlier line had the same digest,
// reports that line and true instead.
func (s DigestSet) Add(sum [sha256.Size]byte, line int) (first int, dup bool) {
	k := [16]byte(sum[:16])
	if first, ok := s[k]; ok {
		return first, true
	}
	s[k] = line
	return 0, false
}
