package creativeai_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

// BenchmarkCreate measures what the typed client costs per create, next to a
// raw net/http POST of the same JSON to the same simulator over the same
// transport. The raw side is the least a hand-written call does, as the
// workflow's script does: POST prepared JSON with the same headers, check the
// status, decode id and status. The client also encodes the request, decodes
// the whole generation leniently and keeps retry bookkeeping. Renders are
// manual, so render time plays no part: only the create call is measured.
//
// raw and client time each side on its own. interleaved alternates the two
// call by call, so that load from elsewhere on the machine hits both alike,
// and reports raw-throughput-ratio: raw time divided by client time, the
// share of raw throughput the client keeps (goal: ≥ 0.8).
//
//	go test -run '^$' -bench BenchmarkCreate -benchmem -count 5 ./creativeai/
func BenchmarkCreate(b *testing.B) {
	req := &creativeai.VideoRequest{
		Model:       "kling-v3",
		Prompt:      "5-second product hero shot, slow camera push, clean white sweep",
		ImageURL:    "https://cdn.example.com/catalog/mug-hero.jpg",
		Duration:    5,
		AspectRatio: "16:9",
	}
	body, err := json.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()

	// setup starts a fresh simulator per run, so that no run pays for the
	// generations an earlier one stored, and returns the two ways to create.
	setup := func(b *testing.B) (raw, typed func()) {
		srv := creativeaitest.NewServer(creativeaitest.WithSeed(1), creativeaitest.WithManualRender())
		b.Cleanup(srv.Close)
		tr := &http.Transport{MaxIdleConnsPerHost: 4}
		b.Cleanup(tr.CloseIdleConnections)
		hc := &http.Client{Transport: tr}
		client := srv.Client(creativeai.WithHTTPClient(hc))
		url := srv.URL + "/v1/video/generations"

		raw = func() {
			r, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			r.Header.Set("Authorization", "Bearer "+srv.APIKey)
			r.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(r)
			if err != nil {
				b.Fatal(err)
			}
			// Read what the workflow's script reads from the answer.
			var created struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			}
			err = json.NewDecoder(resp.Body).Decode(&created)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusAccepted || created.ID == "" {
				b.Fatalf("raw POST: %d, %+v, %v", resp.StatusCode, created, err)
			}
		}
		typed = func() {
			g, _, err := client.Videos.Create(ctx, req)
			if err != nil || g.ID == "" {
				b.Fatalf("Create: %+v, %v", g, err)
			}
		}
		return raw, typed
	}

	b.Run("raw", func(b *testing.B) {
		raw, _ := setup(b)
		b.ReportAllocs()
		for b.Loop() {
			raw()
		}
	})
	b.Run("client", func(b *testing.B) {
		_, typed := setup(b)
		b.ReportAllocs()
		for b.Loop() {
			typed()
		}
	})
	b.Run("interleaved", func(b *testing.B) {
		raw, typed := setup(b)
		var rawTime, clientTime time.Duration
		i := 0
		for b.Loop() {
			// Alternate which goes first, so neither always meets a warm
			// connection or a just-finished GC.
			first, second, firstT, secondT := raw, typed, &rawTime, &clientTime
			if i%2 == 1 {
				first, second, firstT, secondT = typed, raw, &clientTime, &rawTime
			}
			t0 := time.Now()
			first()
			t1 := time.Now()
			second()
			*firstT += t1.Sub(t0)
			*secondT += time.Since(t1)
			i++
		}
		b.ReportMetric(float64(rawTime)/float64(clientTime), "raw-throughput-ratio")
		b.ReportMetric(float64(rawTime.Nanoseconds())/float64(i), "raw-ns/op")
		b.ReportMetric(float64(clientTime.Nanoseconds())/float64(i), "client-ns/op")
	})
}
