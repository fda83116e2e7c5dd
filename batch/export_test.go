package batch_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/batch/storetest"

	"github.com/google/go-cmp/cmp"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

func TestExport(t *testing.T) {
	store := memstore.New()
	ctx := t.Context()
	done := storetest.CompletedJob(t, store, "SKU-1001", "shopify-pdp")
	if _, _, err := store.Track(ctx, jobs.Job{Key: "SKU-1002", SKU: "SKU-1002", Collection: "spring-drop", Status: jobs.StatusSubmitFailed,
		Error: `HTTP 500: {"error":"boom"}`}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Track(ctx, jobs.Job{Key: "SKU-1003#ab", SKU: "SKU-1003", ImageURL: "https://cdn.example.com/a.jpg?w=1&h=2", Status: jobs.StatusPending}); err != nil {
		t.Fatal(err)
	}
	copyText := jobs.DefaultBuyerCopy()
	copyText.Statuses[jobs.StatusPending] = "In the queue"
	copyText.NotSubmitted = "Not sent yet"

	var buf bytes.Buffer
	if err := batch.Export(ctx, batch.ExportConfig{Store: store, Writer: &buf, BuyerCopy: copyText}); err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
		if strings.Contains(sc.Text(), `\u0026`) {
			t.Errorf("line escapes & in URLs: %s", sc.Text())
		}
	}
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3", len(lines))
	}
	first := lines[0]
	for field, want := range map[string]any{
		"sku": "SKU-1001", "target_surface": "shopify-pdp", "generation_id": "vgen_SKU-1001", "status": "completed",
		"output_url": "https://cdn.example.com/SKU-1001.mp4", "failover_used": false, "delivery_status": "pending",
		"buyer_status": "Video ready - publishing to its destination", "key": done.Key,
	} {
		if first[field] != want {
			t.Errorf("line 1 %s = %v, want %v", field, first[field], want)
		}
	}
	if _, err := time.Parse(time.RFC3339, first["completed_at"].(string)); err != nil {
		t.Errorf("completed_at: %v", err)
	}
	if diff := cmp.Diff([]any{"Not submitted - fix the row or retry the batch; nothing was charged", "Not sent yet"},
		[]any{lines[1]["buyer_status"], lines[2]["buyer_status"]}); diff != "" {
		t.Errorf("buyer_status (-want +got):\n%s", diff)
	}
	if lines[1]["error"] != `HTTP 500: {"error":"boom"}` || lines[1]["status"] != "submit_failed" || lines[1]["collection"] != "spring-drop" {
		t.Errorf("line 2: %v", lines[1])
	}

	// A failing writer and a failing store are reported.
	if err := batch.Export(ctx, batch.ExportConfig{Store: store, Writer: errWriter{}}); err == nil {
		t.Error("Export to a failing writer succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := batch.Export(cancelled, batch.ExportConfig{Store: store, Writer: &buf}); !errors.Is(err, context.Canceled) {
		t.Errorf("Export with a cancelled context = %v", err)
	}
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func ExampleExport() {
	ctx := context.Background()
	at := time.Date(2026, 3, 11, 8, 44, 3, 0, time.UTC)
	store := memstore.New(memstore.WithClock(jobs.ClockFunc(func() time.Time { return at })))
	job, _, _ := store.Track(ctx, jobs.Job{Key: "SKU-1001#4f2a", SKU: "SKU-1001", Collection: "new-arrivals",
		TargetSurface: "shopify-pdp", Status: jobs.StatusPending})
	_, _ = store.RecordSubmission(ctx, job.Key, jobs.Submission{Generation: &creativeai.Generation{ID: "vgen_abc123", Status: creativeai.StatusPending}})
	_, _ = store.Apply(ctx, creativeai.Generation{ID: "vgen_abc123", Status: creativeai.StatusCompleted,
		OutputURL: "https://cdn.creativeai.run/output/video-abc123.mp4", CompletedAt: at})

	_ = batch.Export(ctx, batch.ExportConfig{Store: store, Writer: os.Stdout})
	// Output:
	// {"key":"SKU-1001#4f2a","sku":"SKU-1001","collection":"new-arrivals","target_surface":"shopify-pdp","generation_id":"vgen_abc123","status":"completed","output_url":"https://cdn.creativeai.run/output/video-abc123.mp4","failover_used":false,"completed_at":"2026-03-11T08:44:03Z","delivery_status":"pending","delivery_next_at":"2026-03-11T08:44:03Z","created_at":"2026-03-11T08:44:03Z","updated_at":"2026-03-11T08:44:03Z","buyer_status":"Video ready - publishing to its destination"}
}
