package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestRunExitCodes(t *testing.T) {
	prog := func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := NewFlagSet("prog", "-name NAME", "Greets NAME.")
		name := fs.String("name", "", "who to greet")
		fail := fs.Bool("fail", false, "fail at runtime")
		if err := Parse(fs, args, stdout, stderr); err != nil {
			return err
		}
		switch {
		case *name == "":
			return Usagef("-name is required")
		case *fail:
			return errors.New("it broke")
		}
		_, err := io.WriteString(stdout, "hello "+*name+"\n")
		return err
	}
	tests := []struct {
		args       []string
		code       int
		stdout     string
		stderrPart string
		stderrIs   bool // stderr is stderrPart and nothing more
	}{
		{args: []string{"-name", "x"}, code: ExitOK, stdout: "hello x\n"},
		{args: []string{"-h"}, code: ExitOK, stdout: "usage: prog -name NAME\n\nGreets NAME.\n\nflags:\n"},
		{args: nil, code: ExitUsage, stderrPart: "prog: -name is required\nRun 'prog -h' for usage."},
		// A bad flag: its message and a pointer to -h, not the whole usage,
		// which would scroll the message out of sight.
		{args: []string{"-bogus"}, code: ExitUsage, stderrPart: "prog: flag provided but not defined: -bogus\nRun 'prog -h' for usage.\n", stderrIs: true},
		{args: []string{"-name", "x", "-fail"}, code: ExitFailure, stderrPart: "prog: it broke"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), "prog", prog, tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if !strings.HasPrefix(stdout.String(), tt.stdout) {
				t.Errorf("stdout = %q, want prefix %q", stdout.String(), tt.stdout)
			}
			if tt.stderrIs && stderr.String() != tt.stderrPart {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.stderrPart)
			}
			if !strings.Contains(stderr.String(), tt.stderrPart) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.stderrPart)
			}
		})
	}
}

// A refused value is reported with the flag, the value, what is wrong and
// what to write, not the flag package's "parse error".
func TestParseExplainsRefusedValues(t *testing.T) {
	newFlags := func() *flag.FlagSet {
		fs := NewFlagSet("prog", "", "")
		fs.Duration("timeout", time.Minute, "")
		fs.Int("workers", 4, "")
		fs.Float64("rate", 2.5, "")
		fs.Bool("v", false, "")
		fs.Var(new(retryFlag), "retry-failed", "")
		fs.Var(new(usdFlag), "max-spend", "")
		return fs
	}
	for _, tt := range []struct{ arg, want string }{
		{"-timeout=x", `-timeout "x": not a duration; want a Go duration with its unit, such as 90s, 30m or 2h`},
		{"-timeout=90", `-timeout "90": not a duration; want a Go duration with its unit, such as 90s, 30m or 2h`},
		{"-timeout=3000000h", `-timeout "3000000h": too long; the longest duration is 2562047h (about 292 years)`},
		{"-workers=many", `-workers "many": not a whole number; want one such as 4 (the default)`},
		{"-workers=99999999999999999999", `-workers "99999999999999999999": out of range; want one such as 4 (the default)`},
		{"-rate=fast", `-rate "fast": not a number; want one such as 2.5 (the default)`},
		{"-v=maybe", `-v "maybe": not a boolean; want true or false (-v alone means true)`},
		{"-retry-failed=foo", `-retry-failed "foo": unknown failure class "foo" (want a comma-separated list of transient, input, policy, or all); the flag also takes true or false, and alone means true (every class)`},
		{"-max-spend=abc", `-max-spend "abc" is not an amount of US dollars; want a number such as 25 or 12.50`},
		{"-bogus", `flag provided but not defined: -bogus`},
	} {
		t.Run(tt.arg, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := Parse(newFlags(), []string{tt.arg}, &stdout, &stderr)
			var usage *UsageError
			if !errors.As(err, &usage) || err.Error() != tt.want {
				t.Errorf("error %v (%T), want a *UsageError %q", err, err, tt.want)
			}
			if want := "prog: " + tt.want + "\nRun 'prog -h' for usage.\n"; stderr.String() != want {
				t.Errorf("stderr %q, want %q", stderr.String(), want)
			}
		})
	}
}
