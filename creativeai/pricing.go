package creativeai

import "fmt"

// Cents is an amount of US money in cents. Integer cents keep totals over
// thousands of SKUs exact.
type Cents int64

// String formats the amount as dollars, such as "$0.86".
func (c Cents) String() string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s$%d.%02d", sign, c/100, c%100)
}

// Pricing is what one generation costs. The service charges a fixed price per
// generation that depends on the account's credit tier, so set the prices of
// your own tier; the defaults are the top of the published ranges, which keeps
// estimates on the safe side.
type Pricing struct {
	// Clip is the price of one video generation (published range $0.36–$0.50).
	Clip Cents
	// Still is the price of one image generation (published range $0.21–$0.30).
	Still Cents
}

// DefaultPricing returns the upper end of the published price ranges.
func DefaultPricing() Pricing {
	return Pricing{Clip: 50, Still: 30}
}

// Total returns the cost of the given numbers of clips and stills.
func (p Pricing) Total(clips, stills int) Cents {
	return Cents(clips)*p.Clip + Cents(stills)*p.Still
}
