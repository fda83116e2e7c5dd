package creativeai

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is the length of a clip, in whole seconds.
//
// The service's pages disagree on its form, so Duration decodes both the
// string "5s" and the number 5; it always encodes as "5s".
type Duration int

// Seconds returns the duration as a number of seconds.
func (d Duration) Seconds() int { return int(d) }

// Std returns the duration as a [time.Duration].
func (d Duration) Std() time.Duration { return time.Duration(d) * time.Second }

// String returns the wire form, such as "5s".
func (d Duration) String() string { return strconv.Itoa(int(d)) + "s" }

// ParseDuration reads a clip length written as "5s", "5" or a Go duration
// that is a whole number of seconds ("1m", "10s"). It rejects negative,
// fractional and absurdly long values.
func ParseDuration(s string) (Duration, error) {
	v := strings.TrimSpace(s)
	if v == "" {
		return 0, fmt.Errorf("creativeai: empty duration")
	}
	// "5s" and "5" are the forms the service uses; parse them without
	// building the errors a failed strconv call allocates.
	if n, ok := wholeSeconds(strings.TrimSuffix(v, "s")); ok {
		return checkDuration(s, n)
	}
	if n, err := strconv.Atoi(v); err == nil {
		return checkDuration(s, int64(n))
	}
	td, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("creativeai: invalid duration %q: want seconds such as \"5s\" or 5", s)
	}
	if td%time.Second != 0 {
		return 0, fmt.Errorf("creativeai: duration %q is not a whole number of seconds", s)
	}
	return checkDuration(s, int64(td/time.Second))
}

// wholeSeconds parses a short run of ASCII digits.
func wholeSeconds(s string) (int64, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	var n int64
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// MaxDuration is the longest clip length ParseDuration and Duration's JSON
// decoding accept, 24 hours: no service renders clips of hours, and the
// bound keeps arithmetic on Duration far from overflow.
const MaxDuration Duration = maxDurationSeconds

const maxDurationSeconds = 24 * 60 * 60

func checkDuration(orig string, n int64) (Duration, error) {
	if n < 0 || n > maxDurationSeconds {
		return 0, fmt.Errorf("creativeai: duration %q out of range (0 to %d seconds)", orig, maxDurationSeconds)
	}
	return Duration(n), nil
}

// MarshalJSON encodes the duration as a string such as "5s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// UnmarshalJSON accepts "5s", "5", 5 and 5.0, and null (no change).
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		v, err := ParseDuration(str)
		if err != nil {
			return err
		}
		*d = v
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f != math.Trunc(f) {
		return fmt.Errorf("creativeai: invalid duration %s: want seconds such as \"5s\" or 5", s)
	}
	v, err := checkDuration(s, int64(f))
	if err != nil || f > maxDurationSeconds {
		return fmt.Errorf("creativeai: duration %s out of range (0 to %d seconds)", s, maxDurationSeconds)
	}
	*d = v
	return nil
}
