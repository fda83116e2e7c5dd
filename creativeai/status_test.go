package creativeai

import (
	"encoding/json"
	"testing"
)

func TestStatusKnownTerminal(t *testing.T) {
	tests := []struct {
		s               Status
		known, terminal bool
	}{
		{StatusPending, true, false},
		{StatusProcessing, true, false},
		{StatusCompleted, true, true},
		{StatusFailed, true, true},
		// The SDK's own job states are not the service's.
		{"submit_failed", false, false},
		{"", false, false},
		{"queued", false, false},
		{"COMPLETED", false, false},
	}
	for _, tt := range tests {
		if got := tt.s.Known(); got != tt.known {
			t.Errorf("Status(%q).Known() = %v, want %v", tt.s, got, tt.known)
		}
		if got := tt.s.Terminal(); got != tt.terminal {
			t.Errorf("Status(%q).Terminal() = %v, want %v", tt.s, got, tt.terminal)
		}
	}
}

func TestStatusJSONKeepsUnknownValues(t *testing.T) {
	var g Generation
	if err := json.Unmarshal([]byte(`{"id":"g","status":"queued_for_gpu"}`), &g); err != nil {
		t.Fatal(err)
	}
	if g.Status != "queued_for_gpu" || g.Status.Known() || g.Status.String() != "queued_for_gpu" {
		t.Errorf("unknown status decoded as %q (known %v)", g.Status, g.Status.Known())
	}
}
