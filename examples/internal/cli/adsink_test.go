package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/outbox"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

func TestAdPipelineSinkDownloadsSimulatorOutput(t *testing.T) {
	sim := creativeaitest.NewServer(creativeaitest.WithSeed(3), creativeaitest.WithOutputSize(10_000), creativeaitest.WithManualRender())
	defer sim.Close()
	ctx := t.Context()
	gen, _, err := sim.Client().Videos.Create(ctx, &creativeai.VideoRequest{Prompt: "spin", ImageURL: "https://cdn.example.com/a.jpg"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Complete(gen.ID); err != nil {
		t.Fatal(err)
	}
	done, _ := sim.Generation(gen.ID)

	var s AdPipelineSink
	ref, err := s.Deliver(ctx, jobs.Job{Key: "k", OutputURL: done.OutputURL})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ref, "ads:10000-bytes:sha256:") {
		t.Errorf("ref %q does not record the size", ref)
	}
	if got := s.Received()["k"]; got != 10_000 {
		t.Errorf("received %d bytes, want 10000", got)
	}
}

func TestAdPipelineSinkErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/gone.mp4", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "expired", http.StatusNotFound) })
	mux.HandleFunc("/busy.mp4", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "later", http.StatusServiceUnavailable) })
	mux.HandleFunc("/page.mp4", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>sign in</html>")) })
	mux.HandleFunc("/big.mp4", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("\x00\x00\x00\x18ftypisom" + strings.Repeat("x", 100)))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		path      string
		max       int64
		permanent bool
		msg       string
	}{
		{path: "/gone.mp4", permanent: true, msg: "HTTP 404"},
		{path: "/busy.mp4", permanent: false, msg: "HTTP 503"},
		{path: "/page.mp4", permanent: true, msg: "not an MP4"},
		{path: "/big.mp4", max: 50, permanent: true, msg: "larger than 50 bytes"},
		{path: "", permanent: true, msg: "no output_url"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			s := AdPipelineSink{MaxBytes: tt.max}
			job := jobs.Job{Key: "k"}
			if tt.path != "" {
				job.OutputURL = srv.URL + tt.path
			}
			_, err := s.Deliver(t.Context(), job)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %v, want one containing %q", err, tt.msg)
			}
			if got := outbox.IsPermanent(err); got != tt.permanent {
				t.Errorf("permanent = %v, want %v", got, tt.permanent)
			}
		})
	}
}
