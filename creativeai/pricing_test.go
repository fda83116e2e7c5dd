package creativeai

import "testing"

func TestCentsString(t *testing.T) {
	tests := []struct {
		c    Cents
		want string
	}{
		{0, "$0.00"},
		{5, "$0.05"},
		{86, "$0.86"},
		{100, "$1.00"},
		{123456, "$1234.56"},
		{-86, "-$0.86"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Cents(%d).String() = %q, want %q", tt.c, got, tt.want)
		}
	}
}

func TestPricing(t *testing.T) {
	p := DefaultPricing()
	// The defaults are the top of the published ranges ($0.36–$0.50 per clip,
	// $0.21–$0.30 per still).
	if p.Clip != 50 || p.Still != 30 {
		t.Errorf("DefaultPricing() = %+v, want {Clip:50 Still:30}", p)
	}
	low := Pricing{Clip: 36, Still: 21}
	if got := low.Total(1000, 1000); got != 57000 {
		t.Errorf("Total(1000, 1000) = %v, want $570.00", got)
	}
	if got := low.Total(3, 0); got.String() != "$1.08" {
		t.Errorf("Total(3, 0) = %v, want $1.08", got)
	}
}
