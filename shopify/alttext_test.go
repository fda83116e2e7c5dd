package shopify_test

import (
	"context"
	"testing"

	"github.com/creativeai-run/catalogvideo/shopify"
)

// TestLegacyAltMarkerCleared: a video an earlier version published, with
// the marker in brackets in its alt text, is found (never attached twice)
// and its alt text rewritten without the marker.
func TestLegacyAltMarkerCleared(t *testing.T) {
	m := newMerchStore(t)
	pid := m.product("Linen Shirt", 1, "SHIRT-M")
	marker := shopify.MediaMarker("old-job")
	id := m.srv.AddVideoMedia(pid, marker+".mp4", "Linen Shirt video ["+marker+"]")
	res, err := m.publisher().PublishVideo(context.Background(), m.job("old-job", "SHIRT-M"))
	if err != nil || !res.Reused || res.MediaID != id {
		t.Fatalf("publish = %+v, %v; want the earlier video %s reused", res, err, id)
	}
	vids := m.videos(pid)
	if len(vids) != 1 || vids[0].Alt != "Linen Shirt – product video" {
		t.Errorf("videos %+v: want one, with the alt text rewritten without the marker", vids)
	}
	// Found again by its file name.
	again, err := m.publisher().PublishVideo(context.Background(), m.job("old-job", "SHIRT-M"))
	if err != nil || again.MediaID != id || len(m.videos(pid)) != 1 || m.srv.Calls("fileUpdate") != 1 {
		t.Errorf("again = %+v, %v; %d videos, %d fileUpdate calls; want the same video and no second rewrite", again, err, len(m.videos(pid)), m.srv.Calls("fileUpdate"))
	}
}
