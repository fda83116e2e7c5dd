package shopify_test

import (
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/shopify"
)

func TestDeliveryRefRoundTrip(t *testing.T) {
	refs := []shopify.DeliveryRef{
		{MediaID: "gid://shopify/Video/1"},
		{MediaID: "gid://shopify/Video/9", Slot: 2, Batch: "pb-0f3a9c2e71d4"},
		{MediaID: "gid://shopify/Video/9", Slot: 3, Replaced: "gid://shopify/Video/5", Batch: "night-run",
			RolledBack: time.Date(2026, 11, 30, 7, 12, 0, 0, time.UTC)},
		{MediaID: "gid://shopify/Video/11", Superseded: true},
	}
	for _, r := range refs {
		got, err := shopify.ParseDeliveryRef(r.String())
		if err != nil || got != r {
			t.Errorf("ParseDeliveryRef(%q) = %+v, %v; want %+v", r.String(), got, err, r)
		}
	}
	// A ref recorded before placements is the media ID alone.
	if got, err := shopify.ParseDeliveryRef("gid://shopify/Video/7"); err != nil || got.MediaID != "gid://shopify/Video/7" || got.Slot != 0 {
		t.Errorf("old ref: %+v, %v", got, err)
	}
}

func TestParseDeliveryRefRefusals(t *testing.T) {
	for _, s := range []string{"", ";slot=2", "slot=2", "gid://shopify/Video/1;slot", "gid://shopify/Video/1;slot=0",
		"gid://shopify/Video/1;slot=x", "gid://shopify/Video/1;slot=2;slot=3", "gid://shopify/Video/1;colour=red",
		"gid://shopify/Video/1;rolled_back=yesterday", "gid://shopify/Video/1;batch= x", "gid://shopify/Video/1;superseded=maybe"} {
		if r, err := shopify.ParseDeliveryRef(s); err == nil {
			t.Errorf("ParseDeliveryRef(%q) = %+v, want an error", s, r)
		}
	}
}

func FuzzParseDeliveryRef(f *testing.F) {
	f.Add("gid://shopify/Video/9;slot=2;replaced=gid://shopify/Video/5;batch=pb-1;rolled_back=2026-11-30T07:12:00Z")
	f.Add("gid://shopify/Video/1")
	f.Add(";;=")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := shopify.ParseDeliveryRef(s)
		if err != nil {
			return
		}
		again, err := shopify.ParseDeliveryRef(r.String())
		if err != nil || !again.RolledBack.Equal(r.RolledBack) {
			t.Fatalf("%q parsed to %+v, whose String %q parses to %+v, %v", s, r, r.String(), again, err)
		}
		again.RolledBack = r.RolledBack
		if again != r {
			t.Fatalf("%q: round trip %+v != %+v", s, again, r)
		}
	})
}
