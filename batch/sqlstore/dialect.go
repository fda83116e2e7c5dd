package sqlstore

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Dialect names the SQL database behind a *sql.DB. The store imports no
// driver, so it cannot ask the *sql.DB which database it talks to.
type Dialect int

// The supported dialects.
const (
	// SQLite is SQLite 3.35 or later, such as modernc.org/sqlite (driver
	// name "sqlite"). See the package documentation for the DSN to use.
	SQLite Dialect = iota + 1
	// Postgres is PostgreSQL 12 or later, such as
	// github.com/jackc/pgx/v5/stdlib (driver name "pgx").
	Postgres
)

// String returns the dialect's name.
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	default:
		return fmt.Sprintf("Dialect(%d)", int(d))
	}
}

func (d Dialect) valid() bool { return d == SQLite || d == Postgres }

// placeholder matches the PostgreSQL-style parameters the queries are
// written with.
var placeholder = regexp.MustCompile(`\$(\d+)`)

// prefixToken stands for the table prefix in queries and migrations.
const prefixToken = "{prefix}"

// rebind turns a query written for PostgreSQL ($1 parameters, {prefix}
// tables) into one for d. SQLite reads "$1" as a named parameter whose index
// follows the order of first appearance, so it gets "?": the parameters in
// order, or "?1" (always the first argument) when a query uses them out of
// order or twice. Plain "?" is preferred because drivers look up the name
// of every numbered parameter, which grows quadratically with their count.
func (d Dialect) rebind(prefix, query string) string {
	query = strings.ReplaceAll(query, prefixToken, prefix)
	if d != SQLite {
		return query
	}
	inOrder := true
	for i, m := range placeholder.FindAllStringSubmatch(query, -1) {
		if m[1] != strconv.Itoa(i+1) {
			inOrder = false
			break
		}
	}
	if inOrder {
		return placeholder.ReplaceAllLiteralString(query, "?")
	}
	return placeholder.ReplaceAllString(query, "?$1")
}

// isBusy reports whether err is SQLite's SQLITE_BUSY or SQLITE_LOCKED: the
// database is locked by another connection, and the statement may succeed
// if tried again. The driver's error type is not imported; modernc.org/sqlite
// and mattn/go-sqlite3 both expose the result code, and the message is the
// fallback for drivers that do not.
func isBusy(err error) bool {
	if err == nil {
		return false
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() & 0xff { // the primary code, without extended bits
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return true
		}
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY")
}

// isRetryablePG reports whether err is a PostgreSQL serialization failure or
// deadlock, after which the whole transaction may be run again.
func isRetryablePG(err error) bool {
	var coded interface{ SQLState() string }
	if !errors.As(err, &coded) {
		return false
	}
	switch coded.SQLState() {
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return true
	}
	return false
}

// query assembles a statement whose parameters are numbered as they are
// added, for the few statements whose shape depends on their arguments.
type query struct {
	sb   strings.Builder
	args []any
}

// add appends SQL text.
func (q *query) add(sql string) *query {
	q.sb.WriteString(sql)
	return q
}

// param appends a parameter for v.
func (q *query) param(v any) *query {
	q.args = append(q.args, v)
	q.sb.WriteString("$" + strconv.Itoa(len(q.args)))
	return q
}

// list appends parameters for vs, separated by commas.
func (q *query) list(vs ...any) *query {
	for i, v := range vs {
		if i > 0 {
			q.sb.WriteString(", ")
		}
		q.param(v)
	}
	return q
}

// build returns the statement for dialect d and the tables of prefix, and
// its arguments.
func (q *query) build(d Dialect, prefix string) (string, []any) {
	return d.rebind(prefix, q.sb.String()), q.args
}
