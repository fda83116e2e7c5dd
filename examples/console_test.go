package examples_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var consoleRE = regexp.MustCompile(`console on http://\S+:(\d+)`)

func fetch(t *testing.T, method, url, token string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWebhookServerConsole runs webhook-server with -console-addr: the
// console reads the server's store, and /metrics counts the webhook
// requests the server answered and the jobs by state.
func TestWebhookServerConsole(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jobsFile := filepath.Join(dir, "jobs.jsonl")
	if err := os.WriteFile(jobsFile, []byte(`{"sku":"A","generation_id":"vgen_1","status":"failed","error":"content policy"}`+"\n"+
		`{"sku":"B","generation_id":"vgen_2","status":"processing"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, addr, token string
	}{
		{"loopback", "127.0.0.1:0", ""},
		{"every interface with a token", "0.0.0.0:0", "console-token-for-tests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := cleanEnv("CREATIVEAI_WEBHOOK_SECRET=rph_test_signing_secret", "CATALOGVIDEO_CONSOLE_TOKEN="+tc.token)
			server, base := startServer(t, env, "-jobs", jobsFile, "-poll-interval", "0", "-console-addr", tc.addr)
			console := "http://127.0.0.1:" + server.waitOutput(consoleRE, time.Minute)[1]

			if tc.token != "" {
				if code, _ := fetch(t, "GET", console+"/api/page", "", nil); code != http.StatusUnauthorized {
					t.Errorf("console without the token: %d", code)
				}
			}
			code, body := fetch(t, "GET", console+"/api/page?state=failed", tc.token, nil)
			if code != 200 {
				t.Fatalf("api/page: %d %s", code, body)
			}
			var page struct {
				Rows []struct{ SKU string }
			}
			if err := json.Unmarshal([]byte(body), &page); err != nil || len(page.Rows) != 1 || page.Rows[0].SKU != "A" {
				t.Errorf("failed rows %s (%v)", body, err)
			}

			// An unsigned webhook is refused and counted.
			if code, _ := fetch(t, "POST", base+"/webhooks/creativeai", "", strings.NewReader(`{"id":"vgen_2","status":"completed"}`)); code != 401 {
				t.Errorf("unsigned webhook: %d", code)
			}
			code, metrics := fetch(t, "GET", console+"/metrics", tc.token, nil)
			if code != 200 {
				t.Fatalf("metrics: %d", code)
			}
			for _, line := range []string{
				`catalogvideo_jobs{state="failed"} 1`,
				`catalogvideo_jobs{state="rendering"} 1`,
				`catalogvideo_webhook_requests_total{result="unauthorized"} 1`,
			} {
				if !strings.Contains(metrics, line+"\n") {
					t.Errorf("metrics lack %q", line)
				}
			}
			if code := server.stop(syscall.SIGTERM, time.Minute); code != 0 {
				t.Errorf("exit %d\n%s", code, server.stderr)
			}
		})
	}
}
