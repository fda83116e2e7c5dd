package batch_test

import (
	"context"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/manifest"

	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

// newSim starts a simulator that the test closes.
func newSim(t testing.TB, opts ...creativeaitest.Option) *creativeaitest.Server {
	t.Helper()
	s := creativeaitest.NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// fastRetries makes a client's retries take milliseconds.
var fastRetries = creativeai.RetryPolicy{MaxRetries: 4, InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

// simClient returns a client for the simulator at url with fast retries.
func simClient(t testing.TB, url, key string, opts ...creativeai.Option) *creativeai.Client {
	t.Helper()
	opts = append([]creativeai.Option{creativeai.WithBaseURL(url), creativeai.WithRetryPolicy(fastRetries)}, opts...)
	c, err := creativeai.NewClient(key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// manifestRows reads csv as a manifest and returns its rows.
func manifestRows(t testing.TB, name, csv string) iter.Seq2[manifest.Row, error] {
	t.Helper()
	m, err := manifest.NewReader(strings.NewReader(csv), name)
	if err != nil {
		t.Fatal(err)
	}
	return m.Rows()
}

// generatedManifest is an io.Reader of a manifest with n rows, made up on the
// fly so that its size costs no memory.
type generatedManifest struct {
	n, next int
	buf     []byte
	salt    string
}

func newGeneratedManifest(n int, salt string) *generatedManifest {
	return &generatedManifest{n: n, buf: []byte("sku,image_url,video_prompt,collection,target_surface\n"), salt: salt}
}

func (g *generatedManifest) Read(p []byte) (int, error) {
	for len(g.buf) < len(p) && g.next < g.n {
		g.next++
		g.buf = fmt.Appendf(g.buf, "SKU-%06d,https://cdn.example.com/catalog/%06d-hero.jpg,\"%s product hero shot %d, slow camera push, clean white sweep\",spring,shopify-pdp\n",
			g.next, g.next, g.salt, g.next)
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.buf)
	g.buf = g.buf[:copy(g.buf, g.buf[n:])]
	return n, nil
}

// jobsOf lists every job in store.
func jobsOf(t testing.TB, store jobs.Store) []jobs.Job {
	t.Helper()
	var jobList []jobs.Job
	for j, err := range store.List(context.Background(), jobs.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		jobList = append(jobList, j)
	}
	return jobList
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// seedManifest is the workflow's sample manifest.
const seedManifest = `sku,image_url,video_prompt,collection,target_surface
SKU-1001,https://cdn.example.com/catalog/mug-hero.jpg,"5-second product hero shot, slow camera push, clean white sweep",new-arrivals,shopify-pdp
SKU-1002,https://cdn.example.com/catalog/shoe-hero.jpg,"5-second product reveal, gentle rotation, dynamic shadow",spring-drop,shopify-pdp
SKU-1003,https://cdn.example.com/catalog/bag-hero.jpg,"5-second lifestyle motion, soft natural light, premium editorial feel",paid-social,meta-ads
`
