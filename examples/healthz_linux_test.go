package examples_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/examples/internal/cli"
)

// TestWebhookServerHealthzAfterWriteFailure: a write to the job file fails
// (here a file size limit, as a full disk would), after which the store
// refuses every change until the server restarts. /healthz must say so, or
// a load balancer goes on sending the server webhooks it can only answer
// with 503.
func TestWebhookServerHealthzAfterWriteFailure(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "video-jobs.jsonl")
	store, _, err := cli.OpenStore(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Track(t.Context(), jobs.Job{Key: "SKU-1#h", SKU: "SKU-1"}); err != nil {
		t.Fatal(err)
	}
	recordSubmission(t, store, "SKU-1#h", "vgen_health1")
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	const secret = "healthz test secret long enough"
	server, base := startServer(t, cleanEnv("CREATIVEAI_WEBHOOK_SECRET="+secret), "-jobs", path, "-poll-interval", "0")
	checkHealthz(t, base)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// The file may not grow: the next append fails with EFBIG.
	limit := &unix.Rlimit{Cur: uint64(info.Size()), Max: uint64(info.Size())}
	if err := unix.Prlimit(server.cmd.Process.Pid, unix.RLIMIT_FSIZE, limit, nil); err != nil {
		t.Skipf("cannot limit the server's file size: %v", err)
	}

	gen := creativeai.Generation{ID: "vgen_health1", Object: "video.generation", Status: creativeai.StatusProcessing}
	body, err := json.Marshal(gen)
	if err != nil {
		t.Fatal(err)
	}
	code, err := send(t.Context(), http.DefaultClient, base+cli.DefaultWebhookPath, secret, event{gen: gen, deliveryID: "whd_health1", body: body})
	if err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("webhook whose change cannot be written: %d %v, want 503", code, err)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(text), "job store failing") || !strings.Contains(string(text), path) {
		t.Errorf("GET /healthz after a failed write: %d %q, want 503 naming the job file's error", resp.StatusCode, text)
	}
}
