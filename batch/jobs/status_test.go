package jobs

import "testing"

var allStatuses = []Status{StatusSubmitFailed, StatusPending, StatusProcessing, StatusCompleted, StatusFailed}

func TestStatusKnownTerminal(t *testing.T) {
	tests := []struct {
		s               Status
		known, terminal bool
	}{
		{StatusPending, true, false},
		{StatusProcessing, true, false},
		{StatusCompleted, true, true},
		{StatusFailed, true, true},
		{StatusSubmitFailed, true, false},
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

func TestStatusAdvances(t *testing.T) {
	tests := []struct {
		from, to Status
		want     bool
	}{
		{StatusPending, StatusProcessing, true},
		{StatusPending, StatusCompleted, true},
		{StatusPending, StatusFailed, true},
		{StatusProcessing, StatusCompleted, true},
		{StatusSubmitFailed, StatusPending, true},
		{"", StatusPending, true},
		{"mystery", StatusProcessing, true},
		// Duplicates, stale and crossing terminal states change nothing.
		{StatusPending, StatusPending, false},
		{StatusProcessing, StatusPending, false},
		{StatusCompleted, StatusProcessing, false},
		{StatusCompleted, StatusFailed, false},
		{StatusFailed, StatusCompleted, false},
		{StatusCompleted, StatusCompleted, false},
		// Unknown values and the SDK's own submit_failed never replace a state.
		{StatusPending, "mystery", false},
		{StatusProcessing, "", false},
		{StatusPending, StatusSubmitFailed, false},
		{"", StatusSubmitFailed, false},
	}
	for _, tt := range tests {
		if got := tt.from.Advances(tt.to); got != tt.want {
			t.Errorf("Status(%q).Advances(%q) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

// TestStatusOrderIsConsistent checks the ordering's laws over every pair: no
// status advances to itself, and no two statuses advance to each other.
func TestStatusOrderIsConsistent(t *testing.T) {
	for _, a := range allStatuses {
		if a.Advances(a) {
			t.Errorf("%q advances to itself", a)
		}
		for _, b := range allStatuses {
			if a.Advances(b) && b.Advances(a) {
				t.Errorf("%q and %q advance to each other", a, b)
			}
			if a.Terminal() && a.Advances(b) {
				t.Errorf("terminal %q advances to %q", a, b)
			}
		}
	}
}
