package console

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"

	"github.com/creativeai-run/catalogvideo/batch/manifest"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// ManifestColumns is the header of a CSV export: the manifest columns that
// batch.NewManifestReader reads, so a fixed export can be submitted as it
// is.
var ManifestColumns = []string{
	manifest.ColumnSKU, manifest.ColumnImageURL, manifest.ColumnVideoPrompt, manifest.ColumnCollection,
	manifest.ColumnTargetSurface, manifest.ColumnModel, manifest.ColumnDuration, manifest.ColumnAspectRatio,
	manifest.ColumnStillPrompt,
}

// ManifestRecord is j's row of a manifest, in ManifestColumns order. Render
// settings the row left to the run's defaults stay empty.
func ManifestRecord(j *jobs.Job) []string {
	duration := ""
	if j.Duration > 0 {
		duration = strconv.Itoa(j.Duration.Seconds())
	}
	return []string{j.SKU, j.ImageURL, j.VideoPrompt, j.Collection, j.TargetSurface,
		j.Model, duration, j.AspectRatio, j.StillPrompt}
}

// export streams the jobs matching the filters (by default the failed and
// submit_failed ones) as a manifest CSV (format=csv, the default) or as
// export records in JSON Lines (format=jsonl), as a download.
func (c *console) export(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q, err := parseQuery(v, c.cfg.PageSize)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	format := v.Get("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "jsonl" {
		c.fail(w, r, fmt.Errorf("%w: format %q: want csv or jsonl", errBadQuery, format))
		return
	}
	f := q.filter()
	name := string(q.State)
	if q.State == "" {
		f.Statuses = []jobs.Status{jobs.StatusFailed, jobs.StatusSubmitFailed}
		name = "failed"
	}
	name += "-" + c.clock.Now().UTC().Format("20060102-150405") + "." + format

	bw := bufio.NewWriter(w)
	var write func(*jobs.Job) error
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		cw := csv.NewWriter(bw)
		if err := cw.Write(ManifestColumns); err != nil {
			return
		}
		write = func(j *jobs.Job) error {
			if err := cw.Write(ManifestRecord(j)); err != nil {
				return err
			}
			cw.Flush()
			return cw.Error()
		}
	} else {
		w.Header().Set("Content-Type", "application/jsonl; charset=utf-8")
		enc := jobs.NewRecordEncoder(bw)
		write = func(j *jobs.Job) error {
			return enc.Encode(&jobs.Record{Job: *j, BuyerStatus: j.BuyerStatus(c.copy)})
		}
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	n := 0
	for job, err := range c.cfg.Store.List(r.Context(), f) {
		if err == nil && q.match(&job) {
			err = write(&job)
			n++
		}
		if err != nil {
			// The status line is sent; a cut-short body is all that can
			// tell the client.
			c.logger.Error("console: export cut short", "rows", n, "error", err)
			return
		}
	}
	if err := bw.Flush(); err != nil {
		c.logger.Error("console: export cut short", "rows", n, "error", err)
	}
}
