// Package permanent holds the one test for a final error that the outbox
// and the Shopify publisher share: an error, or one it wraps, with a method
// Permanent() bool that returns true. Neither package may import the other,
// so the rule lives here once.
package permanent

import "errors"

// Is reports whether err, or an error it wraps, has a method
// Permanent() bool that returns true.
func Is(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
