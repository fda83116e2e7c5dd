package creativeaitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

func TestClientCreateWaitDownload(t *testing.T) {
	s := newTestServer(t, WithSeed(7), WithRenderTime(2*time.Millisecond), WithOutputSize(4096))
	c := s.Client()
	ctx := context.Background()
	g, resp, err := c.Videos.Create(ctx, &creativeai.VideoRequest{
		Prompt:   "slow camera push, clean white sweep",
		ImageURL: "https://cdn.example.com/catalog/mug-hero.jpg",
		Duration: 5,
	}, creativeai.WithIdempotencyKey("SKU-1001"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted || g.Status != creativeai.StatusPending || resp.RequestID == "" {
		t.Fatalf("create: %d %+v (request id %q)", resp.StatusCode, g, resp.RequestID)
	}
	var seen []creativeai.Status
	done, err := c.Videos.Wait(ctx, g.ID, &creativeai.WaitOptions{
		Interval:    time.Millisecond,
		MaxInterval: 2 * time.Millisecond,
		OnStatus:    func(g *creativeai.Generation) { seen = append(seen, g.Status) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != creativeai.StatusCompleted || seen[len(seen)-1] != creativeai.StatusCompleted {
		t.Fatalf("Wait = %+v after %v", done, seen)
	}
	dl, err := s.ts.Client().Get(done.OutputURL)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Body.Close()
	b, _ := io.ReadAll(dl.Body)
	if len(b) != 4096 || !bytes.Equal(b[4:8], []byte("ftyp")) {
		t.Errorf("download: %d bytes starting %q", len(b), b[:min(len(b), 12)])
	}
}

// TestClientUnderFaultsNeverRendersTwice is the simulator's half of the
// fault test: 200 keyed creates from 4 workers through 18% injected
// faults, then polls, end with 200 renders and no duplicate.
func TestClientUnderFaultsNeverRendersTwice(t *testing.T) {
	s := newTestServer(t, WithSeed(11), WithRenderTime(time.Millisecond),
		WithFaults(Faults{Error500: 0.05, Error502AfterCreate: 0.05, Error429: 0.05, DropConnection: 0.03, RetryAfter: time.Millisecond}))
	c := s.Client()
	ctx := context.Background()
	const rows = 200
	ids := make([]string, rows)
	var wg sync.WaitGroup
	errs := make(chan error, rows)
	next := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range next {
				g, _, err := c.Videos.Create(ctx, &creativeai.VideoRequest{
					Prompt:   fmt.Sprintf("row %d", i),
					ImageURL: "https://cdn.example.com/catalog/hero.jpg",
				}, creativeai.WithIdempotencyKey(fmt.Sprintf("row-%d", i)))
				if err != nil {
					errs <- fmt.Errorf("row %d: %w", i, err)
					continue
				}
				ids[i] = g.ID
			}
		})
	}
	for i := range rows {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	waitIdle(t, s)
	for i, id := range ids {
		if id == "" {
			continue
		}
		g, _, err := c.Videos.Get(ctx, id)
		if err != nil || g.Status != creativeai.StatusCompleted {
			t.Errorf("row %d: %+v, %v", i, g, err)
		}
	}
	st := s.Stats()
	if st.Renders != rows || st.DistinctInputs != rows || st.DuplicateRenders != 0 {
		t.Errorf("Renders %d, DistinctInputs %d, DuplicateRenders %d; want %d, %d, 0", st.Renders, st.DistinctInputs, st.DuplicateRenders, rows, rows)
	}
	f := st.Faults
	if f.Error500 == 0 || f.Error502AfterCreate == 0 || f.Error429 == 0 || f.DropConnection == 0 {
		t.Errorf("faults injected: %+v, want some of every kind", f)
	}
	if st.IdempotentReplays == 0 {
		t.Error("no idempotent replay: the 502s after create were not retried with their key")
	}
	t.Logf("stats: %d requests, faults %+v, %d replays", st.Requests, f, st.IdempotentReplays)
}

// TestClientWithoutKeyRendersTwice shows what the key prevents: a 502 after
// the create cannot be retried without one, and a resubmission renders the
// row again.
func TestClientWithoutKeyRendersTwice(t *testing.T) {
	s := newTestServer(t, WithManualRender(), WithFaults(Faults{Error502AfterCreate: 1}))
	c := s.Client()
	req := &creativeai.VideoRequest{Prompt: "no key", ImageURL: "https://cdn.example.com/a.jpg"}
	_, resp, err := c.Videos.Create(context.Background(), req)
	var apiErr *creativeai.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway || resp.Attempts != 1 {
		t.Fatalf("create: %v (attempts %d), want one 502", err, resp.Attempts)
	}
	s.SetFaults(Faults{})
	if _, _, err := c.Videos.Create(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Renders != 2 || st.DuplicateRenders != 1 || st.Faults.Error502AfterCreate != 1 {
		t.Errorf("stats = %+v, want 2 renders of one input", st)
	}
}

func TestClientErrors(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	if _, _, err := s.Client().Videos.Get(ctx, "vgen_unknown"); !creativeai.IsNotFound(err) {
		t.Errorf("Get unknown: %v, want not found", err)
	}
	wrong, err := creativeai.NewClient("rph_live_wrong", creativeai.WithBaseURL(s.URL), creativeai.WithHTTPClient(s.ts.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := wrong.Videos.Get(ctx, "vgen_x"); !creativeai.IsUnauthorized(err) {
		t.Errorf("wrong key: %v, want unauthorized", err)
	}

	s.SetFaults(Faults{Error429: 1, RetryAfter: 1500 * time.Millisecond})
	noRetry := s.Client(creativeai.WithRetryPolicy(creativeai.RetryPolicy{MaxRetries: 0}))
	_, _, err = noRetry.Videos.Get(ctx, "vgen_x")
	var apiErr *creativeai.APIError
	if !creativeai.IsRateLimited(err) || !errors.As(err, &apiErr) || apiErr.RetryAfter != 1500*time.Millisecond || apiErr.RequestID == "" {
		t.Errorf("429: %v (%+v), want rate limited with RetryAfter 1.5s", err, apiErr)
	}
}

func TestClientListAndImages(t *testing.T) {
	s := newTestServer(t, WithManualRender())
	c := s.Client()
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		g, _, err := c.Videos.Create(ctx, &creativeai.VideoRequest{Prompt: fmt.Sprint("list ", i), ImageURL: "https://cdn.example.com/a.jpg"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, g.ID)
		if i%2 == 0 {
			if err := s.Complete(g.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	var got []string
	for g, err := range c.Videos.List(ctx, &creativeai.ListOptions{Status: creativeai.StatusCompleted, Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, g.ID)
	}
	if want := []string{ids[4], ids[2], ids[0]}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("List(completed) = %v, want %v", got, want)
	}

	res, _, err := c.Images.Create(ctx, &creativeai.ImageRequest{Prompt: "refreshed still", ImageURL: "https://cdn.example.com/a.jpg", Size: "64x64"})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := s.ts.Client().Get(res.Data[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	dl.Body.Close()
	if dl.StatusCode != http.StatusOK || dl.Header.Get("Content-Type") != "image/png" {
		t.Errorf("image download: %d %s", dl.StatusCode, dl.Header.Get("Content-Type"))
	}
}
