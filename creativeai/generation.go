package creativeai

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Generation is a video render as the service reports it: the answer to a
// create or get call, and the body of a webhook event.
//
// Decoding is lenient where the service's documentation disagrees with
// itself: duration as "5s" or 5, timestamps as RFC 3339 strings or Unix
// seconds, error as a string or an object with a message. Unknown fields are
// ignored.
type Generation struct {
	ID           string    `json:"id"`
	Object       string    `json:"object,omitempty"`
	Status       Status    `json:"status"`
	Model        string    `json:"model,omitempty"`
	Prompt       string    `json:"prompt,omitempty"`
	ImageURL     string    `json:"image_url,omitempty"`
	Duration     Duration  `json:"duration,omitempty"`
	AspectRatio  string    `json:"aspect_ratio,omitempty"`
	OutputURL    string    `json:"output_url,omitempty"`
	FailoverUsed bool      `json:"failover_used,omitempty"`
	Error        string    `json:"error,omitempty"`
	CreatedAt    time.Time `json:"created_at,omitzero"`
	CompletedAt  time.Time `json:"completed_at,omitzero"`
}

// UnmarshalJSON decodes a generation, accepting the alternative forms the
// service's pages show for timestamps and errors.
func (g *Generation) UnmarshalJSON(b []byte) error {
	type plain Generation
	var raw struct {
		plain
		Error       json.RawMessage `json:"error"`
		CreatedAt   json.RawMessage `json:"created_at"`
		CompletedAt json.RawMessage `json:"completed_at"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := Generation(raw.plain)
	var err error
	if out.Error, err = decodeErrorText(raw.Error); err != nil {
		return err
	}
	if out.CreatedAt, err = decodeTime("created_at", raw.CreatedAt); err != nil {
		return err
	}
	if out.CompletedAt, err = decodeTime("completed_at", raw.CompletedAt); err != nil {
		return err
	}
	*g = out
	return nil
}

// decodeErrorText accepts null, a string, or an object carrying a message
// (and perhaps a code), since the error shape is not published.
func decodeErrorText(b json.RawMessage) (string, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return "", nil
	}
	switch b[0] {
	case '"':
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	case '{':
		var obj struct {
			Message string `json:"message"`
			Code    string `json:"code"`
			Type    string `json:"type"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return "", err
		}
		code := cmp.Or(obj.Code, obj.Type)
		switch {
		case obj.Message != "" && code != "":
			return code + ": " + obj.Message, nil
		case obj.Message != "":
			return obj.Message, nil
		case code != "":
			return code, nil
		}
		// Keep the object's text, but as valid UTF-8, as decoded strings are:
		// re-encoding would otherwise change it.
		return strings.ToValidUTF8(string(b), "\uFFFD"), nil
	default:
		// A bare number or boolean: keep its text rather than fail the event.
		return string(b), nil
	}
}

// decodeTime accepts null, "", an RFC 3339 string, or Unix seconds (integer
// or fractional, as a number or a numeric string).
func decodeTime(field string, b json.RawMessage) (time.Time, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return time.Time{}, nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return time.Time{}, fmt.Errorf("creativeai: %s: %w", field, err)
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	// Written as a negated range so that NaN ("NaN" parses) is rejected too.
	if err != nil || !(f >= 0 && f <= 1e11) {
		return time.Time{}, fmt.Errorf("creativeai: %s: %q is neither an RFC 3339 time nor Unix seconds", field, s)
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
}
