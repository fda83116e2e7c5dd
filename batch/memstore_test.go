package batch_test

import (
	"testing"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/batch/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock batch.Clock) batch.Store {
		s := batch.NewMemoryStore(batch.WithClock(clock))
		t.Cleanup(func() { s.Close() })
		return s
	})
}
