package creativeaitest

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// freshClient opens a new connection per request, so that a dropped
// connection reaches the test instead of being retried by the transport on
// another pooled connection.
func freshClient(t *testing.T) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestFault500CreatesNothing(t *testing.T) {
	s := newTestServer(t, WithFaults(Faults{Error500: 1}))
	resp, b := send(t, s, apiCall{method: "POST", path: "/v1/video/generations", body: createBody("x"), key: "k"})
	checkError(t, resp, b, http.StatusInternalServerError, "api_error")
	if st := s.Stats(); st.Renders != 0 || st.Faults.Error500 != 1 || st.Requests != 0 {
		t.Errorf("stats = %+v, want nothing but one 500", st)
	}
}

func TestFault429RetryAfter(t *testing.T) {
	for _, tc := range []struct {
		retryAfter    time.Duration
		wantMs, wantS string
	}{
		{0, "10", "1"},
		{1500 * time.Millisecond, "1500", "2"},
		{3 * time.Second, "3000", "3"},
	} {
		s := newTestServer(t, WithFaults(Faults{Error429: 1, RetryAfter: tc.retryAfter}))
		resp, b := send(t, s, apiCall{method: "GET", path: "/v1/video/generations"})
		checkError(t, resp, b, http.StatusTooManyRequests, "rate_limit_error")
		if ms, sec := resp.Header.Get("Retry-After-Ms"), resp.Header.Get("Retry-After"); ms != tc.wantMs || sec != tc.wantS {
			t.Errorf("RetryAfter %v: Retry-After-Ms %q, Retry-After %q; want %q and %q", tc.retryAfter, ms, sec, tc.wantMs, tc.wantS)
		}
		if st := s.Stats(); st.Faults.Error429 != 1 {
			t.Errorf("Faults = %+v", st.Faults)
		}
	}
}

func TestFaultDropConnection(t *testing.T) {
	s := newTestServer(t, WithFaults(Faults{DropConnection: 1}))
	resp, err := trySend(freshClient(t), s, apiCall{method: "POST", path: "/v1/video/generations", body: createBody("x"), key: "k"})
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got an answer (%d), want a dropped connection", resp.StatusCode)
	}
	if st := s.Stats(); st.Renders != 0 || st.Faults.DropConnection != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestFault502AfterCreateThenReplay(t *testing.T) {
	s := newTestServer(t, WithManualRender(), WithFaults(Faults{Error502AfterCreate: 1}))
	resp, b := send(t, s, apiCall{method: "POST", path: "/v1/video/generations", body: createBody("lost answer"), key: "SKU-1"})
	checkError(t, resp, b, http.StatusBadGateway, "api_error")
	gens := s.Generations()
	if len(gens) != 1 {
		t.Fatalf("%d generations after the 502, want 1: the job was created", len(gens))
	}

	// A validation error is not hidden by the fault.
	resp, b = send(t, s, apiCall{method: "POST", path: "/v1/video/generations", body: map[string]any{"prompt": "no image"}})
	checkError(t, resp, b, http.StatusBadRequest, "invalid_request_error")

	s.SetFaults(Faults{})
	replay := create(t, s, createBody("lost answer"), "SKU-1")
	if replay.ID != gens[0].ID {
		t.Errorf("retry with the same key got %s, want %s", replay.ID, gens[0].ID)
	}
	st := s.Stats()
	if st.Renders != 1 || st.IdempotentReplays != 1 || st.DuplicateRenders != 0 || st.Faults.Error502AfterCreate != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestFaultsOnDownloadsOnlyWhenAsked(t *testing.T) {
	s := newTestServer(t, WithManualRender())
	g := create(t, s, createBody("download"), "")
	if err := s.Complete(g.ID); err != nil {
		t.Fatal(err)
	}
	out, _ := s.Generation(g.ID)

	s.SetFaults(Faults{Error500: 1})
	resp, _ := send(t, s, apiCall{method: "GET", path: out.OutputURL, noAuth: true})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("download with API faults only: %d, want 200", resp.StatusCode)
	}
	s.SetFaults(Faults{Error500: 1, Downloads: true})
	resp, b := send(t, s, apiCall{method: "GET", path: out.OutputURL, noAuth: true})
	checkError(t, resp, b, http.StatusInternalServerError, "api_error")
	s.SetFaults(Faults{Error502AfterCreate: 1, Downloads: true})
	resp, b = send(t, s, apiCall{method: "GET", path: out.OutputURL, noAuth: true})
	checkError(t, resp, b, http.StatusBadGateway, "api_error")
}

func TestFaultRatesFollowTheSeed(t *testing.T) {
	const requests = 600
	faults := Faults{Error500: 0.05, Error502AfterCreate: 0.05, Error429: 0.05, DropConnection: 0.03}
	run := func() (FaultCounts, []int) {
		s := newTestServer(t, WithSeed(5), WithFaults(faults))
		hc := freshClient(t)
		var codes []int
		for range requests {
			resp, err := trySend(hc, s, apiCall{method: "GET", path: "/v1/video/generations?limit=1"})
			if err != nil {
				codes = append(codes, 0)
				continue
			}
			resp.Body.Close()
			codes = append(codes, resp.StatusCode)
		}
		return s.Stats().Faults, codes
	}
	counts, codes := run()
	seen := map[int]int{}
	for _, c := range codes {
		seen[c]++
	}
	if seen[500] != counts.Error500 || seen[502] != counts.Error502AfterCreate || seen[429] != counts.Error429 || seen[0] != counts.DropConnection {
		t.Errorf("answers %v disagree with the counted faults %+v", seen, counts)
	}
	for _, k := range []struct {
		name string
		n    int
		p    float64
	}{{"500", counts.Error500, faults.Error500}, {"502", counts.Error502AfterCreate, faults.Error502AfterCreate}, {"429", counts.Error429, faults.Error429}, {"drop", counts.DropConnection, faults.DropConnection}} {
		if want := k.p * requests; float64(k.n) < want/2 || float64(k.n) > want*2 {
			t.Errorf("%s: %d of %d requests, want about %.0f", k.name, k.n, requests, want)
		}
	}
	again, codes2 := run()
	if again != counts || len(codes2) != len(codes) {
		t.Fatalf("second run with the same seed: %+v, want %+v", again, counts)
	}
	for i := range codes {
		if codes[i] != codes2[i] {
			t.Fatalf("request %d: %d then %d under the same seed", i, codes[i], codes2[i])
		}
	}
}

func TestSetFaultsWhileServing(t *testing.T) {
	s := newTestServer(t, WithSeed(9))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if resp, err := trySend(s.ts.Client(), s, apiCall{method: "GET", path: "/v1/video/generations"}); err == nil {
					resp.Body.Close()
				}
			}
		})
	}
	for i := range 50 {
		if i%2 == 0 {
			s.SetFaults(Faults{Error500: 0.5, Error429: 0.5})
		} else {
			s.SetFaults(Faults{})
		}
	}
	wg.Wait()
	s.SetFaults(Faults{})
	resp, _ := send(t, s, apiCall{method: "GET", path: "/v1/video/generations"})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after SetFaults(Faults{}): %d", resp.StatusCode)
	}
	defer func() {
		if recover() == nil {
			t.Error("SetFaults with probabilities over 1 did not panic")
		}
	}()
	s.SetFaults(Faults{Error500: 0.7, DropConnection: 0.7})
}
