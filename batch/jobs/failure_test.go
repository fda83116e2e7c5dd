package jobs_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

func TestClassifyFailure(t *testing.T) {
	for _, tc := range []struct {
		text     string
		failover bool
		want     jobs.FailureClass
	}{
		{"provider timeout after retry budget", false, jobs.FailureTransient},
		{"render worker crashed", false, jobs.FailureTransient},
		{"", false, jobs.FailureTransient},
		{"provider rejected the input image", false, jobs.FailureInput},
		{"provider rejected the input image", true, jobs.FailureTransient}, // both providers tried
		{"invalid_image_url: image_url could not be fetched (HTTP 404)", false, jobs.FailureInput},
		{"unsupported_aspect_ratio: aspect ratio 21:9 is not supported", false, jobs.FailureInput},
		{"Duration must be 5 or 10 seconds", false, jobs.FailureInput},
		{"content_policy_violation: the prompt was flagged", false, jobs.FailurePolicy},
		{"MODERATION_BLOCKED: refused by the safety filter", true, jobs.FailurePolicy},
		{"nsfw filter", false, jobs.FailurePolicy},
	} {
		if got := jobs.ClassifyFailure(tc.text, tc.failover); got != tc.want {
			t.Errorf("ClassifyFailure(%q, failover %v) = %q, want %q", tc.text, tc.failover, got, tc.want)
		}
	}
}

func TestClassifySubmitError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want jobs.FailureClass
	}{
		{errors.New("dial tcp: connection refused"), jobs.FailureTransient},
		{&creativeai.APIError{StatusCode: http.StatusServiceUnavailable}, jobs.FailureTransient},
		{&creativeai.APIError{StatusCode: http.StatusTooManyRequests}, jobs.FailureTransient},
		{&creativeai.APIError{StatusCode: http.StatusRequestTimeout}, jobs.FailureTransient},
		{&creativeai.APIError{StatusCode: http.StatusBadRequest, Code: "invalid_request", Message: "aspect_ratio must be one of 16:9, 9:16"}, jobs.FailureInput},
		{&creativeai.APIError{StatusCode: http.StatusUnauthorized}, jobs.FailureInput},
		{fmt.Errorf("wrapped: %w", &creativeai.APIError{StatusCode: http.StatusBadRequest, Code: "content_policy_violation"}), jobs.FailurePolicy},
	} {
		if got := jobs.ClassifySubmitError(tc.err); got != tc.want {
			t.Errorf("ClassifySubmitError(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestNotBilled(t *testing.T) {
	for text, want := range map[string]bool{
		"moderation_blocked: refused by the safety filter; not billed": true,
		"credits refunded":                    true,
		"provider timeout after retry budget": false,
		"":                                    false,
	} {
		if got := jobs.NotBilled(text); got != want {
			t.Errorf("NotBilled(%q) = %v, want %v", text, got, want)
		}
	}
}

func TestParseFailureClasses(t *testing.T) {
	for in, want := range map[string][]jobs.FailureClass{
		"transient":           {jobs.FailureTransient},
		" Transient , input ": {jobs.FailureTransient, jobs.FailureInput},
		"policy,policy":       {jobs.FailurePolicy},
		"all":                 jobs.FailureClasses,
		"input,,":             {jobs.FailureInput},
	} {
		got, err := jobs.ParseFailureClasses(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseFailureClasses(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", ",", "transient,fatal"} {
		if _, err := jobs.ParseFailureClasses(in); err == nil {
			t.Errorf("ParseFailureClasses(%q): no error", in)
		}
	}
}

// TestClassifySimulatedFailures renders with the simulator failing every
// render with one kind of failure at a time, applies what the service
// reports to a job, and checks the class recorded.
func TestClassifySimulatedFailures(t *testing.T) {
	for _, kind := range []creativeaitest.FailureKind{creativeaitest.FailureTransient, creativeaitest.FailureInput, creativeaitest.FailurePolicy} {
		t.Run(string(kind), func(t *testing.T) {
			sim := creativeaitest.NewServer(creativeaitest.WithFailureRate(1), creativeaitest.WithFailureKinds(kind),
				creativeaitest.WithRenderTime(time.Millisecond), creativeaitest.WithSeed(7))
			t.Cleanup(sim.Close)
			client := sim.Client()
			notBilled := 0
			const renders = 12
			for i := range renders {
				gen, _, err := client.Videos.Create(t.Context(), &creativeai.VideoRequest{
					Model: "kling-v3", Prompt: fmt.Sprintf("shot %d", i), ImageURL: "https://cdn.example.com/a.jpg",
				})
				if err != nil {
					t.Fatal(err)
				}
				if err := sim.WaitIdle(t.Context()); err != nil {
					t.Fatal(err)
				}
				got, _, err := client.Videos.Get(t.Context(), gen.ID)
				if err != nil {
					t.Fatal(err)
				}
				j := jobs.Job{Key: gen.ID, Status: jobs.StatusPending, GenerationID: gen.ID}
				if !j.ApplyGeneration(*got, time.Now()) || j.Status != jobs.StatusFailed {
					t.Fatalf("render %s: job %s after %+v, want failed", gen.ID, j.Status, got)
				}
				if j.FailureClass != jobs.FailureClass(kind) {
					t.Errorf("render failed with %q (failover %v): class %q, want %q", got.Error, got.FailoverUsed, j.FailureClass, kind)
				}
				if j.NotBilled {
					notBilled++
				}
			}
			if kind == creativeaitest.FailurePolicy && notBilled == 0 {
				t.Errorf("no policy refusal of %d said it was not billed; the simulator sends both kinds", renders)
			}
			if kind != creativeaitest.FailurePolicy && notBilled != 0 {
				t.Errorf("%d %s failures counted as not billed", notBilled, kind)
			}
		})
	}
}
