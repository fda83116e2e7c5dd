package examples_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/shopify"
)

// The programs are built once per test binary, with the race detector when
// the tests run with it, so that a data race in a program fails the test
// that ran it.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// raceEnabled reports whether the tests run with the race detector (see
// race_test.go), in which case the programs are built with it too.
var raceEnabled bool

// programs are the commands under examples/.
var programs = []string{"catalog", "submit", "webhook-server", "jobs"}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// bin returns the path of a built program.
func bin(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "catalogvideo-examples-")
		if buildErr != nil {
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("the go command is needed to build the programs: %w", err)
			return
		}
		args := []string{"build", "-o", binDir + string(filepath.Separator)}
		if raceEnabled {
			args = append(args, "-race")
		}
		pkgs := make([]string, len(programs))
		for i, p := range programs {
			pkgs[i] = "./" + p
		}
		cmd := exec.Command(goTool, append(args, pkgs...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(cmd.Args[1:], " "), err, out.Bytes())
		}
	})
	if buildErr != nil {
		t.Fatalf("building the programs: %v", buildErr)
	}
	return filepath.Join(binDir, name)
}

// cleanEnv is the test process's environment without the variables the
// programs read, so that a developer's own settings never leak into a test.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CREATIVEAI_") || strings.HasPrefix(kv, "SHOPIFY_") || strings.HasPrefix(kv, "CATALOGVIDEO_CONSOLE_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// writeRows writes rows.csv in dir, a manifest of n rows SKU-00, SKU-01, …,
// and returns its path.
func writeRows(t *testing.T, dir string, n int) string {
	t.Helper()
	var manifest strings.Builder
	manifest.WriteString("sku,image_url,video_prompt\n")
	for i := range n {
		fmt.Fprintf(&manifest, "SKU-%02d,https://cdn.example.com/catalog/%02d-hero.jpg,slow push\n", i, i)
	}
	csv := filepath.Join(dir, "rows.csv")
	if err := os.WriteFile(csv, []byte(manifest.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return csv
}

// result is how a finished program ended.
type result struct {
	code           int
	stdout, stderr string
}

// runProgram runs a program to completion within a minute.
func runProgram(t *testing.T, dir string, env []string, name string, args ...string) result {
	t.Helper()
	// The programs are built (once) before the clock starts: on a loaded
	// machine the build alone can outlast the timeout.
	path := bin(t, name)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	default:
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, res.stderr)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %s did not finish in time\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), res.stdout, res.stderr)
	}
	return res
}

// notifyBuffer collects a process's output and wakes waiters on each write.
type notifyBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on each write
}

func newNotifyBuffer() *notifyBuffer { return &notifyBuffer{changed: make(chan struct{})} }

func (b *notifyBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	close(b.changed)
	b.changed = make(chan struct{})
	return n, err
}

func (b *notifyBuffer) snapshot() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String(), b.changed
}

func (b *notifyBuffer) String() string {
	s, _ := b.snapshot()
	return s
}

// process is a program running in the background.
type process struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdout *notifyBuffer
	stderr *notifyBuffer
	done   chan struct{}
	err    error
}

// startProgram starts a program that runs until it is signalled; the test's
// cleanup kills it if it is still running.
func startProgram(t *testing.T, dir string, env []string, name string, args ...string) *process {
	t.Helper()
	p := &process{t: t, name: name, stdout: newNotifyBuffer(), stderr: newNotifyBuffer(), done: make(chan struct{})}
	p.cmd = exec.Command(bin(t, name), args...)
	p.cmd.Dir, p.cmd.Env = dir, env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitOutput waits until the process's stdout matches re and returns the
// submatches.
func (p *process) waitOutput(re *regexp.Regexp, timeout time.Duration) []string {
	p.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		out, changed := p.stdout.snapshot()
		if m := re.FindStringSubmatch(out); m != nil {
			return m
		}
		select {
		case <-changed:
		case <-p.done:
			if m := re.FindStringSubmatch(p.stdout.String()); m != nil {
				return m
			}
			p.t.Fatalf("%s exited (%v) before printing %q\nstdout:\n%s\nstderr:\n%s", p.name, p.err, re, p.stdout, p.stderr)
		case <-deadline.C:
			p.t.Fatalf("%s did not print %q within %s\nstdout:\n%s\nstderr:\n%s", p.name, re, timeout, p.stdout, p.stderr)
		}
	}
}

var listeningRE = regexp.MustCompile(`listening on (http://\S+)`)

// startServer starts webhook-server on a free port and returns it with its
// base URL.
func startServer(t *testing.T, env []string, args ...string) (*process, string) {
	t.Helper()
	p := startProgram(t, "", env, "webhook-server", append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	return p, p.waitOutput(listeningRE, time.Minute)[1]
}

// stop sends sig and waits for the process to exit, returning its exit code.
func (p *process) stop(sig syscall.Signal, timeout time.Duration) int {
	p.t.Helper()
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("%s did not exit within %s of %s\nstderr:\n%s", p.name, timeout, sig, p.stderr)
	}
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		return exit.ExitCode()
	}
	if p.err != nil {
		p.t.Fatalf("%s: %v", p.name, p.err)
	}
	return 0
}

// waitFor polls cond until it holds or the timeout passes; what describes
// the condition in the failure message.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, lastErr)
		}
		<-tick.C
	}
}

// refMedia is the media ID of a Shopify delivery ref (see
// shopify.DeliveryRef), or the ref itself when it does not parse.
func refMedia(ref string) string {
	r, err := shopify.ParseDeliveryRef(ref)
	if err != nil {
		return ref
	}
	return r.MediaID
}
