// Package cli holds what the example programs share: exit codes and flag
// handling, the environment they read, opening a job store from a path or a
// DSN, the webhook receiver that applies events to a store, the delivery
// sinks, and the tables and summaries they print.
//
// It is internal to the examples: programs that embed the SDK write their own
// wiring, and this package shows one way to do it.
package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Exit codes shared by every program. Outside tests rely on them.
const (
	// ExitOK means the program did everything it was asked.
	ExitOK = 0
	// ExitFailure means the program ran but some work did not succeed, such
	// as a row that ended submit_failed or a render that did not finish in
	// time.
	ExitFailure = 1
	// ExitUsage means bad flags, a missing setting, or a manifest error;
	// nothing was sent.
	ExitUsage = 2
	// ExitBudget means the program ran and everything it sent succeeded,
	// but a spending cap (-max-spend, -max-daily-spend) held rows back;
	// they stay tracked and a later run submits them.
	ExitBudget = 3
)

// UsageError is a mistake in how a program was invoked: a bad flag, a
// missing setting, a manifest the program refuses. Programs exit with
// ExitUsage when they return one.
type UsageError struct {
	Err error
	// ShowUsage asks for a pointer to -h after the message.
	ShowUsage bool
	// printed records that the flag package has already reported the error.
	printed bool
}

// Error returns the message, without the program's name.
func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a *UsageError whose message is followed by a pointer to
// the program's -h.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...), ShowUsage: true}
}

// Invalidf returns a *UsageError for input the program refuses, such as a
// manifest with a missing column, without the pointer to -h.
func Invalidf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ExitError ends a program with a given exit code after it has already
// reported what went wrong; Main prints nothing more for it.
type ExitError struct{ Code int }

// Error describes the exit status.
func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// NewFlagSet returns a flag set that reports errors instead of exiting and
// prints usage as the synopsis, the description, and the flags.
func NewFlagSet(name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "usage: %s %s\n\n%s\n", name, synopsis, strings.TrimSpace(description))
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(out, "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// Parse parses args with fs. Asked for help (-h), it prints the usage to
// stdout and returns flag.ErrHelp; on a bad flag it prints the flag
// package's message and a pointer to -h to stderr (the whole usage would
// scroll the message out of sight) and returns a *UsageError.
func Parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		_, _ = stdout.Write(buf.Bytes())
		return flag.ErrHelp
	default:
		msg, _, _ := bytes.Cut(buf.Bytes(), []byte("\n"))
		if better := explainFlagError(fs, string(msg)); better != "" {
			msg, err = []byte(better), errors.New(better)
		}
		fmt.Fprintf(stderr, "%s: %s\nRun '%s -h' for usage.\n", fs.Name(), msg, fs.Name())
		return &UsageError{Err: err, printed: true}
	}
}

// invalidValue matches the flag package's message for a value its flag
// refused: "invalid value "x" for flag -timeout: parse error", or "invalid
// boolean value "x" for -name: …" for a flag that may stand alone.
var invalidValue = regexp.MustCompile(`^invalid (?:boolean )?value ("(?:[^"\\]|\\.)*") for (?:flag )?-(\S+): (.*)$`)

// explainFlagError rewrites the flag package's message for a refused value
// as "-name "value": what is wrong; what to write", or returns "" for any
// other message. For its own types the flag package says only "parse
// error" or "value out of range", which names neither the type wanted nor
// an example of it.
func explainFlagError(fs *flag.FlagSet, msg string) string {
	m := invalidValue.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	value, name, reason := m[1], m[2], m[3]
	f := fs.Lookup(name)
	if f == nil {
		return ""
	}
	var kind, want string
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case time.Duration:
			kind, want = "a duration", "a Go duration with its unit, such as 90s, 30m or 2h"
			if s, err := strconv.Unquote(value); err == nil && durationSyntax.MatchString(s) {
				// time.ParseDuration refuses what overflows int64 nanoseconds.
				return fmt.Sprintf("-%s %s: too long; the longest duration is 2562047h (about 292 years)", name, value)
			}
		case bool:
			kind, want = "a boolean", fmt.Sprintf("true or false (-%s alone means true)", name)
		case int, int64, uint, uint64:
			kind, want = "a whole number", fmt.Sprintf("one such as %s (the default)", f.DefValue)
		case float64:
			kind, want = "a number", fmt.Sprintf("one such as %s (the default)", f.DefValue)
		}
	}
	switch {
	case kind != "" && reason == "value out of range":
		return fmt.Sprintf("-%s %s: out of range; want %s", name, value, want)
	case kind != "":
		return fmt.Sprintf("-%s %s: not %s; want %s", name, value, kind, want)
	case strings.HasPrefix(reason, value):
		// The flag's own message starts with the value: "-max-spend "x" is not …".
		return fmt.Sprintf("-%s %s", name, reason)
	}
	return fmt.Sprintf("-%s %s: %s", name, value, reason)
}

// durationSyntax matches what time.ParseDuration reads, whatever the size.
var durationSyntax = regexp.MustCompile(`^[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`)

// CheckWebhookURL reports whether s can receive webhooks from the service:
// an absolute http or https URL.
func CheckWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// IsSet reports whether the named flag was given on the command line, which
// tells an explicit empty value from the default.
func IsSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// Program is the body of a program: it parses args, does its work, and
// returns nil, flag.ErrHelp, a *UsageError, an *ExitError, or any other error
// (a failure, exit 1).
type Program func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// Main runs p with the process's arguments and standard streams, with a
// context that ends on SIGINT or SIGTERM, and exits with the matching code.
func Main(name string, p Program) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, name, p, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Run runs p and maps its result to an exit code, printing the error to
// stderr prefixed with the program's name.
func Run(ctx context.Context, name string, p Program, args []string, stdout, stderr io.Writer) int {
	err := p(ctx, args, stdout, stderr)
	var usage *UsageError
	var exit *ExitError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &exit):
		return exit.Code
	case errors.As(err, &usage):
		if !usage.printed {
			fmt.Fprintf(stderr, "%s: %v\n", name, usage.Err)
			if usage.ShowUsage {
				fmt.Fprintf(stderr, "Run '%s -h' for usage.\n", name)
			}
		}
		return ExitUsage
	default:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return ExitFailure
	}
}
