package creativeaitest

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func completed(t testing.TB, s *Server, prompt string) string {
	t.Helper()
	g := create(t, s, createBody(prompt), "")
	if err := s.Complete(g.ID); err != nil {
		t.Fatal(err)
	}
	out, _ := s.Generation(g.ID)
	return out.OutputURL
}

func TestOutputIsAnMP4(t *testing.T) {
	const size = 10_000
	s := newTestServer(t, WithManualRender(), WithOutputSize(size))
	url := completed(t, s, "mp4")
	resp, b := send(t, s, apiCall{method: "GET", path: url, noAuth: true})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "video/mp4" || resp.Header.Get("Content-Length") != strconv.Itoa(size) {
		t.Fatalf("download: %d, Content-Type %q, Content-Length %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Length"))
	}
	if len(b) != size {
		t.Fatalf("%d bytes, want %d", len(b), size)
	}
	// ftyp box: size 28, major brand isom.
	if binary.BigEndian.Uint32(b) != 28 || string(b[4:8]) != "ftyp" || string(b[8:12]) != "isom" {
		t.Errorf("first box % x, want a 28-byte ftyp box of brand isom", b[:28])
	}
	// mdat box: the rest of the file.
	if binary.BigEndian.Uint32(b[28:]) != size-28 || string(b[32:36]) != "mdat" {
		t.Errorf("second box % x, want mdat of %d bytes", b[28:36], size-28)
	}

	_, again := send(t, s, apiCall{method: "GET", path: url, noAuth: true})
	if !bytes.Equal(b, again) {
		t.Error("the same output downloaded twice differs")
	}
	other := completed(t, s, "another mp4")
	if _, o := send(t, s, apiCall{method: "GET", path: other, noAuth: true}); bytes.Equal(b[36:], o[36:]) {
		t.Error("two generations have the same payload")
	}

	// Range requests, as a resumable downloader sends.
	resp, part := send(t, s, apiCall{method: "GET", path: url, noAuth: true, header: http.Header{"Range": {"bytes=5000-5099"}}})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, b[5000:5100]) {
		t.Errorf("range: %d, %d bytes equal to the slice: %v", resp.StatusCode, len(part), bytes.Equal(part, b[5000:5100]))
	}
	// HEAD gives the size without a body, as an uploader staging the file asks.
	resp, body := send(t, s, apiCall{method: "HEAD", path: url, noAuth: true})
	if resp.StatusCode != http.StatusOK || resp.ContentLength != size || len(body) != 0 {
		t.Errorf("HEAD: %d, length %d, %d body bytes", resp.StatusCode, resp.ContentLength, len(body))
	}
	if st := s.Stats(); st.Downloads != 4 {
		t.Errorf("Downloads = %d, want 4 (GETs only)", st.Downloads)
	}
}

func TestOutputOver4GiBUsesLargeSize(t *testing.T) {
	const size = 5 << 30
	s := newTestServer(t, WithManualRender(), WithOutputSize(size))
	url := completed(t, s, "huge")
	resp, head := send(t, s, apiCall{method: "GET", path: url, noAuth: true, header: http.Header{"Range": {"bytes=0-43"}}})
	if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != "bytes 0-43/"+strconv.Itoa(size) {
		t.Fatalf("range: %d %q", resp.StatusCode, resp.Header.Get("Content-Range"))
	}
	if binary.BigEndian.Uint32(head[28:]) != 1 || string(head[32:36]) != "mdat" || binary.BigEndian.Uint64(head[36:]) != size-28 {
		t.Errorf("mdat header % x, want size 1 and largesize %d", head[28:44], size-28)
	}
	resp, tail := send(t, s, apiCall{method: "GET", path: url, noAuth: true, header: http.Header{"Range": {"bytes=-10"}}})
	if resp.StatusCode != http.StatusPartialContent || len(tail) != 10 {
		t.Errorf("tail: %d, %d bytes", resp.StatusCode, len(tail))
	}
}

func TestOutputOnlyForCompletedGenerations(t *testing.T) {
	s := newTestServer(t, WithManualRender())
	g := create(t, s, createBody("not yet"), "")
	for _, path := range []string{"/outputs/" + g.ID + ".mp4", "/outputs/vgen_unknown.mp4", "/outputs/" + g.ID + ".mov"} {
		resp, b := send(t, s, apiCall{method: "GET", path: path, noAuth: true})
		checkError(t, resp, b, http.StatusNotFound, "invalid_request_error")
	}
}

func TestMP4FileReadAt(t *testing.T) {
	var seed [32]byte
	seed[0] = 1
	const size = 3*patternSize + 123
	m := newMP4File(size, seed)
	whole, err := io.ReadAll(io.NewSectionReader(m, 0, size))
	if err != nil || len(whole) != size {
		t.Fatalf("ReadAll: %d bytes, %v", len(whole), err)
	}
	// Any window read on its own matches the same bytes of the whole.
	for _, w := range []struct{ off, n int64 }{{0, 1}, {27, 10}, {36, patternSize}, {patternSize + 35, 2 * patternSize}, {size - 5, 5}} {
		buf := make([]byte, w.n)
		n, err := m.ReadAt(buf, w.off)
		if n != int(w.n) || (err != nil && err != io.EOF) || !bytes.Equal(buf, whole[w.off:w.off+w.n]) {
			t.Errorf("ReadAt(%d bytes at %d) = %d, %v; bytes match: %v", w.n, w.off, n, err, bytes.Equal(buf[:n], whole[w.off:w.off+int64(n)]))
		}
	}
	if n, err := m.ReadAt(make([]byte, 10), size-4); n != 4 || err != io.EOF {
		t.Errorf("read past the end = %d, %v; want 4, EOF", n, err)
	}
	if _, err := m.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("negative offset accepted")
	}
}

// BenchmarkDownload compares downloading an output from the simulator,
// which generates the mp4 as it is read, with serving the same bytes held
// in memory by http.ServeContent, the baseline a simpler simulator would
// use. Both go through loopback HTTP.
func BenchmarkDownload(b *testing.B) {
	const size = 8 << 20
	s := newTestServer(b, WithManualRender(), WithOutputSize(size))
	url := completed(b, s, "bench")
	hc := s.ts.Client()
	fetch := func(b *testing.B, u string) {
		resp, err := hc.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != size {
			b.Fatalf("read %d bytes: %v", n, err)
		}
	}
	resp, held := send(b, s, apiCall{method: "GET", path: url, noAuth: true})
	if resp.StatusCode != http.StatusOK {
		b.Fatal(resp.Status)
	}
	baseline := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		http.ServeContent(w, r, "held.mp4", time.Time{}, bytes.NewReader(held))
	}))
	b.Cleanup(baseline.Close)

	b.Run("simulator", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			fetch(b, url)
		}
	})
	b.Run("in-memory", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			fetch(b, baseline.URL)
		}
	})
}

// manualClock is a clock a test moves by hand.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestOutputExpires(t *testing.T) {
	clock := &manualClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := newTestServer(t, WithManualRender(), WithOutputTTL(time.Hour), WithClock(clock))
	url := completed(t, s, "expiring")
	if resp, _ := send(t, s, apiCall{method: "GET", path: url, noAuth: true}); resp.StatusCode != http.StatusOK {
		t.Fatalf("download before expiry: %d", resp.StatusCode)
	}
	clock.advance(time.Hour - time.Second)
	if resp, _ := send(t, s, apiCall{method: "GET", path: url, noAuth: true}); resp.StatusCode != http.StatusOK {
		t.Fatalf("download a second before expiry: %d", resp.StatusCode)
	}
	clock.advance(time.Second)
	resp, body := send(t, s, apiCall{method: "GET", path: url, noAuth: true})
	if resp.StatusCode != http.StatusForbidden || !bytes.Contains(body, []byte("output_expired")) {
		t.Errorf("download at expiry: %d %s; want 403 output_expired", resp.StatusCode, body)
	}
	if st := s.Stats(); st.ExpiredDownloads != 1 || st.Downloads != 2 {
		t.Errorf("stats: %d expired, %d downloads; want 1, 2", st.ExpiredDownloads, st.Downloads)
	}
	g, _ := s.Generation(url[strings.LastIndex(url, "/")+1 : len(url)-len(".mp4")])
	if !g.CompletedAt.Equal(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("completed_at = %v; want the test clock's time", g.CompletedAt)
	}
}

func TestOutputTTLDefaultOff(t *testing.T) {
	s := newTestServer(t, WithManualRender())
	url := completed(t, s, "kept")
	if resp, _ := send(t, s, apiCall{method: "GET", path: url, noAuth: true}); resp.StatusCode != http.StatusOK {
		t.Errorf("download without a TTL: %d", resp.StatusCode)
	}
}
