package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
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
