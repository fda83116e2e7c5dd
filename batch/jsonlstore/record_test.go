package jsonlstore

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

func TestEncodeRecord(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    memstore.Record
		want string
	}{{
		name: "job",
		r: memstore.Record{Job: &jobs.Job{
			Key: "SKU-1-ab12", SKU: "SKU-1", TargetSurface: "shopify-pdp", GenerationID: "vgen_1",
			Status: jobs.StatusCompleted, OutputURL: "https://cdn.example.com/v.mp4?a=1&b=2",
			CompletedAt: time.Date(2026, 3, 11, 8, 44, 3, 0, time.UTC), Duration: 5,
		}},
		want: `{"key":"SKU-1-ab12","sku":"SKU-1","target_surface":"shopify-pdp","generation_id":"vgen_1","status":"completed","output_url":"https://cdn.example.com/v.mp4?a=1&b=2","failover_used":false,"completed_at":"2026-03-11T08:44:03Z","duration":"5s"}` + "\n",
	}, {
		name: "kept event",
		r:    memstore.Record{Event: &creativeai.Generation{ID: "vgen_2", Status: creativeai.StatusFailed, Error: "nsfw"}},
		want: `{"deferred_event":{"id":"vgen_2","status":"failed","error":"nsfw"}}` + "\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := encodeRecord(&buf, tc.r); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tc.want {
				t.Errorf("line\n got %s\nwant %s", got, tc.want)
			}
			back, err := decodeLine(bytes.TrimSpace(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.r, back); d != "" {
				t.Errorf("decoded line mismatch (-want +got):\n%s", d)
			}
		})
	}
}

// FuzzDecodeLine feeds the line parser what a job file may hold: a decoded
// line re-encodes to a line that decodes to the same record.
func FuzzDecodeLine(f *testing.F) {
	for _, seed := range []string{
		`{"sku":"SKU-1001","collection":"new-arrivals","target_surface":"shopify-pdp","generation_id":"vgen_abc123","status":"completed","output_url":"https://cdn.creativeai.run/output/video-abc123.mp4","failover_used":false,"completed_at":"2026-03-11T08:44:03Z","error":null}`,
		`{"sku":"SKU-1002","collection":"spring-drop","target_surface":"shopify-pdp","generation_id":"vgen_def456","status":"pending"}`,
		`{"sku":"SKU-1003","status":"submit_failed","error":"HTTP 500"}`,
		`{"sku":"A","status":"queued","completed_at":1773218643.25,"error":{"code":"x","message":"y"}}`,
		`{"key":"k","sku":"A","status":"failed","attempt":2,"previous_generation_ids":["a","b"],"delivery_status":"pending","delivery_next_at":"2026-03-11T08:44:03.5+02:00","duration":5}`,
		`{"deferred_event":{"id":"vgen_1","status":"completed","completed_at":"1773218643","failover_used":true}}`,
		`{"deferred_event":null,"sku":"x"}`,
		`{"delivery_lease":{"key":"SKU-1#k","owner":"host-1-ab/0","until":"2026-03-11T08:49:03Z"}}`,
		`{"delivery_lease":{"key":"k","owner":""},"deferred_event":{"id":"v"}}`,
		`[]`, `null`, `{`, `"x"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := decodeLine(line)
		if err != nil {
			return
		}
		if n := btoi(rec.Job != nil) + btoi(rec.Event != nil) + btoi(rec.Lease != nil); n != 1 {
			t.Fatalf("record has %d of job, event and lease: %+v", n, rec)
		}
		if rec.Job != nil && (rec.Job.Key == "" || !rec.Job.Status.Known()) {
			t.Fatalf("decoded job without key or with status %q", rec.Job.Status)
		}
		var buf bytes.Buffer
		if err := encodeRecord(&buf, rec); err != nil {
			t.Fatalf("encode of a decoded line: %v", err)
		}
		if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
			t.Fatalf("encoded record is not one line: %q", buf.Bytes())
		}
		back, err := decodeLine(bytes.TrimSpace(buf.Bytes()))
		if err != nil {
			t.Fatalf("re-decode of %s: %v", buf.Bytes(), err)
		}
		if d := cmp.Diff(rec, back, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("round trip mismatch (-first +second):\n%s", d)
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FuzzReadLenient checks the direct reading of completed_at and error
// against the service's lenient one it stands in for.
func FuzzReadLenient(f *testing.F) {
	for _, seed := range [][2]string{
		{`"2026-03-11T08:44:03Z"`, `null`}, {``, ``}, {`"2026-03-11T08:44:03.5+02:00"`, `"HTTP 500"`},
		{`" 2026-03-11T08:44:03Z "`, `""`}, {`"1773218643"`, `{"code":"x"}`}, {`1773218643.25`, `"caf\u00e9"`},
		{`"  "`, `"\"quoted\""`}, {`null`, `"\xff"`}, {`"2026-13-11T08:44:03Z"`, `12`},
	} {
		f.Add([]byte(seed[0]), []byte(seed[1]))
	}
	f.Fuzz(func(t *testing.T, completedAt, errText []byte) {
		for _, raw := range [][]byte{completedAt, errText} {
			if len(bytes.TrimSpace(raw)) > 0 && !json.Valid(raw) {
				return // the line would not have parsed
			}
		}
		wantT, wantE, werr := readService(completedAt, errText)
		gotT, gotE, err := readLenient(completedAt, errText)
		if (err != nil) != (werr != nil) {
			t.Fatalf("error %v, the service's reading %v", err, werr)
		}
		if !gotT.Equal(wantT) || gotT.String() != wantT.String() || gotE != wantE {
			t.Fatalf("read (%v, %q), the service's reading (%v, %q)", gotT, gotE, wantT, wantE)
		}
	})
}
