package jobs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
)

// Record is one line of an export ("jobs export", batch.Export): a job's
// record in the record format, plus buyer_status, the buyer-facing line for
// its state, which an import has no use for and ignores.
type Record struct {
	Job
	BuyerStatus string `json:"buyer_status"`
}

// MaxRecordBytes bounds one line of an export; a job's record is a few
// hundred bytes plus its prompts and URLs.
const MaxRecordBytes = 1 << 20

// RecordEncoder writes records as JSON Lines.
type RecordEncoder struct {
	enc *json.Encoder
}

// NewRecordEncoder returns an encoder writing to w. Prompts and URLs stay
// readable: no \u0026 for every & in a query string.
func NewRecordEncoder(w io.Writer) *RecordEncoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &RecordEncoder{enc: enc}
}

// Encode writes r and a newline.
func (e *RecordEncoder) Encode(r *Record) error {
	return e.enc.Encode(r)
}

// RecordError is a bad line of an export, named by its file and line.
type RecordError struct {
	File string
	Line int
	Err  error
}

// Error returns "file:line: problem".
func (e *RecordError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

// Unwrap returns the problem.
func (e *RecordError) Unwrap() error { return e.Err }

// DecodeRecord reads one line of an export. Fields it does not know are an
// error rather than dropped, since a record from a newer SDK would otherwise
// lose state on its way into another store; so is a record without key, sku
// or status, or with a status or delivery_status this package does not
// define.
func DecodeRecord(line []byte) (Record, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var rec Record
	if err := dec.Decode(&rec); err != nil {
		return Record{}, fmt.Errorf("not a job record: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Record{}, errors.New("more than one JSON value on the line")
	}
	j := &rec.Job
	switch {
	case j.Key == "":
		return Record{}, errors.New("record has no key (import reads jobs export output)")
	case j.SKU == "":
		return Record{}, fmt.Errorf("job %s has no sku", j.Key)
	case j.Status == "":
		return Record{}, fmt.Errorf("job %s has no status", j.Key)
	case !j.Status.Known():
		return Record{}, fmt.Errorf("job %s: unknown status %q (a status the SDK does not know belongs in provider_status)", j.Key, j.Status)
	}
	if j.Archive != (Archive{}) {
		if err := j.Archive.Validate(); err != nil {
			return Record{}, fmt.Errorf("job %s: %w", j.Key, err)
		}
	}
	if !j.Delivery.Known() {
		return Record{}, fmt.Errorf("job %s: unknown delivery_status %q (want pending, delivered, failed, awaiting_review or rejected)", j.Key, j.Delivery)
	}
	return rec, nil
}

// DecodeRecords yields the records of an export in order with their line
// numbers, skipping blank lines and a UTF-8 byte-order mark (an editor's
// "UTF-8 with BOM"). A bad record is yielded as a *RecordError naming name
// and the line, and reading goes on; a file in UTF-16 (what Windows
// PowerShell's > writes) is one for line 1 that ends the sequence. A failure
// to read r is yielded as another error, naming the same, and ends the
// sequence.
func DecodeRecords(r io.Reader, name string) iter.Seq2[NumberedRecord, error] {
	return func(yield func(NumberedRecord, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, MaxRecordBytes)
		line := 0
		for sc.Scan() {
			line++
			text := sc.Bytes()
			if line == 1 {
				if bytes.HasPrefix(text, []byte{0xFF, 0xFE}) || bytes.HasPrefix(text, []byte{0xFE, 0xFF}) {
					yield(NumberedRecord{}, &RecordError{name, 1, errors.New("the file is UTF-16 text (as Windows PowerShell's > writes it), " +
						"not one JSON record per line: save it as UTF-8, or write the export with | Out-File -Encoding utf8")})
					return
				}
				text = bytes.TrimPrefix(text, []byte("\ufeff"))
			}
			if len(bytes.TrimSpace(text)) == 0 {
				continue
			}
			rec, err := DecodeRecord(text)
			if err != nil {
				if !yield(NumberedRecord{}, &RecordError{name, line, err}) {
					return
				}
				continue
			}
			if !yield(NumberedRecord{rec, line}, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				err = fmt.Errorf("line longer than %d bytes", MaxRecordBytes)
			}
			yield(NumberedRecord{}, fmt.Errorf("%s:%d: %w", name, line+1, err))
		}
	}
}

// NumberedRecord is a record with the line of the export it came from.
type NumberedRecord struct {
	Record
	Line int
}
