package cli

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// SpendFlagsUsage is the synopsis of the flags AddSpendFlags defines.
const SpendFlagsUsage = "[-max-spend USD] [-max-daily-spend USD] [-spend-timezone UTC] [-retry-failed[=CLASSES]] [-transient-retries 3]"

// SpendHelp explains the spend flags and exit status 3 in a program's -h.
const SpendHelp = `spend: each submission reserves its estimated cost (clip, plus still) in the
job store before it is sent. A row over -max-spend (this run) or
-max-daily-spend (the calendar day in -spend-timezone, across every run sharing
the job store) is held back, stays tracked, and is submitted by a later run;
the program then exits 3. A cap must be above $0; leave it out for none.
submit -dry-run shows what the caps would let through.

failures are classified transient, input or policy. Renders that failed for a
transient reason are retried automatically by a later run (up to
-transient-retries attempts, with backoff); -retry-failed replays the rest:
bare, every class; -retry-failed=input,policy only those (mind the "=").
Submitting stops when moderation refusals spike (more than 20% of the last 50
finished renders).`

// SpendFlags are the budget and retry flags of submit and catalog.
type SpendFlags struct {
	MaxSpend, MaxDailySpend usdFlag
	TimeZone                string
	Retry                   retryFlag
	TransientRetries        int
}

// AddSpendFlags defines -max-spend, -max-daily-spend, -spend-timezone,
// -retry-failed and -transient-retries on fs.
func AddSpendFlags(fs *flag.FlagSet) *SpendFlags {
	f := &SpendFlags{TimeZone: "UTC", TransientRetries: 3}
	fs.Var(&f.MaxSpend, "max-spend", "most `USD` this run may reserve, such as 25 or 12.50 (default no cap)")
	fs.Var(&f.MaxDailySpend, "max-daily-spend", "most `USD` a calendar day may reserve and spend across every run sharing the job store (default no cap)")
	fs.StringVar(&f.TimeZone, "spend-timezone", f.TimeZone, "IANA time `zone` whose calendar days -max-daily-spend counts, such as America/New_York")
	fs.Var(&f.Retry, "retry-failed", "replay rows that ended submit_failed and renders that failed; -retry-failed=`CLASSES` (transient,input,policy) only those")
	fs.IntVar(&f.TransientRetries, "transient-retries", f.TransientRetries, "`attempts` in all for a render that failed for a transient reason, retried automatically by later runs (1: none)")
	return f
}

// Check validates the flags; fs reports arguments left over, so that
// "-retry-failed input" (without "=") gets a hint rather than a puzzle.
func (f *SpendFlags) Check(fs *flag.FlagSet) error {
	if fs.NArg() > 0 && f.Retry.set && f.Retry.classes == nil {
		if _, err := jobs.ParseFailureClasses(fs.Arg(0)); err == nil {
			return Usagef("give failure classes with =, as in -retry-failed=%s", fs.Arg(0))
		}
	}
	if _, err := time.LoadLocation(f.TimeZone); err != nil {
		return Usagef("-spend-timezone %q: %v (want an IANA name such as UTC or Europe/Berlin)", f.TimeZone, err)
	}
	if f.TransientRetries < 1 {
		return Usagef("-transient-retries is %d; want 1 (no automatic retry) or more", f.TransientRetries)
	}
	return nil
}

// Apply sets the budget and retry policy of cfg from the flags.
func (f *SpendFlags) Apply(cfg *batch.Config) {
	loc, _ := time.LoadLocation(f.TimeZone) // checked by Check
	cfg.Budget = batch.Budget{PerRun: f.MaxSpend.cents, PerDay: f.MaxDailySpend.cents, Location: loc}
	cfg.RetryFailed = f.Retry.set
	cfg.RetryClasses = f.Retry.classes
	cfg.TransientRetry = batch.TransientRetry{MaxAttempts: f.TransientRetries}
}

// usdFlag is an amount of US dollars given as a decimal, such as 12.50.
type usdFlag struct {
	cents creativeai.Cents
	text  string
}

func (u *usdFlag) String() string { return u.text }

// Set parses a positive amount with at most two decimals. A cap of zero
// is refused: it would hold every row back, and the zero value of a cap
// means none, so it would read as no cap to whoever sees it later.
func (u *usdFlag) Set(s string) error {
	c, err := ParseUSD(s)
	if err != nil {
		return err
	}
	if c == 0 {
		return fmt.Errorf("%q would let nothing be spent; give a cap above $0, or leave the flag out for no cap", s)
	}
	u.cents, u.text = c, s
	return nil
}

// ParseUSD parses an amount of US dollars, such as "25", "12.5" or
// "$12.50", into cents. It refuses negative amounts and fractions of a cent.
func ParseUSD(s string) (creativeai.Cents, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "$")
	whole, frac, _ := strings.Cut(t, ".")
	if len(frac) > 2 {
		return 0, fmt.Errorf("%q has fractions of a cent; want dollars with at most two decimals, such as 12.50", s)
	}
	d, err := strconv.ParseFloat(t, 64)
	if err == nil && d > 1e12 && !math.IsInf(d, 0) {
		return 0, fmt.Errorf("%q is more than the largest amount taken, $1,000,000,000,000", s)
	}
	if err != nil || whole == "" && frac == "" || math.IsNaN(d) || math.IsInf(d, 0) || d < 0 {
		return 0, fmt.Errorf("%q is not an amount of US dollars; want a number such as 25 or 12.50", s)
	}
	return creativeai.Cents(math.Round(d * 100)), nil
}

// retryFlag is -retry-failed: a boolean flag that also takes a list of
// failure classes after "=".
type retryFlag struct {
	set     bool
	classes []jobs.FailureClass
}

// IsBoolFlag lets -retry-failed stand alone, as it did before it took
// classes.
func (r *retryFlag) IsBoolFlag() bool { return true }

func (r *retryFlag) String() string {
	switch {
	case r == nil || !r.set:
		return ""
	case r.classes == nil:
		return "true"
	}
	parts := make([]string, len(r.classes))
	for i, c := range r.classes {
		parts[i] = string(c)
	}
	return strings.Join(parts, ",")
}

// Set takes "true" and "false" (the bare flag and -retry-failed=false) or
// a comma-separated list of classes.
func (r *retryFlag) Set(s string) error {
	if b, err := strconv.ParseBool(s); err == nil {
		r.set, r.classes = b, nil
		return nil
	}
	classes, err := jobs.ParseFailureClasses(s)
	if err != nil {
		return fmt.Errorf("%w; the flag also takes true or false, and alone means true (every class)", err)
	}
	r.set, r.classes = true, classes
	return nil
}
