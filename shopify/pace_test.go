package shopify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/Khan/genqlient/graphql"

	"github.com/creativeai-run/catalogvideo/shopify"
)

// roundTripFunc answers requests in memory, so that a Client runs inside a
// synctest bubble.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestClientPacedRequestGoesWhenTheBucketProvesRicher runs in virtual time.
// A query never seen is priced at the whole bucket, so a request queued
// behind it is paced as if the bucket were spent; when its answer shows it
// cost 10 points, the queued request goes at once instead of waiting out
// the pessimistic pace.
func TestClientPacedRequestGoesWhenTheBucketProvesRicher(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var (
			mu    sync.Mutex
			level = 1000.0
			at    = start
			sent  = map[string][]time.Duration{}
		)
		const rate = 5.0
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			var req struct {
				OperationName string `json:"operationName"`
			}
			body, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(body, &req); err != nil {
				return nil, err
			}
			mu.Lock()
			now := time.Now()
			level = min(1000, level+now.Sub(at).Seconds()*rate) - 10
			at = now
			sent[req.OperationName] = append(sent[req.OperationName], now.Sub(start))
			answer := fmt.Sprintf(`{"data":{"shop":{"name":"S"}},"extensions":{"cost":{"requestedQueryCost":10,"actualQueryCost":10,"throttleStatus":{"maximumAvailable":1000,"currentlyAvailable":%g,"restoreRate":%g}}}}`, level, rate)
			mu.Unlock()
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(answer)), Request: r}, nil
		})
		c, err := shopify.NewClient("", "tok", shopify.WithEndpoint("https://example.myshopify.com/admin/api/2026-10/graphql.json"),
			shopify.WithHTTPClient(&http.Client{Transport: rt}), shopify.WithPacingJitter(0))
		if err != nil {
			t.Fatal(err)
		}
		query := func(op string) {
			t.Helper()
			req := &graphql.Request{OpName: op, Query: "query " + op + " { shop { name } }"}
			if err := c.MakeRequest(context.Background(), req, &graphql.Response{Data: &json.RawMessage{}}); err != nil {
				t.Error(err)
			}
		}
		// Two answers: the bucket is known (980 left), and so is Known's
		// cost.
		query("Known")
		query("Known")
		var wg sync.WaitGroup
		// Never seen: priced at 1,000, it waits (1000 − 980) / 5 = 4 s and
		// leaves the model 20 points short.
		wg.Go(func() { query("Unseen") })
		synctest.Wait()
		// Behind it, Known's 10 points paced from −20: (10 + 20) / 5 = 6 s, unless
		// Unseen's answer (10 points) shows the bucket holds them.
		wg.Go(func() { query("Known") })
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if got := sent["Unseen"][0]; got < 4*time.Second || got > 4100*time.Millisecond {
			t.Errorf("Unseen sent after %v, want 4s (a whole bucket)", got)
		}
		if got := sent["Known"][2]; got > 4100*time.Millisecond {
			t.Errorf("the queued request sent after %v, want when Unseen's answer came (4s), not the 6s paced before it", got)
		}
	})
}
