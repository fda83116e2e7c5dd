package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
)

func TestIsMutation(t *testing.T) {
	cases := map[string]bool{
		"mutation m { x }":                     true,
		"\n\tmutation stageUpload($a: Int) {}": true,
		"# a comment\n  mutation { x }":        true,
		"query q { x }":                        false,
		"{ x }":                                false,
		"# mutation\nquery { x }":              false,
		"":                                     false,
	}
	for q, want := range cases {
		if got := isMutation(q); got != want {
			t.Errorf("isMutation(%q) = %v, want %v", q, got, want)
		}
	}
}

func TestCostShape(t *testing.T) {
	a := costShape("productVideos", []byte(`{"query":"q","variables":{"productId":"gid://1","first":50,"after":"abc"},"operationName":"productVideos"}`))
	b := costShape("productVideos", []byte(`{"query":"q","variables":{"productId":"gid://2","first":50},"operationName":"productVideos"}`))
	c := costShape("productVideos", []byte(`{"query":"q","variables":{"productId":"gid://2","first":10},"operationName":"productVideos"}`))
	if a != b || a == c || a != "productVideos(first=50)" {
		t.Errorf("shapes %q %q %q: want the page size to tell shapes apart and ids and cursors not to", a, b, c)
	}
	d := costShape("videoStatuses", []byte(`{"variables":{"ids":["gid://1","gid://2"]}}`))
	e := costShape("videoStatuses", []byte(`{"variables":{"ids":["gid://3","gid://4"]}}`))
	f := costShape("videoStatuses", []byte(`{"variables":{"ids":["gid://3"]}}`))
	if d != e || d == f || d != "videoStatuses(ids#2)" {
		t.Errorf("shapes %q %q %q: want the number of IDs to tell shapes apart and the IDs not to", d, e, f)
	}
	if got := costShape("x", []byte(`{"variables":null}`)); got != "x" {
		t.Errorf("costShape without variables = %q", got)
	}
}

func TestParseGraphQLErrorsShapes(t *testing.T) {
	cases := []struct {
		raw       string
		n         int
		code, msg string
	}{
		{`[{"message":"Throttled","extensions":{"code":"THROTTLED"}}]`, 1, "THROTTLED", "Throttled"},
		{`"[API] Invalid API key or access token"`, 1, "", "[API] Invalid API key or access token"},
		{`{"query":"Required parameter missing or invalid"}`, 1, "", `{"query":"Required parameter missing or invalid"}`},
		{`[{}]`, 1, "", "(no message)"},
		{`null`, 0, "", ""},
		{``, 0, "", ""},
		{`[]`, 0, "", ""},
	}
	for _, tc := range cases {
		got := parseGraphQLErrors(json.RawMessage(tc.raw))
		if len(got) != tc.n || (tc.n > 0 && (got[0].Code != tc.code || got[0].Message != tc.msg)) {
			t.Errorf("parseGraphQLErrors(%s) = %+v", tc.raw, got)
		}
	}
}

// FuzzDecodeEnvelope feeds arbitrary answers to the decoder the client runs
// on every 200: it must not panic, and what it accepts must be JSON.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(`{"data":{"x":1},"extensions":{"cost":{"requestedQueryCost":10,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":5,"restoreRate":50.0}}}}`))
	f.Add([]byte(`{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}]}`))
	f.Add([]byte(`{"errors":"bad","extensions":[]}`))
	f.Add([]byte(`{"extensions":{"cost":{"throttleStatus":{"restoreRate":-1}}}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, cost, err := decodeEnvelope(bytes.NewReader(body))
		if err != nil {
			return
		}
		for _, ge := range parseGraphQLErrors(env.Errors) {
			if ge.Message == "" {
				t.Errorf("empty message from %q", body)
			}
		}
		if d, ok := throttleWait(cost); ok && d < 0 {
			t.Errorf("negative wait %v from %q", d, body)
		}
		p := newPacer(true, 0.2)
		p.observe("x", reservation{}, cost, t0)
		if _, d, _ := p.reserve("x", t0); d < 0 {
			t.Errorf("negative pacing %v from %q", d, body)
		}
	})
}

func TestKeyedMutexWaitEndsWithContextAndCleansUp(t *testing.T) {
	var k keyedMutex
	unlock, err := k.lock(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := k.lock(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("lock of a held key with an ended context = %v, want context.Canceled", err)
	}
	// A free key is not taken by an ended context either.
	if _, err := k.lock(ctx, "b"); !errors.Is(err, context.Canceled) {
		t.Fatalf("lock of a free key with an ended context = %v, want context.Canceled", err)
	}
	unlock()
	k.mu.Lock()
	n := len(k.locks)
	k.mu.Unlock()
	if n != 0 {
		t.Errorf("%d keys left after every holder and waiter left, want 0", n)
	}
	unlock2, err := k.lock(context.Background(), "a")
	if err != nil {
		t.Fatalf("relock after unlock: %v", err)
	}
	unlock2()
}
