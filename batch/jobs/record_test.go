package jobs_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeRecords feeds the export reader (jobs import) arbitrary files: it never panics,
// names every bad record by its line, and a record it accepts is one that
// export would write back as the same job, so importing it loses nothing.
func FuzzDecodeRecords(f *testing.F) {
	f.Add(`{"key":"SKU-1001#d821b2fb2543d8dc","sku":"SKU-1001","target_surface":"shopify-pdp","generation_id":"vgen_1","status":"completed","output_url":"https://cdn.creativeai.run/output/vgen_1.mp4","failover_used":true,"completed_at":"2026-03-11T08:00:00.123456789Z","attempt":1,"previous_generation_ids":["vgen_0"],"delivery_status":"delivered","delivery_attempts":2,"delivery_ref":"gid://shopify/MediaVideo/1","created_at":"2026-03-11T07:59:00Z","updated_at":"2026-03-11T08:01:00Z","buyer_status":"Video live - published to its destination"}` + "\n")
	f.Add("{\"key\":\"a\",\"sku\":\"A\",\"status\":\"pending\",\"duration\":5}\r\n\n{\"key\":\"b\",\"sku\":\"B\",\"status\":\"upscaling\"}\n")
	f.Add(`{"key":"a","sku":"A","status":"failed","error":"x","unknown":1}` + "\nnull\n[]\n{} {}\n")
	f.Add(`{"deferred_event":{"id":"vgen_1","status":"completed"}}`)
	f.Add(`{"key":"b#k","sku":"B","status":"completed","target_surface":"shopify-pdp","delivery_status":"rejected","review_note":"logo cropped","approved_at":"2026-03-11T08:00:00Z"}` + "\n" + `{"key":"c","sku":"C","status":"completed","delivery_status":"awaiting_review"}`)
	f.Fuzz(func(t *testing.T, file string) {
		lines := strings.Count(file, "\n") + 1
		for rec, err := range jobs.DecodeRecords(strings.NewReader(file), "jobs.jsonl") {
			var re *jobs.RecordError
			switch {
			case errors.As(err, &re):
				if re.Line < 1 || re.Line > lines || !strings.HasPrefix(re.Error(), "jobs.jsonl:") {
					t.Fatalf("bad record named as %q (line %d of %d)", re.Error(), re.Line, lines)
				}
				continue
			case err != nil:
				continue // a line over the limit ends the file
			}
			if rec.Key == "" || rec.SKU == "" || !rec.Status.Known() {
				t.Fatalf("line %d accepted without a key, sku or known status: %+v", rec.Line, rec.Job)
			}
			line, err := json.Marshal(jobs.Record{Job: rec.Job})
			if err != nil {
				t.Fatalf("line %d: accepted job does not encode: %v", rec.Line, err)
			}
			again, err := jobs.DecodeRecord(line)
			if err != nil {
				t.Fatalf("line %d: export of an accepted job is refused: %v\n%s", rec.Line, err, line)
			}
			if d := cmp.Diff(rec.Job, again.Job); d != "" {
				t.Fatalf("line %d: the job changes on its way through export (-read +again):\n%s", rec.Line, d)
			}
		}
	})
}

// TestDecodeRecordReview pins the review gate's fields in the record
// format: its delivery states and approved_at and review_note load, a
// record written before them still does, and a delivery state the SDK does
// not define is refused by name.
func TestDecodeRecordReview(t *testing.T) {
	rec, err := jobs.DecodeRecord([]byte(`{"key":"a","sku":"A","status":"completed","target_surface":"shopify-pdp","delivery_status":"rejected","review_note":"logo cropped","approved_at":"2026-03-11T08:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Delivery != jobs.DeliveryRejected || rec.ReviewNote != "logo cropped" || !rec.Approved() {
		t.Errorf("decoded %+v", rec.Job)
	}
	if rec, err := jobs.DecodeRecord([]byte(`{"key":"b","sku":"B","status":"completed","delivery_status":"awaiting_review"}`)); err != nil || rec.Approved() {
		t.Errorf("awaiting_review: %+v, %v; want it loaded, not approved", rec.Job, err)
	}
	if _, err := jobs.DecodeRecord([]byte(`{"key":"c","sku":"C","status":"completed","delivery_status":"pending","delivery_attempts":2}`)); err != nil {
		t.Errorf("a record without the review fields: %v", err)
	}
	_, err = jobs.DecodeRecord([]byte(`{"key":"d","sku":"D","status":"completed","delivery_status":"approved"}`))
	if err == nil || !strings.Contains(err.Error(), `unknown delivery_status "approved"`) {
		t.Errorf("unknown delivery state: %v", err)
	}
}

// TestDecodeRecordsByteOrderMark: an export saved by an editor as "UTF-8
// with BOM" (and CRLF) reads as it is; one in UTF-16, as Windows
// PowerShell's > writes it, is refused saying so, not as a JSON error at
// its first byte.
func TestDecodeRecordsByteOrderMark(t *testing.T) {
	var keys []string
	for rec, err := range jobs.DecodeRecords(strings.NewReader("\ufeff{\"key\":\"A\",\"sku\":\"A\",\"status\":\"completed\"}\r\n{\"key\":\"B\",\"sku\":\"B\",\"status\":\"pending\"}\r\n"), "jobs.jsonl") {
		if err != nil {
			t.Fatalf("DecodeRecords: %v", err)
		}
		keys = append(keys, rec.Key)
	}
	if diff := cmp.Diff([]string{"A", "B"}, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}

	utf16 := "\xff\xfe{\x00\"\x00k\x00e\x00y\x00\"\x00"
	var errs []error
	for _, err := range jobs.DecodeRecords(strings.NewReader(utf16), "jobs.jsonl") {
		errs = append(errs, err)
	}
	var re *jobs.RecordError
	if len(errs) != 1 || !errors.As(errs[0], &re) || !strings.Contains(errs[0].Error(), "jobs.jsonl:1: the file is UTF-16 text") {
		t.Errorf("errors %v, want one *RecordError saying the file is UTF-16", errs)
	}
}
