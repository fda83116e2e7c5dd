// Command shopifyload publishes N videos against a fake Shopify store
// (shopifytest) from one or more processes and reports what the cost
// bucket paid per video, how many calls were answered THROTTLED, and how
// long the run took beside the least time the bucket allows.
//
//	go run ./examples/internal/shopifyload [-n 1000] [-procs 1|2] [-mode call|batch|bulk]
//	                                        [-bucket 1000] [-rate 50] [-speedup 20]
//	                                        [-workers 16] [-coalesce 50ms] [-ready-after 10s]
//	                                        [-placement "slot 2"|last]
//
// The parent process starts the store on loopback and, with -procs 2,
// runs itself twice more as children that publish half the jobs each
// through their own Client and Publisher, so each has its own pacer and
// sees the other only through the levels the store reports. With -procs 1
// it publishes in process.
//
// Time is scaled so a run is short and its ratios honest: the bucket
// refills at rate × speedup points per (wall) second, and processing times
// and poll intervals are divided by speedup; reported times are multiplied
// back by speedup, in Shopify seconds. The bucket's limit is the least
// time the points actually spent could be paid in: (points − bucket) /
// rate, the bucket starting full.
//
// Modes: call runs -workers goroutines per process, each calling
// Publisher.Publish per job, as a delivery outbox's workers do (Publish
// coalesces concurrent calls within -coalesce; 0 publishes each alone);
// batch hands PublishBatch 50 jobs at a time from -workers goroutines; both
// attach with a productUpdate per video (bulk operations off). bulk hands
// each process's whole share to one PublishBatch, which attaches it with
// one bulk operation (Shopify runs one per store at a time, so with two
// processes the second waits for the first); a bulk operation completes
// -bulk-duration after it starts.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

type options struct {
	n          int
	procs      int
	mode       string
	bucket     float64
	rate       float64
	speedup    float64
	workers    int
	coalesce   time.Duration
	readyAfter time.Duration
	bulkAfter  time.Duration
	placement  string
	// child mode
	child    bool
	endpoint string
	token    string
	jobsFile string
	from, to int
}

func main() {
	log.SetFlags(0)
	var o options
	flag.IntVar(&o.n, "n", 1000, "videos to publish")
	flag.IntVar(&o.procs, "procs", 1, "publishing processes: 1 (in process) or 2 (child processes)")
	flag.StringVar(&o.mode, "mode", "call", "call: concurrent Publish calls; batch: PublishBatch of 50")
	flag.Float64Var(&o.bucket, "bucket", 1000, "cost bucket size, points")
	flag.Float64Var(&o.rate, "rate", 50, "restore rate, points per Shopify second")
	flag.Float64Var(&o.speedup, "speedup", 20, "Shopify seconds per wall second")
	flag.IntVar(&o.workers, "workers", 16, "concurrent publishes per process")
	flag.DurationVar(&o.coalesce, "coalesce", shopify.DefaultCoalesceWindow, "Publish coalescing window in Shopify time (0: none)")
	flag.DurationVar(&o.readyAfter, "ready-after", 10*time.Second, "Shopify's processing time per video, in Shopify time")
	flag.DurationVar(&o.bulkAfter, "bulk-duration", 30*time.Second, "how long a bulk operation runs, in Shopify time")
	flag.StringVar(&o.placement, "placement", shopify.DefaultPlacement.String(), `gallery placement of the videos: "slot N" or "last" (each product has two images)`)
	flag.BoolVar(&o.child, "child", false, "internal: run as a publishing child")
	flag.StringVar(&o.endpoint, "endpoint", "", "internal: the store's GraphQL endpoint")
	flag.StringVar(&o.token, "token", "", "internal: the store's token")
	flag.StringVar(&o.jobsFile, "jobs", "", "internal: the jobs file")
	flag.IntVar(&o.from, "from", 0, "internal: first job")
	flag.IntVar(&o.to, "to", 0, "internal: end of jobs")
	flag.Parse()
	if o.child {
		if err := runChild(o); err != nil {
			log.Fatalf("shopifyload child: %v", err)
		}
		return
	}
	switch {
	case o.n <= 0, o.workers <= 0, o.bucket <= 0, o.rate <= 0, o.speedup <= 0:
		log.Fatal("shopifyload: -n, -workers, -bucket, -rate and -speedup must be positive")
	case o.procs != 1 && o.procs != 2:
		log.Fatal("shopifyload: -procs is 1 or 2")
	case o.mode != "call" && o.mode != "batch" && o.mode != "bulk":
		log.Fatal(`shopifyload: -mode is "call", "batch" or "bulk"`)
	}
	if err := run(o); err != nil {
		log.Fatalf("shopifyload: %v", err)
	}
}

func scaled(d time.Duration, speedup float64) time.Duration {
	return time.Duration(float64(d) / speedup)
}

func run(o options) error {
	srv := shopifytest.NewServer(
		shopifytest.WithBucket(o.bucket, o.rate*o.speedup),
		shopifytest.WithReadyAfter(scaled(o.readyAfter, o.speedup)),
		shopifytest.WithBulkDuration(scaled(o.bulkAfter, o.speedup)),
	)
	defer srv.Close()
	jobs := make([]shopify.VideoJob, o.n)
	for i := range jobs {
		sku := fmt.Sprintf("LOAD-%05d", i)
		srv.AddProduct(shopifytest.Product{Title: "Product " + sku, Variants: []shopifytest.Variant{{SKU: sku}}, Images: 2})
		jobs[i] = shopify.VideoJob{Key: "load/" + sku, SKU: sku, OutputURL: srv.AddVideo(shopifytest.Video{Size: 4096})}
	}

	start := time.Now()
	var failed int
	var took []float64
	var byOp map[string]opCost
	if o.procs == 1 {
		var costs opCosts
		failed = publish(o, srv.Client(shopify.WithCostObserver(costs.observe)), jobs)
		byOp = costs.snapshot()
	} else {
		f, t, c, err := children(o, srv, jobs)
		if err != nil {
			return err
		}
		failed, took, byOp = f, t, c
	}
	wall := time.Since(start)

	st := srv.Stats()
	shopifySecs := wall.Seconds() * o.speedup
	limit := max(0, st.PointsDebited-o.bucket) / o.rate
	fmt.Printf("mode=%s procs=%d n=%d bucket=%.0f rate=%.0f/s speedup=%.0f workers=%d coalesce=%v placement=%q\n",
		o.mode, o.procs, o.n, o.bucket, o.rate, o.speedup, o.workers, o.coalesce, o.placement)
	fmt.Printf("  failed jobs           %d\n", failed)
	fmt.Printf("  videos on products    %d\n", st.MediaCreated)
	fmt.Printf("  points per video      %.1f\n", st.PointsDebited/float64(o.n))
	fmt.Printf("  calls                 %d (%.2f per video)\n", st.Requests, float64(st.Requests)/float64(o.n))
	fmt.Printf("  THROTTLED             %d (%.2f%% of calls)\n", st.Throttled, 100*float64(st.Throttled)/float64(max(1, st.Requests)))
	fmt.Printf("  bulk operations       %d (%d lines)\n", st.BulkOperations, st.BulkLines)
	fmt.Printf("  time                  %.1f s (Shopify time; %.2f s wall)\n", shopifySecs, wall.Seconds())
	for i, secs := range took {
		fmt.Printf("  process %d published   in %.1f s (Shopify time)\n", i+1, secs*o.speedup)
	}
	fmt.Printf("  bucket's limit        %.1f s ((%.0f points − %.0f) / %.0f per s)\n", limit, st.PointsDebited, o.bucket, o.rate)
	if limit > 0 {
		fmt.Printf("  time / limit          %.2f\n", shopifySecs/limit)
	}
	fmt.Printf("  by operation          calls, requested and actual points per call, THROTTLED\n")
	for _, op := range slices.Sorted(maps.Keys(byOp)) {
		c := byOp[op]
		fmt.Printf("    %-28s %5d  %6.1f  %6.1f  %d\n", op, c.Calls, c.Requested/float64(max(1, c.Calls)), c.Actual/float64(max(1, c.Calls)), c.Throttled)
	}
	calls, _ := json.Marshal(st.Calls)
	fmt.Printf("  calls by field        %s\n", calls)
	if failed > 0 {
		return fmt.Errorf("%d jobs failed", failed)
	}
	return nil
}

// publisher builds the Publisher of one process.
func publisher(o options, c *shopify.Client) *shopify.Publisher {
	bulk := 0 // per call
	if o.mode == "bulk" {
		bulk = shopify.DefaultBulkThreshold
	}
	pl := shopify.DefaultPlacement
	if o.placement != "" {
		var err error
		if pl, err = shopify.ParsePlacement(o.placement); err != nil {
			log.Fatal(err)
		}
	}
	return shopify.NewPublisher(c,
		shopify.WithPlacement(pl),
		shopify.WithCoalescing(scaled(o.coalesce, o.speedup)),
		shopify.WithBulkThreshold(bulk),
		shopify.WithPollInterval(scaled(2*time.Second, o.speedup), scaled(15*time.Second, o.speedup)))
}

// publish publishes jobs from o.workers goroutines and returns how many
// failed.
func publish(o options, c *shopify.Client, jobs []shopify.VideoJob) int {
	pub := publisher(o, c)
	ctx := context.Background()
	var mu sync.Mutex
	failed := 0
	fail := func(j shopify.VideoJob, err error) {
		mu.Lock()
		defer mu.Unlock()
		failed++
		if failed <= 5 {
			log.Printf("%s: %v", j.Key, err)
		}
	}
	work := make(chan []shopify.VideoJob)
	var wg sync.WaitGroup
	for range o.workers {
		wg.Go(func() {
			for batch := range work {
				if o.mode != "call" {
					for _, out := range pub.PublishBatch(ctx, batch) {
						if out.Err != nil {
							fail(out.Job, out.Err)
						}
					}
					continue
				}
				for _, j := range batch {
					if _, err := pub.Publish(ctx, j.Key, j.SKU, j.OutputURL); err != nil {
						fail(j, err)
					}
				}
			}
		})
	}
	size := 1
	switch o.mode {
	case "batch":
		size = shopify.MaxBatchJobs
	case "bulk":
		size = len(jobs)
	}
	for i := 0; i < len(jobs); i += size {
		work <- jobs[i:min(len(jobs), i+size)]
	}
	close(work)
	wg.Wait()
	return failed
}

// children runs two child processes, each publishing half of the jobs,
// and returns how many jobs failed and how long each child took to publish
// its half, in wall seconds.
func children(o options, srv *shopifytest.Server, jobs []shopify.VideoJob) (int, []float64, map[string]opCost, error) {
	f, err := os.CreateTemp("", "shopifyload-*.jsonl")
	if err != nil {
		return 0, nil, nil, err
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, j := range jobs {
		if err := enc.Encode(j); err != nil {
			return 0, nil, nil, err
		}
	}
	if err := w.Flush(); err != nil {
		return 0, nil, nil, err
	}
	if err := f.Close(); err != nil {
		return 0, nil, nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return 0, nil, nil, err
	}
	half := len(jobs) / 2
	var cmds []*exec.Cmd
	outs := make([]*json.Decoder, 2)
	for i, r := range [][2]int{{0, half}, {half, len(jobs)}} {
		cmd := exec.Command(self, "-child", "-endpoint", srv.GraphQLURL, "-token", shopifytest.DefaultToken,
			"-jobs", f.Name(), "-from", strconv.Itoa(r[0]), "-to", strconv.Itoa(r[1]),
			"-mode", o.mode, "-workers", strconv.Itoa(o.workers), "-coalesce", o.coalesce.String(),
			"-speedup", strconv.FormatFloat(o.speedup, 'f', -1, 64), "-ready-after", o.readyAfter.String(), "-placement", o.placement)
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return 0, nil, nil, err
		}
		if err := cmd.Start(); err != nil {
			return 0, nil, nil, err
		}
		cmds = append(cmds, cmd)
		outs[i] = json.NewDecoder(stdout)
	}
	failed := 0
	var took []float64
	var costs opCosts
	for i, cmd := range cmds {
		var res childResult
		if err := outs[i].Decode(&res); err != nil {
			return 0, nil, nil, fmt.Errorf("child %d: reading its result: %w", i, err)
		}
		if err := cmd.Wait(); err != nil {
			return 0, nil, nil, fmt.Errorf("child %d: %w", i, err)
		}
		failed += res.Failed
		took = append(took, res.Seconds)
		costs.add(res.Costs)
	}
	return failed, took, costs.snapshot(), nil
}

// childResult is what a child prints on stdout.
type childResult struct {
	Failed int `json:"failed"`
	// Seconds is how long its publishing took, in wall seconds.
	Seconds float64 `json:"seconds"`
	// Costs is what its client was told each operation cost.
	Costs map[string]opCost `json:"costs"`
}

// opCost sums what Shopify reported for one operation's answers.
type opCost struct {
	Calls     int     `json:"calls"`
	Requested float64 `json:"requested"`
	Actual    float64 `json:"actual"`
	Throttled int     `json:"throttled"`
}

// opCosts gathers shopify.CostReports by operation.
type opCosts struct {
	mu sync.Mutex
	m  map[string]opCost
}

func (c *opCosts) observe(r shopify.CostReport) {
	c.add(map[string]opCost{r.Operation: {Calls: 1, Requested: r.Requested, Actual: r.Actual, Throttled: map[bool]int{true: 1}[r.Throttled]}})
}

func (c *opCosts) add(m map[string]opCost) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]opCost)
	}
	for op, v := range m {
		sum := c.m[op]
		sum.Calls += v.Calls
		sum.Requested += v.Requested
		sum.Actual += v.Actual
		sum.Throttled += v.Throttled
		c.m[op] = sum
	}
}

func (c *opCosts) snapshot() map[string]opCost {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.m)
}

func runChild(o options) error {
	f, err := os.Open(o.jobsFile)
	if err != nil {
		return err
	}
	defer f.Close()
	var jobs []shopify.VideoJob
	dec := json.NewDecoder(f)
	for i := 0; ; i++ {
		var j shopify.VideoJob
		if err := dec.Decode(&j); err != nil {
			break
		}
		if i >= o.from && i < o.to {
			jobs = append(jobs, j)
		}
	}
	var costs opCosts
	c, err := shopify.NewClient("", o.token, shopify.WithEndpoint(o.endpoint), shopify.WithCostObserver(costs.observe))
	if err != nil {
		return err
	}
	start := time.Now()
	failed := publish(o, c, jobs)
	return json.NewEncoder(os.Stdout).Encode(childResult{Failed: failed, Seconds: time.Since(start).Seconds(), Costs: costs.snapshot()})
}
