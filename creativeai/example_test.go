package creativeai_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

// Example follows one SKU: a client, a submission that is safe to retry,
// and a wait for the finished clip. The simulator in creativeaitest stands in
// for https://api.creativeai.run, so the example runs offline.
func Example() {
	srv := creativeaitest.NewServer(creativeaitest.WithSeed(1))
	defer srv.Close()

	client, err := creativeai.NewClient(srv.APIKey, creativeai.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	gen, _, err := client.Videos.Create(ctx, &creativeai.VideoRequest{
		Model:       "kling-v3",
		Prompt:      "5-second product hero shot, slow camera push, clean white sweep",
		ImageURL:    "https://cdn.example.com/catalog/mug-hero.jpg",
		Duration:    5,
		AspectRatio: "16:9",
	}, creativeai.WithIdempotencyKey("SKU-1001/v1"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("submitted:", gen.Status)

	// The service documents a 5 s poll interval; the simulator renders in
	// milliseconds, so poll faster here.
	done, err := client.Videos.Wait(ctx, gen.ID, &creativeai.WaitOptions{Interval: 10 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("finished:", done.Status)
	fmt.Println("video ready:", strings.HasSuffix(done.OutputURL, ".mp4"))
	// Output:
	// submitted: pending
	// finished: completed
	// video ready: true
}

// ExampleNewClient configures a client. The key never appears when the
// client is printed or logged.
func ExampleNewClient() {
	client, err := creativeai.NewClient("rph_live_example",
		creativeai.WithBaseURL("http://127.0.0.1:8080/creativeai"),
		creativeai.WithUserAgent("catalog-sync/1.4"),
		creativeai.WithRetryPolicy(creativeai.RetryPolicy{
			MaxRetries:   5,
			InitialDelay: time.Second,
			MaxDelay:     time.Minute,
		}),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(client)
	// Output:
	// creativeai.Client{BaseURL: "http://127.0.0.1:8080/creativeai/", APIKey: "[REDACTED]"}
}

// ExampleNewClient_invalidOption shows that options are checked when the
// client is built, not when it is first used.
func ExampleNewClient_invalidOption() {
	_, err := creativeai.NewClient("rph_live_example", creativeai.WithBaseURL("api.creativeai.run"))
	fmt.Println(err)
	// Output:
	// creativeai: base URL "api.creativeai.run": scheme must be http or https
}

// ExampleNewClientFromEnv reads the key and, optionally, the base URL from
// the environment, as the example programs do.
func ExampleNewClientFromEnv() {
	srv := creativeaitest.NewServer(creativeaitest.WithSeed(1))
	defer srv.Close()
	// In a real program these come from the shell.
	os.Setenv(creativeai.EnvAPIKey, srv.APIKey)
	os.Setenv(creativeai.EnvBaseURL, srv.URL)
	defer os.Unsetenv(creativeai.EnvAPIKey)
	defer os.Unsetenv(creativeai.EnvBaseURL)

	client, err := creativeai.NewClientFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	gen, _, err := client.Videos.Create(context.Background(), &creativeai.VideoRequest{
		Prompt:   "gentle rotation, dynamic shadow",
		ImageURL: "https://cdn.example.com/catalog/shoe-hero.jpg",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(gen.Status, gen.Model, gen.Duration)
	// Output:
	// pending kling-v3 5s
}

// ExampleVideoService_Wait reports each status change while waiting.
func ExampleVideoService_Wait() {
	// Under WithManualRender the simulator renders only when told to, which
	// makes the sequence of statuses exact; a real render moves on its own.
	srv := creativeaitest.NewServer(creativeaitest.WithSeed(1), creativeaitest.WithManualRender())
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()

	gen, _, err := client.Videos.Create(ctx, &creativeai.VideoRequest{
		Prompt:   "lifestyle motion, soft natural light",
		ImageURL: "https://cdn.example.com/catalog/bag-hero.jpg",
	})
	if err != nil {
		log.Fatal(err)
	}
	done, err := client.Videos.Wait(ctx, gen.ID, &creativeai.WaitOptions{
		Interval: time.Millisecond,
		OnStatus: func(g *creativeai.Generation) {
			fmt.Println("status:", g.Status)
			if !g.Status.Terminal() {
				// The render takes its next step.
				if _, err := srv.Advance(g.ID); err != nil {
					log.Fatal(err)
				}
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("video ready:", done.OutputURL != "")
	// Output:
	// status: pending
	// status: processing
	// status: completed
	// video ready: true
}

// ExampleWithIdempotencyKey shows why creates carry a key: the simulator
// answers 502 after creating some jobs, the client retries with the same key,
// and no SKU is rendered (or billed) twice.
func ExampleWithIdempotencyKey() {
	srv := creativeaitest.NewServer(
		creativeaitest.WithSeed(7),
		creativeaitest.WithManualRender(),
		creativeaitest.WithFaults(creativeaitest.Faults{Error502AfterCreate: 0.5}),
	)
	defer srv.Close()
	client := srv.Client() // fast retries for the simulator

	for _, sku := range []string{"SKU-1001", "SKU-1002", "SKU-1003"} {
		_, _, err := client.Videos.Create(context.Background(), &creativeai.VideoRequest{
			Prompt:   "5-second product reveal",
			ImageURL: "https://cdn.example.com/catalog/" + sku + ".jpg",
		}, creativeai.WithIdempotencyKey(sku+"/attempt-0"))
		if err != nil {
			log.Fatal(err)
		}
	}
	st := srv.Stats()
	fmt.Println("answers lost to 502:", st.Faults.Error502AfterCreate)
	fmt.Println("renders:", st.Renders, "duplicates:", st.DuplicateRenders)
	// Output:
	// answers lost to 502: 5
	// renders: 3 duplicates: 0
}

// ExampleVideoService_List walks every completed generation, page by page.
func ExampleVideoService_List() {
	srv := creativeaitest.NewServer(creativeaitest.WithSeed(1), creativeaitest.WithManualRender())
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()

	for _, sku := range []string{"SKU-1001", "SKU-1002", "SKU-1003"} {
		gen, _, err := client.Videos.Create(ctx, &creativeai.VideoRequest{
			Prompt: sku + " hero shot", ImageURL: "https://cdn.example.com/catalog/" + sku + ".jpg",
		})
		if err != nil {
			log.Fatal(err)
		}
		if sku != "SKU-1002" {
			if err := srv.Complete(gen.ID); err != nil {
				log.Fatal(err)
			}
		}
	}

	for gen, err := range client.Videos.List(ctx, &creativeai.ListOptions{Status: creativeai.StatusCompleted, Limit: 1}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(gen.Prompt, gen.Status)
	}
	// Output:
	// SKU-1003 hero shot completed
	// SKU-1001 hero shot completed
}

// ExampleImageService_Create makes the refreshed still of a product page.
func ExampleImageService_Create() {
	srv := creativeaitest.NewServer(creativeaitest.WithSeed(1))
	defer srv.Close()
	client := srv.Client()

	res, _, err := client.Images.Create(context.Background(), &creativeai.ImageRequest{
		Model:    "gpt-image-1",
		Prompt:   "ceramic mug on a white sweep, soft shadow",
		Size:     "1024x1024",
		ImageURL: "https://cdn.example.com/catalog/mug-hero.jpg",
	}, creativeai.WithIdempotencyKey("SKU-1001/still"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.Data), "image, png:", strings.HasSuffix(res.Data[0].URL, ".png"))
	// Output:
	// 1 image, png: true
}

// ExampleAPIError tells a permanent rejection from a transient failure.
func ExampleAPIError() {
	srv := creativeaitest.NewServer(creativeaitest.WithSeed(1))
	defer srv.Close()
	client := srv.Client()

	_, _, err := client.Videos.Create(context.Background(), &creativeai.VideoRequest{
		Model:    "no-such-model",
		Prompt:   "hero shot",
		ImageURL: "https://cdn.example.com/catalog/mug-hero.jpg",
	})
	var apiErr *creativeai.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code)
		fmt.Println("worth retrying later:", creativeai.IsRetryable(err))
	}
	// Output:
	// 400 model_not_found
	// worth retrying later: false
}

// ExamplePricing_Total estimates a batch at the prices of the account's
// tier: one refreshed still and one clip per SKU.
func ExamplePricing_Total() {
	tier := creativeai.Pricing{Clip: 36, Still: 21} // the low end of the published ranges
	fmt.Println("catalog of 1,200 SKUs:", tier.Total(1200, 1200))
	fmt.Println("worst case per SKU:", creativeai.DefaultPricing().Total(1, 1))
	// Output:
	// catalog of 1,200 SKUs: $684.00
	// worst case per SKU: $0.80
}

// ExampleParseDuration reads clip lengths in the forms manifests use.
func ExampleParseDuration() {
	for _, s := range []string{"5s", "10", "1m", "2.5s"} {
		d, err := creativeai.ParseDuration(s)
		fmt.Println(d, err)
	}
	// Output:
	// 5s <nil>
	// 10s <nil>
	// 60s <nil>
	// 0s creativeai: duration "2.5s" is not a whole number of seconds
}
