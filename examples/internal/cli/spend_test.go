package cli

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

func TestParseUSD(t *testing.T) {
	for in, want := range map[string]creativeai.Cents{"25": 2500, "12.5": 1250, "$12.50": 1250, "0.01": 1, "0": 0, ".5": 50, " 3 ": 300} {
		if got, err := ParseUSD(in); err != nil || got != want {
			t.Errorf("ParseUSD(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.005", "abc", "NaN", "Inf", "1e20", "$", "."} {
		if got, err := ParseUSD(in); err == nil {
			t.Errorf("ParseUSD(%q) = %d, want an error", in, got)
		}
	}
}

func TestSpendFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		retry   bool
		classes []jobs.FailureClass
	}{
		{nil, false, nil},
		{[]string{"-retry-failed"}, true, nil},
		{[]string{"-retry-failed=true"}, true, nil},
		{[]string{"-retry-failed=false"}, false, nil},
		{[]string{"-retry-failed=transient,input"}, true, []jobs.FailureClass{jobs.FailureTransient, jobs.FailureInput}},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f := AddSpendFlags(fs)
		if err := fs.Parse(append(tc.args, "-max-spend", "2.5", "-spend-timezone", "Europe/Berlin")); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if err := f.Check(fs); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		var cfg batch.Config
		f.Apply(&cfg)
		if cfg.RetryFailed != tc.retry || !slices.Equal(cfg.RetryClasses, tc.classes) {
			t.Errorf("%q: RetryFailed %v classes %v; want %v %v", tc.args, cfg.RetryFailed, cfg.RetryClasses, tc.retry, tc.classes)
		}
		if cfg.Budget.PerRun != 250 || cfg.Budget.PerDay != 0 || cfg.Budget.Location.String() != "Europe/Berlin" || cfg.TransientRetry.MaxAttempts != 3 {
			t.Errorf("%q: budget %+v, retry %+v", tc.args, cfg.Budget, cfg.TransientRetry)
		}
	}
}

// TestSpendFlagsRefuseAZeroCap checks that a cap of $0, which would read
// as no cap, is refused with a message saying what to do.
func TestSpendFlagsRefuseAZeroCap(t *testing.T) {
	for _, name := range []string{"-max-spend", "-max-daily-spend"} {
		for _, v := range []string{"0", "0.00", "$0"} {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			AddSpendFlags(fs)
			err := fs.Parse([]string{name, v})
			if err == nil || !strings.Contains(err.Error(), "leave the flag out for no cap") {
				t.Errorf("%s %s: %v; want it refused, saying how to have no cap", name, v, err)
			}
		}
	}
}
