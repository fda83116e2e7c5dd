package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/examples/internal/cli"
	"github.com/creativeai-run/catalogvideo/shopify"
)

const rollbackHelp = `rollback SKU…
               undo each SKU's latest Shopify delivery: the job's video leaves
               the product and, when it had replaced an earlier video, that
               one is attached again in its slot (from the snapshot the
               publisher recorded on the product before replacing it)
  rollback -batch ID
               the same for every video of publish batch ID (batch=ID in the
               delivery ref)
  rollback -since TIME
               the same for every Shopify delivery recorded at or after TIME
               (RFC 3339, or YYYY-MM-DD for midnight UTC), newest first.
               Each roll back is recorded on its job (delivery_ref gains
               rolled_back=TIME); rolling back again changes nothing. Needs
               SHOPIFY_STORE and SHOPIFY_ADMIN_TOKEN (or SHOPIFY_ADMIN_API_URL);
               exits 1 when a roll back failed (run it again to finish) and
               2 for a SKU without a delivered shopify-pdp job.`

// rollbackCommand runs "rollback" with the arguments after the command
// word: SKUs, or -batch ID, or -since TIME, and -jobs again if wanted.
func rollbackCommand(ctx context.Context, jobsSpec string, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("jobs rollback", "-jobs FILE|DSN rollback (SKU…|-batch ID|-since TIME)", rollbackHelp)
	spec := fs.String("jobs", jobsSpec, cli.JobsFlagHelp)
	batchID := fs.String("batch", "", "roll back every video of the publish batch `ID`")
	sinceText := fs.String("since", "", "roll back every Shopify delivery recorded at or after `TIME`")
	var skus []string
	for {
		if err := cli.Parse(fs, args, stdout, stderr); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		skus = append(skus, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if *spec == "" {
		return cli.Usagef("-jobs is required")
	}
	given := 0
	for _, set := range []bool{len(skus) > 0, *batchID != "", *sinceText != ""} {
		if set {
			given++
		}
	}
	if given != 1 {
		return cli.Usagef("rollback takes SKUs, or -batch ID, or -since TIME (exactly one of them)")
	}
	var since time.Time
	if *sinceText != "" {
		var err error
		if since, err = parseSince(*sinceText); err != nil {
			return cli.Usagef("-since: %v", err)
		}
	}
	env := cli.LoadEnv(os.Getenv)
	if env.ShopifyAdminURL == "" && (env.ShopifyStore == "" || env.ShopifyToken == "") {
		return cli.Usagef("rollback changes the Shopify store: set %s and %s (or %s)", cli.EnvShopifyStore, cli.EnvShopifyToken, cli.EnvShopifyAdminURL)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	client, err := cli.NewShopifyClient(env, logger)
	if err != nil {
		return cli.Usagef("Shopify settings: %v", err)
	}
	if _, err := cli.ParseStoreSpec(*spec); err != nil {
		return cli.Usagef("-jobs: %v", err)
	}
	store, _, err := cli.OpenStore(ctx, *spec, storeLogger(stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	todo, err := rollbackTargets(ctx, store, skus, *batchID, since)
	if err != nil {
		return err
	}
	if len(todo) == 0 {
		_, err := fmt.Fprintln(stdout, "nothing to roll back: no Shopify delivery matches")
		return err
	}
	pub := shopify.NewPublisher(client)
	var failed int
	for _, j := range todo {
		if err := rollbackJob(ctx, store, pub, j, stdout); err != nil {
			failed++
			fmt.Fprintf(stderr, "jobs: rollback %s (%s): %v\n", j.SKU, j.Key, err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%s of %d not rolled back; rolling back again takes up where it stopped", cli.Plural(failed, "job"), len(todo))
	}
	return nil
}

// parseSince reads RFC 3339 or a date (midnight UTC).
func parseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-11-30T07:00:00Z) nor a date (2026-11-30)", s)
}

// rollbackTargets picks the delivered shopify-pdp jobs to roll back,
// newest first: for each SKU its latest delivery that published a video
// (not a superseded one); or every delivery of the batch; or every
// delivery recorded since the time.
func rollbackTargets(ctx context.Context, store jobs.Store, skus []string, batchID string, since time.Time) ([]jobs.Job, error) {
	latest := make(map[string]jobs.Job)
	var out []jobs.Job
	for j, err := range store.List(ctx, jobs.Filter{Statuses: []jobs.Status{jobs.StatusCompleted}}) {
		if err != nil {
			return nil, err
		}
		if j.TargetSurface != cli.SurfaceShopifyPDP || j.Delivery != jobs.DeliveryDelivered {
			continue
		}
		switch {
		case len(skus) > 0:
			// A superseded job put nothing on the product: the SKU's
			// latest delivery is the newer job whose video stayed.
			if ref, err := shopify.ParseDeliveryRef(j.DeliveryRef); slices.Contains(skus, j.SKU) && (err != nil || !ref.Superseded) {
				if l, ok := latest[j.SKU]; !ok || !j.UpdatedAt.Before(l.UpdatedAt) {
					latest[j.SKU] = j
				}
			}
		case batchID != "":
			if ref, err := shopify.ParseDeliveryRef(j.DeliveryRef); err == nil && ref.Batch == batchID {
				out = append(out, j)
			}
		case !j.UpdatedAt.Before(since):
			out = append(out, j)
		}
	}
	for _, sku := range skus {
		j, ok := latest[sku]
		if !ok {
			return nil, cli.Invalidf("SKU %q has no delivered %s job to roll back", sku, cli.SurfaceShopifyPDP)
		}
		out = append(out, j)
	}
	slices.SortStableFunc(out, func(a, b jobs.Job) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
	return out, nil
}

// rollbackJob rolls one job's delivery back on Shopify and records it on
// the job, unless it was recorded already and nothing changed.
func rollbackJob(ctx context.Context, store jobs.Store, pub *shopify.Publisher, j jobs.Job, stdout io.Writer) error {
	ref, err := shopify.ParseDeliveryRef(j.DeliveryRef)
	if err != nil {
		return err
	}
	res, err := pub.Rollback(ctx, j.Key, j.SKU)
	if err != nil {
		return err
	}
	what := "nothing to change"
	if res.Changed {
		var parts []string
		if res.Removed != "" {
			parts = append(parts, "removed "+res.Removed)
		}
		if res.Restored != "" {
			parts = append(parts, fmt.Sprintf("restored %s at slot %d", res.Restored, res.Slot))
		}
		what = cmp.Or(strings.Join(parts, ", "), "moved back")
	}
	if !ref.RolledBack.IsZero() && !res.Changed {
		_, err := fmt.Fprintf(stdout, "%s\t%s\talready rolled back at %s\n", j.SKU, j.Key, ref.RolledBack.Format(time.RFC3339))
		return err
	}
	if ref.RolledBack.IsZero() {
		ref.RolledBack = time.Now().UTC().Truncate(time.Second)
	}
	if _, err := store.AmendDelivery(ctx, j.Key, ref.String()); err != nil {
		return errors.Join(fmt.Errorf("rolled back on Shopify (%s) but not recorded", what), err)
	}
	_, err = fmt.Fprintf(stdout, "%s\t%s\trolled back: %s\n", j.SKU, j.Key, what)
	return err
}
