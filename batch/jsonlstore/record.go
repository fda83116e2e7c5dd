package jsonlstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// deferredField names the member that marks a kept-event line. jobs.Job has
// no field of that name, so no job line can be mistaken for one.
const deferredField = "deferred_event"

// leaseField names the member that marks a delivery lease line, which
// processes sharing the file read to keep from claiming one job at once:
//
//	{"delivery_lease":{"key":"SKU-1#k","owner":"host-4242-9f3a/0","until":"2026-01-02T03:09:05Z"}}
//
// An empty owner ends the lease.
const leaseField = "delivery_lease"

// leaseLine is the value of a lease line's leaseField.
type leaseLine struct {
	Key   string    `json:"key"`
	Owner string    `json:"owner"`
	Until time.Time `json:"until"`
}

// encodeRecord appends r's line, newline included, to buf.
func encodeRecord(buf *bytes.Buffer, r memstore.Record) error {
	var v any
	switch {
	case r.Job != nil:
		v = r.Job
	case r.Event != nil:
		v = struct {
			Event *creativeai.Generation `json:"deferred_event"`
		}{r.Event}
	case r.Lease != nil:
		v = struct {
			Lease leaseLine `json:"delivery_lease"`
		}{leaseLine(*r.Lease)}
	default:
		return errors.New("jsonlstore: empty record")
	}
	enc := json.NewEncoder(buf)
	// URLs keep their & and query strings stay readable for operators.
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// wireLine is a line as read. It shadows the fields that files written by
// the original workflow script may hold in another shape: completed_at and
// error as null, and whatever the service sent, such as Unix seconds or an
// error object.
type wireLine struct {
	jobs.Job
	CompletedAt json.RawMessage        `json:"completed_at"`
	Error       json.RawMessage        `json:"error"`
	Event       *creativeai.Generation `json:"deferred_event"`
	Lease       *leaseLine             `json:"delivery_lease"`
}

// decodeLine reads one non-empty line of a job file.
func decodeLine(line []byte) (memstore.Record, error) {
	var w wireLine
	if err := json.Unmarshal(line, &w); err != nil {
		return memstore.Record{}, fmt.Errorf("not a JSON object: %w", err)
	}
	if w.Lease != nil {
		if w.Key != "" || w.SKU != "" || w.Event != nil {
			return memstore.Record{}, fmt.Errorf("line has %s and something else", leaseField)
		}
		if w.Lease.Key == "" {
			return memstore.Record{}, fmt.Errorf("%s has no key", leaseField)
		}
		l := memstore.Lease(*w.Lease)
		return memstore.Record{Lease: &l}, nil
	}
	if w.Event != nil {
		if w.Key != "" || w.SKU != "" {
			return memstore.Record{}, fmt.Errorf("line has both a job and %s", deferredField)
		}
		if w.Event.ID == "" {
			return memstore.Record{}, fmt.Errorf("%s has no id", deferredField)
		}
		return memstore.Record{Event: w.Event}, nil
	}
	j := w.Job
	if j.Key == "" {
		// Lines written by the workflow script carry no key; their SKU is
		// the row's identity.
		j.Key = j.SKU
	}
	if j.Key == "" {
		return memstore.Record{}, errors.New("job has neither key nor sku")
	}
	var err error
	if j.CompletedAt, j.Error, err = readLenient(w.CompletedAt, w.Error); err != nil {
		return memstore.Record{}, err
	}
	switch {
	case j.Status == "":
		j.Status = jobs.StatusPending
	case !j.Status.Known():
		// The script stored whatever status the service answered; status
		// holds only the SDK's values, the rest is kept beside it.
		if j.ProviderStatus == "" {
			j.ProviderStatus = string(j.Status)
		}
		j.Status = jobs.StatusPending
	}
	return memstore.Record{Job: &j}, nil
}

// readLenient reads completed_at and error. The lines this package writes
// hold an RFC 3339 time and a plain string, which are read directly; any
// other shape (a script's line: Unix seconds, an error object) goes through
// the service's lenient reading, since the script copied these fields from
// events as they came.
func readLenient(completedAt, errText json.RawMessage) (time.Time, string, error) {
	t, tok := plainTime(completedAt)
	e, eok := plainString(errText)
	if tok && eok {
		return t, e, nil
	}
	return readService(completedAt, errText)
}

// readService reads completed_at and error as the creativeai package reads
// the service's events.
func readService(completedAt, errText json.RawMessage) (time.Time, string, error) {
	var lenient creativeai.Generation
	if err := json.Unmarshal(fmt.Appendf(nil, `{"completed_at":%s,"error":%s}`, orNull(completedAt), orNull(errText)), &lenient); err != nil {
		return time.Time{}, "", err
	}
	return lenient.CompletedAt, lenient.Error, nil
}

// plainTime reads raw when it is absent, null or a JSON string without
// escapes holding an RFC 3339 time (or only spaces), as the lenient reading
// would; ok is false for anything else.
func plainTime(raw json.RawMessage) (t time.Time, ok bool) {
	s, ok := plainString(raw)
	if !ok {
		return time.Time{}, false
	}
	if s = strings.TrimSpace(s); s == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// plainString reads raw when it is absent, null or a JSON string without
// escapes in valid UTF-8, whose text is then the bytes between the quotes;
// ok is false for anything else. raw has been checked as JSON.
func plainString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", true
	case len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"':
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') >= 0 || !utf8.Valid(inner) {
		return "", false
	}
	return string(inner), true
}

func orNull(raw json.RawMessage) []byte {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("null")
	}
	return raw
}
