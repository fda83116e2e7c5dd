package shopifytest

import (
	"fmt"
	"strconv"
	"strings"
)

// term is one field:value term of a Shopify search query.
type term struct {
	field string
	value string
}

// parseSearch reads the part of Shopify's search syntax the fake
// understands: field:value terms, values bare or quoted with double or
// single quotes (backslash escapes the next character), separated by
// whitespace (AND) or the connective OR. It reports whether any OR
// appeared; mixing AND and OR is refused, since the fake does not model
// precedence.
func parseSearch(q string) (terms []term, or bool, err error) {
	and := false
	expectTerm := true
	i := 0
	for {
		for i < len(q) && isSpace(q[i]) {
			i++
		}
		if i == len(q) {
			break
		}
		start := i
		for i < len(q) && !isSpace(q[i]) && q[i] != ':' && q[i] != '"' && q[i] != '\'' {
			i++
		}
		word := q[start:i]
		if (word == "OR" || word == "AND") && (i == len(q) || isSpace(q[i])) {
			if expectTerm {
				return nil, false, fmt.Errorf("search query %q: %s at offset %d has no term before it", q, word, start)
			}
			if word == "OR" {
				or = true
			} else {
				and = true
			}
			expectTerm = true
			continue
		}
		if i == len(q) || q[i] != ':' || word == "" {
			return nil, false, fmt.Errorf("search query %q: expected field:value at offset %d", q, start)
		}
		i++ // the colon
		value, next, err := readValue(q, i)
		if err != nil {
			return nil, false, fmt.Errorf("search query %q: %w", q, err)
		}
		i = next
		if !expectTerm {
			and = true
		}
		terms = append(terms, term{field: strings.ToLower(word), value: value})
		expectTerm = false
	}
	if len(terms) == 0 {
		return nil, false, fmt.Errorf("search query %q has no terms", q)
	}
	if expectTerm {
		return nil, false, fmt.Errorf("search query %q ends with a connective", q)
	}
	if and && or {
		return nil, false, fmt.Errorf("search query %q mixes AND and OR, which the fake does not support", q)
	}
	return terms, or, nil
}

func readValue(q string, i int) (string, int, error) {
	if i < len(q) && (q[i] == '"' || q[i] == '\'') {
		quote := q[i]
		var b strings.Builder
		for j := i + 1; j < len(q); j++ {
			switch c := q[j]; {
			case c == '\\' && j+1 < len(q):
				j++
				b.WriteByte(q[j])
			case c == '\\':
				return "", 0, fmt.Errorf("dangling backslash at offset %d", j)
			case c == quote:
				return b.String(), j + 1, nil
			default:
				b.WriteByte(c)
			}
		}
		return "", 0, fmt.Errorf("unterminated quote at offset %d", i)
	}
	var b strings.Builder
	j := i
	for ; j < len(q) && !isSpace(q[j]); j++ {
		c := q[j]
		if c == '\\' && j+1 < len(q) {
			j++
			b.WriteByte(q[j])
			continue
		}
		if c == '(' || c == ')' || c == '"' || c == '\'' {
			return "", 0, fmt.Errorf("special character %q at offset %d must be escaped or quoted", c, j)
		}
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		return "", 0, fmt.Errorf("empty value at offset %d", i)
	}
	return b.String(), j, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// parseMediaQuery reads a Product.media query: media_type:X and id:N terms,
// all of which must hold.
func parseMediaQuery(q string) (mediaType string, id int64, err error) {
	terms, or, err := parseSearch(q)
	if err != nil {
		return "", 0, err
	}
	if or && len(terms) > 1 {
		return "", 0, fmt.Errorf("media query %q: OR is not supported by the fake", q)
	}
	for _, t := range terms {
		switch t.field {
		case "media_type":
			mediaType = strings.ToUpper(t.value)
		case "id":
			if id, err = strconv.ParseInt(t.value, 10, 64); err != nil {
				return "", 0, fmt.Errorf("media query %q: id %q is not a number", q, t.value)
			}
		default:
			return "", 0, fmt.Errorf("media query %q: field %q is not supported by the fake (media_type, id)", q, t.field)
		}
	}
	return mediaType, id, nil
}
