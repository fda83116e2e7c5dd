package examples_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The flags, exit codes and messages of the programs are a contract that
// outside tests rely on (see docs/contracts.md).
func TestUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("good.csv", "sku,image_url,video_prompt\nA,https://cdn.example.com/a.jpg,spin\n")
	noPrompt := write("no-prompt.csv", "sku,image_url,collection\nA,https://cdn.example.com/a.jpg,c\n")
	badRows := write("bad-rows.csv", "sku,image_url,video_prompt\nA,https://cdn.example.com/a.jpg,spin\n,https://cdn.example.com/b.jpg,spin\nC,not-a-url,spin\n")
	cp1252 := write("cp1252.csv", "sku,image_url,video_prompt\r\nA,https://cdn.example.com/a.jpg,\"\x93slow\x94 push, caf\xe9 table\"\r\n")
	semicolons := write("semicolons.csv", "sep=;\nsku;image_url;video_prompt;\n;;;\nA;https://cdn.example.com/a.jpg;slow push, white sweep;\n")
	titled := write("titled.csv", "sku,image_url,title,collection\nA,https://cdn.example.com/a.jpg,Mug,new-arrivals\n")
	prompts := write("prompts.tmpl", `{{define "default"}}5-second hero shot of the {{.Title}}, slow push{{end}}`)
	badPrompts := write("bad.tmpl", `hero shot of the {{.Title}}`)
	utf16LE := write("utf16le.csv", "s\x00k\x00u\x00,\x00i\x00m\x00a\x00g\x00e\x00_\x00u\x00r\x00l\x00,\x00v\x00i\x00d\x00e\x00o\x00_\x00p\x00r\x00o\x00m\x00p\x00t\x00\n\x00")
	scientific := write("scientific.csv", "sku,image_url,video_prompt\n1.23457E+11,https://cdn.example.com/a.jpg,spin\n")
	jobsFile := write("jobs.jsonl", `{"sku":"A","generation_id":"vgen_1","status":"pending"}`+"\n")
	keyEnv := cleanEnv("CREATIVEAI_API_KEY=rph_test_key")

	tests := []struct {
		name    string
		env     []string
		program string
		args    []string
		code    int
		stdout  string // substring expected on stdout
		stderr  string // substring expected on stderr
		// notStderr must not be on stderr.
		notStderr string
	}{
		// Help goes to stdout and exits 0.
		{name: "catalog help", program: "catalog", args: []string{"-h"}, stdout: "usage: catalog"},
		{name: "submit help", program: "submit", args: []string{"-h"}, stdout: "usage: submit -csv FILE -jobs FILE|DSN -webhook-url URL"},
		{name: "webhook-server help", program: "webhook-server", args: []string{"-h"}, stdout: "usage: webhook-server -addr 127.0.0.1:8080 -jobs FILE|DSN"},
		{name: "jobs help", program: "jobs", args: []string{"-h"}, stdout: "usage: jobs -jobs FILE|DSN (status|export|compact)"},

		// Bad flags.
		{name: "catalog unknown flag", program: "catalog", args: []string{"-bogus"}, code: 2, stderr: "flag provided but not defined: -bogus"},
		{name: "catalog negative timeout", program: "catalog", args: []string{"-timeout", "-1s"}, code: 2, stderr: "-timeout"},
		{name: "catalog timeout not a duration", program: "catalog", args: []string{"-timeout", "x"}, code: 2, stderr: `catalog: -timeout "x": not a duration; want a Go duration with its unit, such as 90s, 30m or 2h`},
		{name: "catalog timeout too long", program: "catalog", args: []string{"-timeout", "99999999999h"}, code: 2, stderr: `catalog: -timeout "99999999999h": too long; the longest duration is 2562047h`},
		{name: "catalog zero timeout", program: "catalog", args: []string{"-timeout", "0"}, code: 2, stderr: "catalog: -timeout is 0, which would stop the run before any row finished; give a positive duration such as 30m, or leave the flag out for the default (15s offline, 30m0s live)"},
		{name: "catalog help says -timeout is above 0", program: "catalog", args: []string{"-h"}, stdout: "how long to wait for every row to finish, above 0"},
		{name: "catalog retry-failed neither boolean nor classes", program: "catalog", args: []string{"-retry-failed=foo"}, code: 2, stderr: `catalog: -retry-failed "foo": unknown failure class "foo" (want a comma-separated list of transient, input, policy, or all); the flag also takes true or false, and alone means true (every class)`},
		{name: "catalog bad boolean", program: "catalog", args: []string{"-preflight=maybe"}, code: 2, stderr: `catalog: -preflight "maybe": not a boolean; want true or false (-preflight alone means true)`},
		{name: "submit rate not a number", program: "submit", args: []string{"-rate", "fast"}, code: 2, stderr: `submit: -rate "fast": not a number; want one such as 2 (the default)`},
		{name: "webhook-server poll interval without unit", program: "webhook-server", args: []string{"-poll-interval", "5"}, code: 2, stderr: `webhook-server: -poll-interval "5": not a duration; want a Go duration with its unit`},
		{name: "submit duration too long", env: keyEnv, program: "submit", args: []string{"-csv", good, "-jobs", jobsFile, "-webhook-url=", "-duration", "99999h"}, code: 2, stderr: `-duration "99999h" is longer than 86400s (24h), the longest clip length taken; write the clip's length in seconds, such as 5s`},
		{name: "catalog webhook-url offline", program: "catalog", args: []string{"-webhook-url", "https://example.com/h"}, code: 2, stderr: "CREATIVEAI_API_KEY"},
		{name: "catalog bad listen", program: "catalog", args: []string{"-listen", "nonsense"}, code: 2, stderr: `-listen "nonsense": address nonsense: missing port in address`},
		{name: "submit no flags", env: keyEnv, program: "submit", code: 2, stderr: "-csv is required"},
		{name: "submit no jobs", env: keyEnv, program: "submit", args: []string{"-csv", good, "-webhook-url", "https://example.com/h"}, code: 2, stderr: "-jobs is required"},
		{name: "submit no webhook-url", env: keyEnv, program: "submit", args: []string{"-csv", good, "-jobs", jobsFile}, code: 2, stderr: "-webhook-url is required"},
		{name: "submit bad webhook-url", env: keyEnv, program: "submit", args: []string{"-csv", good, "-jobs", jobsFile, "-webhook-url", "example.com"}, code: 2, stderr: "not an absolute http(s) URL"},
		{name: "submit zero concurrency", env: keyEnv, program: "submit", args: []string{"-csv", good, "-jobs", jobsFile, "-webhook-url=", "-concurrency", "0"}, code: 2, stderr: "-concurrency"},
		{name: "submit bad rate", env: keyEnv, program: "submit", args: []string{"-csv", good, "-jobs", jobsFile, "-webhook-url=", "-rate", "0"}, code: 2, stderr: "-rate"},
		{name: "submit bad duration", env: keyEnv, program: "submit", args: []string{"-csv", good, "-jobs", jobsFile, "-webhook-url=", "-duration", "1.5s"}, code: 2, stderr: "-duration"},
		{name: "submit bad aspect ratio", env: keyEnv, program: "submit", args: []string{"-csv", good, "-jobs", jobsFile, "-webhook-url=", "-aspect-ratio", "wide"}, code: 2, stderr: "-aspect-ratio"},
		{name: "submit bad DSN", env: keyEnv, program: "submit", args: []string{"-csv", good, "-jobs", "mysql://x/y", "-webhook-url="}, code: 2, stderr: "unsupported job store"},
		{name: "submit no API key", program: "submit", args: []string{"-csv", good, "-jobs", jobsFile, "-webhook-url="}, code: 2, stderr: "CREATIVEAI_API_KEY is not set"},
		{name: "webhook-server no jobs", env: keyEnv, program: "webhook-server", code: 2, stderr: "-jobs is required"},
		{name: "webhook-server no secret", program: "webhook-server", args: []string{"-jobs", jobsFile}, code: 2, stderr: "CREATIVEAI_WEBHOOK_SECRET"},
		{name: "webhook-server polling without key", env: cleanEnv("CREATIVEAI_WEBHOOK_SECRET=rph_test_signing_secret"), program: "webhook-server", args: []string{"-jobs", jobsFile, "-poll-interval", "10s"}, code: 2, stderr: "-poll-interval"},
		{name: "webhook-server no delivery batch", env: keyEnv, program: "webhook-server", args: []string{"-jobs", jobsFile, "-delivery-batch", "0"}, code: 2, stderr: "-delivery-batch is 0; want 1 or more"},
		{name: "webhook-server bad path", env: keyEnv, program: "webhook-server", args: []string{"-jobs", jobsFile, "-path", "hooks"}, code: 2, stderr: "-path"},
		{name: "webhook-server short secret", env: cleanEnv("CREATIVEAI_WEBHOOK_SECRET=hunter2"), program: "webhook-server", args: []string{"-jobs", jobsFile, "-poll-interval", "0"}, code: 2, stderr: "CREATIVEAI_WEBHOOK_SECRET: webhook: NewVerifier: secret 1 of 1: invalid signing secret: 7 bytes long, fewer than 16"},
		{name: "webhook-server short API key as secret", env: keyEnv, program: "webhook-server", args: []string{"-jobs", jobsFile}, code: 2, stderr: "CREATIVEAI_API_KEY (the signing secret while CREATIVEAI_WEBHOOK_SECRET is not set): webhook: NewVerifier"},
		{name: "webhook-server signature as secret", env: cleanEnv("CREATIVEAI_WEBHOOK_SECRET=rph_test_signing_secret,v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), program: "webhook-server", args: []string{"-jobs", jobsFile, "-poll-interval", "0"}, code: 2, stderr: `secret 2 of 3: invalid signing secret: "v1" is the version tag of a webhook-signature value`},
		{name: "webhook-server truncated whsec_", env: cleanEnv("CREATIVEAI_WEBHOOK_SECRET=whsec_YWJj"), program: "webhook-server", args: []string{"-jobs", jobsFile, "-poll-interval", "0"}, code: 2, stderr: `the key after "whsec_" decodes to 3 bytes`},
		{name: "webhook-server whsec_ not base64", env: cleanEnv("CREATIVEAI_WEBHOOK_SECRET=whsec_abc$def"), program: "webhook-server", args: []string{"-jobs", jobsFile, "-poll-interval", "0"}, code: 2, stderr: `the text after "whsec_" is not valid base64`},
		{name: "webhook-server console on every interface without a token", env: cleanEnv("CREATIVEAI_WEBHOOK_SECRET=rph_test_signing_secret"), program: "webhook-server", args: []string{"-jobs", jobsFile, "-poll-interval", "0", "-console-addr", "0.0.0.0:8081"}, code: 2, stderr: "-console-addr 0.0.0.0:8081 is not a loopback address"},
		{name: "webhook-server console on every interface with a short token", env: cleanEnv("CREATIVEAI_WEBHOOK_SECRET=rph_test_signing_secret", "CATALOGVIDEO_CONSOLE_TOKEN=a"), program: "webhook-server", args: []string{"-jobs", jobsFile, "-poll-interval", "0", "-console-addr", "0.0.0.0:8081"}, code: 2, stderr: "CATALOGVIDEO_CONSOLE_TOKEN is 1 bytes; a console on 0.0.0.0:8081 needs at least 16"},
		{name: "catalog zero cap", env: cleanEnv(), program: "catalog", args: []string{"-max-spend", "0"}, code: 2, stderr: "leave the flag out for no cap"},
		{name: "webhook-server console bad address", env: cleanEnv("CREATIVEAI_WEBHOOK_SECRET=rph_test_signing_secret"), program: "webhook-server", args: []string{"-jobs", jobsFile, "-poll-interval", "0", "-console-addr", "8081"}, code: 2, stderr: "-console-addr"},
		{name: "submit help lists -preflight", program: "submit", args: []string{"-h"}, stdout: "-preflight"},
		{name: "catalog help lists -preflight", program: "catalog", args: []string{"-h"}, stdout: "-preflight"},
		{name: "submit half Shopify", env: cleanEnv("CREATIVEAI_API_KEY=rph_test_key", "SHOPIFY_STORE=s.myshopify.com"), program: "submit", args: []string{"-csv", good, "-jobs", jobsFile, "-webhook-url="}, code: 2, stderr: "SHOPIFY_ADMIN_TOKEN"},
		{name: "webhook-server half Shopify", env: cleanEnv("CREATIVEAI_API_KEY=rph_test_key_for_shopify", "SHOPIFY_STORE=s.myshopify.com"), program: "webhook-server", args: []string{"-jobs", jobsFile}, code: 2, stderr: "SHOPIFY_ADMIN_TOKEN"},
		{name: "webhook-server unknown review surface", env: cleanEnv("CREATIVEAI_WEBHOOK_SECRET=rph_test_signing_secret"), program: "webhook-server", args: []string{"-jobs", jobsFile, "-poll-interval", "0", "-review", "shopify-pdp,cms"}, code: 2, stderr: `-review "shopify-pdp,cms": unknown target surface "cms"`},
		{name: "jobs help names the review commands", program: "jobs", args: []string{"-h"}, stdout: "or: jobs -jobs FILE|DSN reject SKU... -reason TEXT"},
		{name: "jobs approve unknown SKU", program: "jobs", args: []string{"-jobs", jobsFile, "approve", "NOPE"}, code: 2, stderr: "NOPE: no job has this SKU or key"},
		{name: "jobs approve nothing", program: "jobs", args: []string{"-jobs", jobsFile, "approve"}, code: 2, stderr: "approve needs the SKUs"},
		{name: "jobs approve SKUs and -all", program: "jobs", args: []string{"-jobs", jobsFile, "approve", "A", "-all"}, code: 2, stderr: "not both"},
		{name: "jobs reject without a reason", program: "jobs", args: []string{"-jobs", jobsFile, "reject", "A"}, code: 2, stderr: "reject needs -reason TEXT"},
		{name: "jobs reject not awaiting review", program: "jobs", args: []string{"-jobs", jobsFile, "reject", "A", "-reason", "blurry"}, code: 2, stderr: "A: job is not awaiting review: A is pending"},
		{name: "jobs retry-delivery not failed", program: "jobs", args: []string{"-jobs", jobsFile, "retry-delivery", "A"}, code: 2, stderr: "A: job's delivery has not failed"},
		{name: "jobs -reason with approve", program: "jobs", args: []string{"-jobs", jobsFile, "approve", "A", "-reason", "x"}, code: 2, stderr: "-reason goes with reject"},
		{name: "jobs no flags", program: "jobs", code: 2, stderr: "-jobs is required"},
		{name: "jobs no command", program: "jobs", args: []string{"-jobs", jobsFile}, code: 2, stderr: "missing command"},
		{name: "jobs unknown command", program: "jobs", args: []string{"-jobs", jobsFile, "purge"}, code: 2, stderr: `unknown command "purge"`},
		{name: "jobs flags after the command", program: "jobs", args: []string{"status", "-jobs", jobsFile}, stdout: "1 job: 1 pending"},
		{name: "jobs extra arguments", program: "jobs", args: []string{"-jobs", jobsFile, "status", "export"}, code: 2, stderr: "unexpected arguments after status"},
		{name: "jobs compact on a database", program: "jobs", args: []string{"-jobs", "sqlite:" + filepath.Join(dir, "x.db"), "compact"}, code: 2, stderr: "JSONL job files only"},
		{name: "jobs missing file", program: "jobs", args: []string{"-jobs", filepath.Join(dir, "missing.jsonl"), "status"}, code: 2, stderr: "missing.jsonl"},

		// Manifest errors: exit 2 before anything is sent.
		{name: "submit missing column", env: keyEnv, program: "submit", args: []string{"-csv", noPrompt, "-jobs", jobsFile, "-webhook-url="}, code: 2, stderr: "video_prompt"},
		{name: "submit missing column dry run", program: "submit", args: []string{"-csv", noPrompt, "-dry-run"}, code: 2, stderr: "video_prompt"},
		{name: "submit bad rows", env: keyEnv, program: "submit", args: []string{"-csv", badRows, "-jobs", jobsFile, "-webhook-url="}, code: 2, stderr: badRows + ":3: sku is empty"},
		{name: "submit missing manifest", env: keyEnv, program: "submit", args: []string{"-csv", filepath.Join(dir, "nope.csv"), "-jobs", jobsFile, "-webhook-url="}, code: 2, stderr: "nope.csv"},
		{name: "catalog missing column", program: "catalog", args: []string{"-csv", noPrompt, "-jobs", filepath.Join(dir, "c.jsonl")}, code: 2, stderr: "video_prompt"},

		{name: "submit not UTF-8", program: "submit", args: []string{"-csv", cp1252, "-dry-run"}, code: 2, stderr: cp1252 + ":2: video_prompt has byte 0x93, which is not UTF-8"},
		{name: "submit unknown encoding", program: "submit", args: []string{"-csv", cp1252, "-dry-run", "-encoding", "klingon"}, code: 2, stderr: `-encoding: unknown text encoding "klingon"`},
		{name: "catalog unknown encoding", program: "catalog", args: []string{"-encoding", "klingon"}, code: 2, stderr: `-encoding: unknown text encoding "klingon"`},
		{name: "submit UTF-16 read as windows-1252", program: "submit", args: []string{"-csv", utf16LE, "-dry-run", "-encoding", "windows-1252"}, code: 2, stderr: utf16LE + ":1: the header is mostly NUL characters: the file is UTF-16 (little-endian) text, not windows-1252; name its encoding utf-16le instead"},
		{name: "submit UTF-16 in the wrong byte order", program: "submit", args: []string{"-csv", utf16LE, "-dry-run", "-encoding", "utf-16be"}, code: 2, stderr: "the file is UTF-16 (little-endian), not utf-16be; name its encoding utf-16le instead"},
		{name: "submit scientific SKU", program: "submit", args: []string{"-csv", scientific, "-dry-run"}, code: 2, stderr: scientific + `:2: sku "1.23457E+11" is a number in scientific notation`, notStderr: `(sku "1.23457E+11")`},
		{name: "catalog not UTF-8", program: "catalog", args: []string{"-csv", cp1252, "-jobs", filepath.Join(dir, "c2.jsonl")}, code: 2, stderr: "which is not UTF-8"},

		{name: "submit bad template", program: "submit", args: []string{"-csv", titled, "-dry-run", "-template", badPrompts}, code: 2, stderr: badPrompts + `:1:1: text outside the {{define "NAME"}}…{{end}} blocks is not used; move it into a block`},
		{name: "submit template misses a column", program: "submit", args: []string{"-csv", good, "-dry-run", "-template", prompts}, code: 2, stderr: good + ":2: prompt template: " + prompts + `:1:49: executing "default" at <.Title>: error calling Title: Title is blank for this row`},

		// A dry run needs no key and sends nothing.
		{name: "submit dry run template", program: "submit", args: []string{"-csv", titled, "-dry-run", "-template", prompts}, stdout: titled + `:2: sku "A", template "default" version `},
		{name: "submit dry run template prompt", program: "submit", args: []string{"-csv", titled, "-dry-run", "-template", prompts}, stdout: ":\n    5-second hero shot of the Mug, slow push\n"},
		{name: "submit dry run windows-1252", program: "submit", args: []string{"-csv", cp1252, "-dry-run", "-encoding", "windows-1252"}, stdout: "Dry run: would submit 1/1 jobs"},
		{name: "submit dry run semicolons", program: "submit", args: []string{"-csv", semicolons, "-dry-run"}, stdout: "Dry run: would submit 1/1 jobs", stderr: semicolons + ": skipped 1 row of only delimiters and 1 column with no name"},
		{name: "submit dry run", program: "submit", args: []string{"-csv", good, "-dry-run"}, stdout: "Dry run: would submit 1/1 jobs"},

		// Spend flags. Exit 3 (a budget held rows back) is run in spend_test.go.
		{name: "submit help spend", program: "submit", args: []string{"-h"}, stdout: "3 a budget (-max-spend, -max-daily-spend) held rows back"},
		{name: "catalog help spend", program: "catalog", args: []string{"-h"}, stdout: "3 a budget (-max-spend, -max-daily-spend) held rows back"},
		{name: "submit negative max-spend", env: keyEnv, program: "submit", args: []string{"-csv", good, "-jobs", jobsFile, "-webhook-url=", "-max-spend", "-5"}, code: 2, stderr: "-max-spend"},
		{name: "submit max-spend fraction of a cent", env: keyEnv, program: "submit", args: []string{"-csv", good, "-jobs", jobsFile, "-webhook-url=", "-max-daily-spend", "1.005"}, code: 2, stderr: "fractions of a cent"},
		{name: "submit bad spend timezone", env: keyEnv, program: "submit", args: []string{"-csv", good, "-jobs", jobsFile, "-webhook-url=", "-spend-timezone", "Mars/Olympus"}, code: 2, stderr: "-spend-timezone"},
		{name: "submit retry classes without =", env: keyEnv, program: "submit", args: []string{"-csv", good, "-jobs", jobsFile, "-webhook-url=", "-retry-failed", "transient,input"}, code: 2, stderr: "-retry-failed=transient,input"},
		{name: "submit unknown retry class", env: keyEnv, program: "submit", args: []string{"-csv", good, "-jobs", jobsFile, "-webhook-url=", "-retry-failed=fatal"}, code: 2, stderr: `unknown failure class "fatal"`},
		{name: "catalog zero transient retries", program: "catalog", args: []string{"-transient-retries", "0"}, code: 2, stderr: "-transient-retries"},
		{name: "submit dry run over a cap", program: "submit", args: []string{"-csv", good, "-dry-run", "-max-spend", "0.40"}, stdout: "the spending caps would hold back 1 of them"},
		{name: "submit dry run within a cap", program: "submit", args: []string{"-csv", good, "-dry-run", "-max-spend", "$0.50"}, stdout: "Dry run: would submit 1/1 jobs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := tt.env
			if env == nil {
				env = cleanEnv()
			}
			res := runProgram(t, dir, env, tt.program, tt.args...)
			if res.code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", res.code, tt.code, res.stdout, res.stderr)
			}
			if !strings.Contains(res.stdout, tt.stdout) {
				t.Errorf("stdout does not contain %q:\n%s", tt.stdout, res.stdout)
			}
			if !strings.Contains(res.stderr, tt.stderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.stderr, res.stderr)
			}
			if tt.notStderr != "" && strings.Contains(res.stderr, tt.notStderr) {
				t.Errorf("stderr contains %q:\n%s", tt.notStderr, res.stderr)
			}
		})
	}

	// The bad-rows manifest reports every bad row, not only the first.
	res := runProgram(t, dir, keyEnv, "submit", "-csv", badRows, "-jobs", jobsFile, "-webhook-url=")
	if !strings.Contains(res.stderr, badRows+":4: image_url") {
		t.Errorf("stderr does not report line 4's image_url:\n%s", res.stderr)
	}
	if data, err := os.ReadFile(jobsFile); err != nil || strings.Count(string(data), "\n") != 1 {
		t.Errorf("the job file changed after rejected manifests: %q, %v", data, err)
	}
}
