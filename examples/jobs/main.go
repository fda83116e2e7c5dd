// Command jobs is the operator's view of a job store: a status table with
// the buyer-facing copy, the record-format export, compaction of a JSONL
// job file, and import of an export into another store.
//
// Usage:
//
//	jobs -jobs FILE|DSN status         # SKU, status, buyer-facing line, generation id, delivery
//	jobs -jobs FILE|DSN export         # one JSON record per job (jobs.Record)
//	jobs -jobs FILE compact            # rewrite a JSONL job file with one line per job
//	jobs -jobs FILE|DSN import EXPORT  # track every job of an export, with its full state
//	jobs -jobs FILE|DSN rollback SKU…  # undo SKUs' latest Shopify delivery (also -batch ID, -since TIME)
//
// -jobs takes a JSONL file path, sqlite:PATH, or a postgres:// URL. Moving a
// job file to PostgreSQL is an export and an import:
//
//	jobs -jobs video-jobs.jsonl export > jobs.jsonl
//	jobs -jobs postgres://… import jobs.jsonl
//
// Exit status is 0 on success, 1 when the store cannot be read or written
// (or a roll back failed on Shopify), and 2 for bad flags, an unknown
// command, an import file with a bad record (nothing is imported then), or
// a roll back of a SKU without a delivered shopify-pdp job.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/examples/internal/cli"
)

func main() { cli.Main("jobs", run) }

// synopsis keeps the documented first form and adds import's.
const synopsis = `-jobs FILE|DSN (status|export|compact)
   or: jobs -jobs FILE|DSN import FILE
   or: jobs -jobs FILE|DSN rollback (SKU…|-batch ID|-since TIME)`

const description = `Shows, exports, compacts, or imports a job store, or rolls back
Shopify deliveries.

commands:
  status       a table of every job: SKU, status, buyer-facing status line,
               generation id, and delivery state
  export       one JSON record per job (the job file's record format, with the
               buyer-facing status line)
  compact      rewrite a JSONL job file to one line per job (JSONL only;
               database stores need no compaction)
  import FILE  track every job of FILE, the output of export, in this store
               with its full state: status, output, attempts, delivery. A job
               whose key the store already has is left as it is and counted as
               already present, so an import can be rerun. Every record is
               checked first; a bad one is reported as FILE:LINE and nothing
               is imported.
  ` + rollbackHelp + `

Moving a job file to PostgreSQL:
  jobs -jobs video-jobs.jsonl export > jobs.jsonl
  jobs -jobs postgres://user@host/db import jobs.jsonl

A JSONL file may be open in other programs (webhook-server, submit) at the
same time, compact included: they reread the compacted file.`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("jobs", synopsis, description)
	jobsSpec := fs.String("jobs", "", cli.JobsFlagHelp)
	if err := cli.Parse(fs, args, stdout, stderr); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		if *jobsSpec == "" {
			return cli.Usagef("-jobs is required")
		}
		return cli.Usagef("missing command: want status, export, compact, import, or rollback")
	}
	// Flags may follow the command too: jobs status -jobs FILE.
	cmd := rest[0]
	if cmd == "rollback" {
		return rollbackCommand(ctx, *jobsSpec, rest[1:], stdout, stderr)
	}
	if err := cli.Parse(fs, rest[1:], stdout, stderr); err != nil {
		return err
	}
	var file string
	if cmd == "import" && fs.NArg() > 0 {
		// And follow import's file: jobs import jobs.jsonl -jobs DSN.
		file = fs.Arg(0)
		if err := cli.Parse(fs, fs.Args()[1:], stdout, stderr); err != nil {
			return err
		}
		cmd = "import " + file
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments after %s: %q", cmd, fs.Args())
	}
	if file != "" {
		return importFile(ctx, *jobsSpec, file, stdout, stderr)
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
	case "import":
		return cli.Usagef("import needs the FILE to read: the output of jobs export")
	default:
		return cli.Usagef("unknown command %q: want status, export, compact, import, or rollback", cmd)
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
		err = batch.Export(ctx, batch.ExportConfig{Store: store, Writer: stdout})
	case "compact":
		err = compact(ctx, store, spec, stdout)
	}
	return errors.Join(err, store.Close())
}

func status(ctx context.Context, store jobs.Store, w io.Writer) error {
	var jobList []jobs.Job
	for j, err := range store.List(ctx, jobs.Filter{}) {
		if err != nil {
			return err
		}
		jobList = append(jobList, j)
	}
	if len(jobList) == 0 {
		_, err := fmt.Fprintln(w, "no jobs")
		return err
	}
	if err := cli.WriteStatusTable(w, jobList, jobs.DefaultBuyerCopy()); err != nil {
		return err
	}
	return cli.WriteCounts(w, jobList)
}

func compact(ctx context.Context, store jobs.Store, spec cli.StoreSpec, w io.Writer) error {
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

// importFile tracks every record of the export file in the store jobsSpec
// names. It reads the file twice: once to check every record before the
// store is touched, so a bad line cannot leave half a file imported, and
// once to import, so a file of any size takes constant memory apart from
// its keys.
func importFile(ctx context.Context, jobsSpec, file string, stdout, stderr io.Writer) error {
	if jobsSpec == "" {
		return cli.Usagef("-jobs is required")
	}
	spec, err := cli.ParseStoreSpec(jobsSpec)
	if err != nil {
		return cli.Usagef("-jobs: %v", err)
	}
	if _, err := os.Stat(file); err != nil {
		return cli.Usagef("import %s: %v", file, errors.Unwrap(err))
	}
	if err := checkExport(file, stderr); err != nil {
		return err
	}

	// Unlike the other commands, import may create the store: a new JSONL
	// file or database is the usual target.
	store, _, err := cli.OpenStore(ctx, jobsSpec, nil)
	if err != nil {
		return err
	}
	created, present, err := importRecords(ctx, store, file)
	if err != nil {
		err = fmt.Errorf("%w\n%s imported before the failure; jobs already present are skipped, so the same import can be rerun once the problem is fixed",
			err, cli.Plural(created, "job"))
	} else {
		_, err = fmt.Fprintf(stdout, "Imported %s (%d already present) -> %s\n", cli.Plural(created, "job"), present, spec.Display)
	}
	return errors.Join(err, store.Close())
}

// checkExport reads every record of file and reports each bad one on stderr
// as FILE:LINE. Any bad record is a usage error: nothing is imported.
func checkExport(file string, stderr io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	bad := 0
	firstLine := map[string]int{} // key → line
	for rec, err := range jobs.DecodeRecords(f, file) {
		if err == nil {
			if first, dup := firstLine[rec.Key]; dup {
				// A job file has a line per change, the last one winning;
				// importing the first would lose the job's later state.
				err = &jobs.RecordError{File: file, Line: rec.Line, Err: fmt.Errorf("key %q repeats line %d; import reads jobs export output, one record per job (export the job file first)", rec.Key, first)}
			} else {
				firstLine[rec.Key] = rec.Line
			}
		}
		var re *jobs.RecordError
		switch {
		case err == nil:
		case errors.As(err, &re):
			bad++
			fmt.Fprintln(stderr, re)
		default:
			return err
		}
	}
	switch {
	case bad == 1:
		return cli.Invalidf("%s: 1 bad record; nothing was imported", file)
	case bad > 1:
		return cli.Invalidf("%s: %d bad records; nothing was imported", file, bad)
	}
	return nil
}

// importRecords tracks each record of file in store, in the file's order, so
// the store lists them as the source did. It returns how many jobs were new
// and how many keys the store already had.
func importRecords(ctx context.Context, store jobs.Store, file string) (created, present int, err error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	for rec, err := range jobs.DecodeRecords(f, file) {
		if err != nil {
			return created, present, err // the file changed since it was checked
		}
		_, isNew, err := store.Track(ctx, rec.Job)
		if err != nil {
			return created, present, fmt.Errorf("%s:%d: import %s: %w", file, rec.Line, rec.Key, err)
		}
		if isNew {
			created++
		} else {
			present++
		}
	}
	return created, present, nil
}
