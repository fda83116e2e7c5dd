// Package logx holds the one default logger choice of the SDK's packages: a
// nil *slog.Logger discards. Libraries never log to slog.Default on their
// own, so an application that wants their lines passes its logger.
package logx

import "log/slog"

// Discard is a logger that drops every record.
var Discard = slog.New(slog.DiscardHandler)

// OrDiscard returns l, or Discard when l is nil.
func OrDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return Discard
	}
	return l
}
