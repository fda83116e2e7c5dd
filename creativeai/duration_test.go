package creativeai

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    Duration
		wantErr string
	}{
		{"5s", 5, ""},
		{"5", 5, ""},
		{" 10s ", 10, ""},
		{"1m", 60, ""},
		{"1m30s", 90, ""},
		{"0", 0, ""},
		{"86400", 86400, ""},
		{"", 0, "empty duration"},
		{"  ", 0, "empty duration"},
		{"-5s", 0, "out of range"},
		{"-1", 0, "out of range"},
		{"1.5s", 0, "not a whole number of seconds"},
		{"500ms", 0, "not a whole number of seconds"},
		{"86401", 0, "out of range"},
		{"25h", 0, "out of range"},
		{"five", 0, "invalid duration"},
		{"5 s", 0, "invalid duration"},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseDuration(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    Duration
		wantErr bool
	}{
		{`"5s"`, 5, false},
		{`"5"`, 5, false},
		{`5`, 5, false},
		{`5.0`, 5, false},
		{`1e1`, 10, false},
		{`0`, 0, false},
		{`5.5`, 0, true},
		{`-5`, 0, true},
		{`1e300`, 0, true},
		{`86401`, 0, true},
		{`"abc"`, 0, true},
		{`true`, 0, true},
		{`[5]`, 0, true},
	}
	for _, tt := range tests {
		var v struct{ D Duration }
		err := json.Unmarshal([]byte(`{"D":`+tt.in+`}`), &v)
		if (err != nil) != tt.wantErr {
			t.Errorf("decoding %s: err = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && v.D != tt.want {
			t.Errorf("decoding %s = %v, want %v", tt.in, v.D, tt.want)
		}
	}
}

func TestDurationNullKeepsValue(t *testing.T) {
	d := Duration(7)
	if err := json.Unmarshal([]byte(`null`), &d); err != nil || d != 7 {
		t.Errorf("null: d = %v, err = %v; want 7, nil", d, err)
	}
}

func TestDurationEncodesString(t *testing.T) {
	b, err := json.Marshal(VideoRequest{Duration: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"duration":"5s"}`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	d := Duration(90)
	if d.String() != "90s" || d.Seconds() != 90 || d.Std() != 90*time.Second {
		t.Errorf("Duration(90) = %q, %d, %v", d.String(), d.Seconds(), d.Std())
	}
}
