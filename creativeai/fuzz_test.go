package creativeai

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// FuzzGenerationUnmarshal feeds arbitrary JSON to the lenient decoder: it
// must not panic, whatever it accepts must be in range, and encoding and
// decoding what it accepted must give the same generation.
func FuzzGenerationUnmarshal(f *testing.F) {
	for _, seed := range []string{
		`{"id":"vgen_01","object":"video.generation","status":"completed","model":"kling-v3","output_url":"https://cdn/x.mp4","failover_used":true,"completed_at":"2026-03-01T12:00:05Z","error":null}`,
		`{"id":"gen_9","status":"processing","duration":5,"created_at":1772366400,"completed_at":"1772366405.5"}`,
		`{"id":"g","status":"pending","duration":"10s","created_at":"2026-03-01T13:00:05+01:00"}`,
		`{"id":"g","status":"failed","error":{"code":"provider_timeout","message":"provider timed out"}}`,
		`{"id":"g","status":"upscaling","duration":5.0,"error":502,"created_at":""}`,
		`{"id":"g","duration":"1m","completed_at":"NaN"}`,
		`{"status":null,"duration":null,"created_at":null}`,
		`{}`, `null`, `[]`, `"x"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var g Generation
		if err := json.Unmarshal(data, &g); err != nil {
			return
		}
		if g.Duration < 0 || g.Duration > maxDurationSeconds {
			t.Fatalf("accepted out-of-range duration %d from %s", g.Duration, data)
		}
		for _, ts := range []struct {
			name string
			v    interface{ Year() int }
		}{{"created_at", g.CreatedAt}, {"completed_at", g.CompletedAt}} {
			if y := ts.v.Year(); y < 0 || y > 9999 {
				t.Fatalf("%s decoded to year %d from %s", ts.name, y, data)
			}
		}
		b, err := json.Marshal(g)
		if err != nil {
			t.Fatalf("re-encoding %+v (from %s): %v", g, data, err)
		}
		var again Generation
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatalf("decoding own encoding %s: %v", b, err)
		}
		if diff := cmp.Diff(g, again); diff != "" {
			t.Fatalf("round trip of %s changed the generation (-first +second):\n%s", data, diff)
		}
	})
}

// FuzzDurationJSON: the accepted forms of a duration decode into range and
// survive a round trip through their "5s" encoding.
func FuzzDurationJSON(f *testing.F) {
	for _, seed := range []string{`"5s"`, `5`, `5.0`, `"5"`, `"1m30s"`, `1e1`, `-0`, `null`, `"500ms"`, `86400`, `1e400`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Duration
		if err := json.Unmarshal(data, &d); err != nil {
			return
		}
		if d < 0 || d > maxDurationSeconds {
			t.Fatalf("%s decoded to out-of-range %d", data, d)
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var again Duration
		if err := json.Unmarshal(b, &again); err != nil || again != d {
			t.Fatalf("round trip %s -> %s -> %v, %v", data, b, again, err)
		}
	})
}

// FuzzParseDuration: what ParseDuration accepts is in range and reads back
// from its own String form.
func FuzzParseDuration(f *testing.F) {
	for _, seed := range []string{"5s", "5", " 10s ", "1m", "1h", "1.5s", "-1", "+5", "0x10", "9223372036854775807", "1e3"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "creativeai: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			return
		}
		if d < 0 || d > maxDurationSeconds {
			t.Fatalf("ParseDuration(%q) = %d, out of range", s, d)
		}
		if again, err := ParseDuration(d.String()); err != nil || again != d {
			t.Fatalf("ParseDuration(%q) = %v, but ParseDuration(%q) = %v, %v", s, d, d.String(), again, err)
		}
	})
}

// FuzzAPIError feeds arbitrary error bodies to the lenient error parser: it
// must not panic, must keep the body bounded, and must never let the API key
// through, however the body spells it.
func FuzzAPIError(f *testing.F) {
	for _, seed := range []struct{ ct, body string }{
		{"application/json", `{"error":{"message":"Rate limit reached","type":"rate_limit_error","code":"rate_limit_exceeded"}}`},
		{"application/json", `{"error":"invalid image_url","message":"m","code":12}`},
		{"application/json", `{"detail":"bad key ` + testKey + `"}`},
		{"application/json", `{"message":"bad key rph_live_T0PSECRET\u002dtest-key"}`},
		{"text/plain", "upstream connect error " + testKey},
		{"text/html", "<html>502</html>"},
		{"", ""},
	} {
		f.Add(seed.ct, []byte(seed.body))
	}
	c, err := NewClient(testKey)
	if err != nil {
		f.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, "https://api.creativeai.run/v1/video/generations/g", nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		resp := &http.Response{
			StatusCode: http.StatusBadRequest,
			Header:     http.Header{"Content-Type": {contentType}},
			Body:       io.NopCloser(bytes.NewReader(body)),
		}
		e := c.newAPIError(req, resp)
		if len(e.Body) > maxErrorBody {
			t.Fatalf("kept %d bytes of body", len(e.Body))
		}
		msg := e.Error()
		for what, s := range map[string]string{"Error()": msg, "Body": string(e.Body), "Message": e.Message, "Type": e.Type, "Code": e.Code} {
			if strings.Contains(s, testKey) {
				t.Fatalf("%s contains the API key: %q", what, s)
			}
		}
		if utf8.Valid(body) && !utf8.ValidString(msg) {
			t.Fatalf("Error() is not valid UTF-8 for a UTF-8 body: %q", msg)
		}
	})
}
