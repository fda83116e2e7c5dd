package shopify

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DeliveryRef is the account of one published video that a delivery
// outbox records as the job's delivery ref (shopifysink returns its
// String). Its text form is the media ID followed by optional
// "name=value" fields, each after a semicolon:
//
//	gid://shopify/Video/1005;slot=2;replaced=gid://shopify/Video/998;batch=pb-0f3a9c2e71d4;rolled_back=2026-11-30T07:12:00Z
//
// A job that a newer job of its SKU superseded has the newer job's video
// and "superseded=true": gid://shopify/Video/1007;superseded=true.
//
// A ref from an SDK before placements is the media ID alone, which
// ParseDeliveryRef reads as a DeliveryRef with only MediaID set.
type DeliveryRef struct {
	// MediaID is the video's global ID.
	MediaID string
	// Slot is the video's gallery slot when it was published, from 1; 0
	// when unknown.
	Slot int
	// Replaced is the earlier video of the SKU that this one replaced.
	Replaced string
	// Batch is the publish batch (see WithBatchID).
	Batch string
	// RolledBack is when the video was rolled back (see
	// Publisher.Rollback); zero while it is published.
	RolledBack time.Time
	// Superseded reports that the job's video was not published: a newer
	// job of its SKU had published its own, MediaID, which stays (see
	// PublishResult.Superseded). Its text form is "superseded=true".
	Superseded bool
}

// DeliveryRef returns the ref to record for the result.
func (r PublishResult) DeliveryRef() DeliveryRef {
	return DeliveryRef{MediaID: r.MediaID, Slot: r.Slot, Replaced: r.Replaced, Batch: r.Batch, Superseded: r.Superseded}
}

// String is the ref's text form.
func (r DeliveryRef) String() string {
	var b strings.Builder
	b.WriteString(r.MediaID)
	if r.Slot > 0 {
		b.WriteString(";slot=" + strconv.Itoa(r.Slot))
	}
	if r.Replaced != "" {
		b.WriteString(";replaced=" + r.Replaced)
	}
	if r.Batch != "" {
		b.WriteString(";batch=" + r.Batch)
	}
	if !r.RolledBack.IsZero() {
		b.WriteString(";rolled_back=" + r.RolledBack.UTC().Format(time.RFC3339))
	}
	if r.Superseded {
		b.WriteString(";superseded=true")
	}
	return b.String()
}

// ParseDeliveryRef reads a ref's text form (see DeliveryRef). It refuses
// an empty media ID, a field without "=", a field it does not know (a ref
// written by a newer SDK), a repeated field and a value that does not
// parse, naming the field.
func ParseDeliveryRef(s string) (DeliveryRef, error) {
	parts := strings.Split(s, ";")
	r := DeliveryRef{MediaID: strings.TrimSpace(parts[0])}
	if r.MediaID == "" || strings.Contains(r.MediaID, "=") {
		return DeliveryRef{}, fmt.Errorf("shopify: delivery ref %q does not start with a media ID", s)
	}
	seen := make(map[string]bool, len(parts))
	for _, f := range parts[1:] {
		name, value, ok := strings.Cut(f, "=")
		if !ok || value == "" || strings.TrimSpace(value) != value {
			return DeliveryRef{}, fmt.Errorf("shopify: delivery ref %q: field %q is not name=value", s, f)
		}
		if seen[name] {
			return DeliveryRef{}, fmt.Errorf("shopify: delivery ref %q: field %s is repeated", s, name)
		}
		seen[name] = true
		var err error
		switch name {
		case "slot":
			r.Slot, err = strconv.Atoi(value)
			if err == nil && (r.Slot < 1 || r.Slot > DefaultMaxProductMedia) {
				err = errors.New("out of range")
			}
		case "replaced":
			r.Replaced = value
		case "batch":
			r.Batch = value
		case "rolled_back":
			r.RolledBack, err = time.Parse(time.RFC3339, value)
		case "superseded":
			r.Superseded, err = strconv.ParseBool(value)
		default:
			return DeliveryRef{}, fmt.Errorf("shopify: delivery ref %q: unknown field %q (written by a newer SDK?)", s, name)
		}
		if err != nil {
			return DeliveryRef{}, fmt.Errorf("shopify: delivery ref %q: field %s: %v", s, name, err)
		}
	}
	return r, nil
}
