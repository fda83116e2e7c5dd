package memstore

import (
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// TestJobSpendShared checks that jobs reserved when tracked, at one price on
// one day, share their spend fields and still read back exactly; a job
// reserved later or with earlier charges has its own.
func TestJobSpendShared(t *testing.T) {
	s := New()
	at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	track := func(key string, edit func(*jobs.Job)) jobs.Job {
		t.Helper()
		j := jobs.Job{Key: key, SKU: key, Status: jobs.StatusPending, PriceCents: 80, StillCents: 30, SpendDay: "2026-11-30",
			ReservedAt: at, CreatedAt: at, UpdatedAt: at}
		edit(&j)
		if _, _, err := s.Track(t.Context(), j); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		if got.PriceCents != j.PriceCents || got.StillCents != j.StillCents || got.SpendDay != j.SpendDay || got.ReservedAt != j.ReservedAt ||
			len(got.EarlierCharges) != len(j.EarlierCharges) {
			t.Errorf("job %s read back as %+v, want the spend fields of %+v", key, got, j)
		}
		return got
	}
	track("a", func(*jobs.Job) {})
	track("b", func(j *jobs.Job) { j.CreatedAt, j.ReservedAt = at.Add(time.Second), at.Add(time.Second) })
	track("later", func(j *jobs.Job) { j.ReservedAt = at.Add(time.Minute) })
	track("replayed", func(j *jobs.Job) { j.EarlierCharges = []jobs.Charge{{Day: "2026-11-29", Cents: 50}} })
	track("other-price", func(j *jobs.Job) { j.PriceCents = 50; j.StillCents = 0 })
	spend := func(key string) *jobSpend { return s.byKey[key].spend }
	if spend("a") != spend("b") {
		t.Error("two jobs reserved when tracked, at one price on one day, do not share their spend fields")
	}
	for _, k := range []string{"later", "replayed", "other-price"} {
		if spend(k) == spend("a") {
			t.Errorf("job %s shares the spend fields of job a", k)
		}
	}
}
