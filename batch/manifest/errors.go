package manifest

import (
	"fmt"
	"strconv"
	"strings"
)

// RowError is a problem with one manifest row. The row is not submitted; the
// rows after it are still read.
type RowError struct {
	// File is the manifest's name as given to NewReader.
	File string
	// Line is where the problem is (1-based).
	Line int
	// Column is the header name of the offending field, or empty when the
	// problem is with the whole row.
	Column string
	// SKU is the row's SKU, when it has one.
	SKU string
	Err error
}

// Error formats the problem as "file:line: column problem (sku "X")". The
// SKU is left out when the problem is with the sku column and its message
// already quotes it.
func (e *RowError) Error() string {
	var b strings.Builder
	b.WriteString(position(e.File, e.Line))
	b.WriteString(": ")
	if e.Column != "" {
		b.WriteString(e.Column)
		b.WriteString(" ")
	}
	msg := e.Err.Error()
	b.WriteString(msg)
	if e.SKU != "" && (e.Column != ColumnSKU || !strings.Contains(msg, strconv.Quote(e.SKU))) {
		fmt.Fprintf(&b, " (sku %q)", e.SKU)
	}
	return b.String()
}

// Unwrap returns the underlying problem.
func (e *RowError) Unwrap() error { return e.Err }

// Error is a problem with the manifest as a whole, such as a missing
// required column. It is reported before any row, so nothing is submitted.
// A failure to read the input midway is a Error too.
type Error struct {
	File string
	// Line is where the problem is (1-based), or zero when it concerns no
	// line in particular.
	Line int
	// Column is the header name concerned, if any.
	Column string
	Err    error
}

// Error formats the problem as "file:line: column "x": problem".
func (e *Error) Error() string {
	s := position(e.File, e.Line) + ": "
	if e.Column != "" {
		s += "column " + strconv.Quote(e.Column) + ": "
	}
	return s + e.Err.Error()
}

// Unwrap returns the underlying problem.
func (e *Error) Unwrap() error { return e.Err }

// position formats "file:line" the way compilers do, so editors can jump to it.
func position(file string, line int) string {
	if file == "" {
		file = "manifest"
	}
	if line <= 0 {
		return file
	}
	return file + ":" + strconv.Itoa(line)
}
