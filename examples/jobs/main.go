// Command jobs is the operator's view of a job store: a status table with
// the buyer-facing copy, the record-format export, and compaction of a JSONL
// job file.
//
// Usage:
//
//	jobs -jobs FILE|DSN status    # SKU, status, buyer-facing line, generation id, delivery
//	jobs -jobs FILE|DSN export    # one JSON record per job, as DESIGN.md specifies
//	jobs -jobs FILE compact       # rewrite a JSONL job file with one line per job
//
// -jobs takes a JSONL file path, sqlite:PATH, or a postgres:// URL. Exit
// status is 0 on success, 1 when the store cannot be read or written, and 2
// for bad flags or an unknown command.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/examples/internal/cli"
)

func main() { cli.Main("jobs", run) }

const description = `Shows, exports, or compacts a job store.

commands:
  status   a table of every job: SKU, status, buyer-facing status line,
           generation id, and delivery state
  export   one JSON record per job (the job file's record format, with the
           buyer-facing status line)
  compact  rewrite a JSONL job file to one line per job (JSONL only; database
           stores need no compaction)

A JSONL file is locked while a webhook-server or another program has it open;
stop that program first.`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("jobs", "-jobs FILE|DSN (status|export|compact)", description)
	jobsSpec := fs.String("jobs", "", cli.JobsFlagHelp)
	if err := cli.Parse(fs, args, stdout, stderr); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		if *jobsSpec == "" {
			return cli.Usagef("-jobs is required")
		}
		return cli.Usagef("missing command: want status, export, or compact")
	}
	// Flags may follow the command too: jobs status -jobs FILE.
	cmd := rest[0]
	if err := cli.Parse(fs, rest[1:], stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments after %s: %q", cmd, fs.Args())
	}
	return runCommand(ctx, *jobsSpec, cmd, stdout)
}

// runCommand runs one command on the job store named by jobsSpec.
func runCommand(ctx context.Context, jobsSpec, cmd string, stdout io.Writer) error {
	if jobsSpec == "" {
		return cli.Usagef("-jobs is required")
	}
	switch cmd {
	case "status", "export", "compact":
	default:
		return cli.Usagef("unknown command %q: want status, export, or compact", cmd)
	}
	spec, err := cli.ParseStoreSpec(jobsSpec)
	if err != nil {
		return cli.Usagef("-jobs: %v", err)
	}
	if cmd == "compact" && spec.Kind != cli.StoreJSONL {
		return cli.Usagef("compact works on JSONL job files only; %s is a %s database, which needs no compaction", spec.Display, spec.Kind)
	}
	if spec.Kind == cli.StoreJSONL {
		// Opening would create a missing file; a typo should not.
		if _, err := os.Stat(spec.Target); err != nil {
			return cli.Usagef("-jobs %s: %v", spec.Target, errors.Unwrap(err))
		}
	}

	store, _, err := cli.OpenStore(ctx, jobsSpec, nil)
	if err != nil {
		return err
	}
	switch cmd {
	case "status":
		err = status(ctx, store, stdout)
	case "export":
		err = batch.Export(ctx, store, stdout, creativeai.DefaultBuyerCopy())
	case "compact":
		err = compact(ctx, store, spec, stdout)
	}
	return errors.Join(err, store.Close())
}

func status(ctx context.Context, store batch.Store, w io.Writer) error {
	var jobs []batch.Job
	for j, err := range store.List(ctx, batch.Filter{}) {
		if err != nil {
			return err
		}
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 {
		_, err := fmt.Fprintln(w, "no jobs")
		return err
	}
	if err := cli.WriteStatusTable(w, jobs, creativeai.DefaultBuyerCopy()); err != nil {
		return err
	}
	return cli.WriteCounts(w, jobs)
}

func compact(ctx context.Context, store batch.Store, spec cli.StoreSpec, w io.Writer) error {
	c, ok := store.(cli.Compacter)
	if !ok {
		return fmt.Errorf("the %s store cannot be compacted", spec.Kind)
	}
	before, _ := os.Stat(spec.Target)
	if err := c.Compact(ctx); err != nil {
		return fmt.Errorf("compact %s: %w", spec.Display, err)
	}
	after, err := os.Stat(spec.Target)
	if err != nil {
		return err
	}
	if before != nil {
		_, err = fmt.Fprintf(w, "Compacted %s: %d -> %d bytes\n", spec.Display, before.Size(), after.Size())
	}
	return err
}
