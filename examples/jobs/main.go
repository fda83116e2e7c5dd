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
//	jobs -jobs FILE|DSN approve [-note TEXT] SKU…|-all  # release videos held for review
//	jobs -jobs FILE|DSN reject SKU… -reason TEXT        # refuse videos held for review
//	jobs -jobs FILE|DSN retry-delivery SKU…             # deliver again after a failed delivery
//
// -jobs takes a JSONL file path, sqlite:PATH, or a postgres:// URL. Moving a
// job file to PostgreSQL is an export and an import:
//
//	jobs -jobs video-jobs.jsonl export > jobs.jsonl
//	jobs -jobs postgres://… import jobs.jsonl
//
// Exit status is 0 on success, 1 when the store cannot be read or written
// (or a roll back failed on Shopify), and 2 for bad flags, an unknown
// command, an import file with a bad record (nothing is imported then), an
// approve, reject or retry-delivery naming an unknown SKU or a job it does
// not apply to (nothing is changed then), or a roll back of a SKU without a
// delivered shopify-pdp job.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/examples/internal/cli"
)

func main() { cli.Main("jobs", run) }

// synopsis keeps the documented first form and adds import's.
const synopsis = `-jobs FILE|DSN (status|export|compact)
   or: jobs -jobs FILE|DSN import FILE
   or: jobs -jobs FILE|DSN approve [-note TEXT] (SKU...|-all)
   or: jobs -jobs FILE|DSN reject SKU... -reason TEXT
   or: jobs -jobs FILE|DSN retry-delivery SKU...
   or: jobs -jobs FILE|DSN rollback (SKU…|-batch ID|-since TIME)`

const description = `Shows, exports, compacts, or imports a job store; approves, rejects, or
retries the delivery of its videos; or rolls back Shopify deliveries.

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
  approve SKU...|-all
               release videos held for review (webhook-server -review): a job
               awaiting review (or rejected) is due for delivery at once; a job
               still rendering is approved ahead and goes straight through.
               -all approves every job awaiting review; -note TEXT is kept.
  reject SKU... -reason TEXT
               refuse videos awaiting review: they are marked rejected with the
               reason and not delivered unless approved later; the console's
               replay (or jobs.Store.Replay) renders them again.
  retry-delivery SKU...
               put jobs whose delivery failed for good back in the outbox,
               due now with their attempts reset.
  A SKU names every job of that SKU (or give a job key); each name must have
  a job the command applies to, or nothing is changed and the exit status is
  2. Approval is stored in the job store, so a webhook-server sharing it
  delivers the video at its next poll.
  ` + rollbackHelp + `

Moving a job file to PostgreSQL:
  jobs -jobs video-jobs.jsonl export > jobs.jsonl
  jobs -jobs postgres://user@host/db import jobs.jsonl

A JSONL file may be open in other programs (webhook-server, submit) at the
same time, compact included: they reread the compacted file.

exit status: 0 done; 1 the store cannot be read or written, or a roll back
failed on Shopify; 2 bad flags, an unknown command, a bad import record, or
an unknown SKU or a job the command does not apply to (nothing changed).`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("jobs", synopsis, description)
	jobsSpec := fs.String("jobs", "", cli.JobsFlagHelp)
	all := fs.Bool("all", false, "approve: every job awaiting review")
	note := fs.String("note", "", "approve: a note kept with the approval (review_note)")
	reason := fs.String("reason", "", "reject: why the video is rejected (required; kept in review_note)")
	if err := cli.Parse(fs, args, stdout, stderr); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		if *jobsSpec == "" {
			return cli.Usagef("-jobs is required")
		}
		return cli.Usagef("missing command: want %s", commands)
	}
	// Flags may come before the command, after it, and between its
	// arguments: jobs status -jobs FILE, jobs import FILE -jobs DSN,
	// jobs reject SKU-1 -reason TEXT.
	cmd := rest[0]
	if cmd == "rollback" {
		return rollbackCommand(ctx, *jobsSpec, rest[1:], stdout, stderr)
	}
	var operands []string
	for more := rest[1:]; ; more = fs.Args()[1:] {
		if err := cli.Parse(fs, more, stdout, stderr); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		operands = append(operands, fs.Arg(0))
	}
	if cmd != "approve" && (*all || cli.IsSet(fs, "note")) {
		return cli.Usagef("-all and -note go with approve, not %s", cmd)
	}
	if cmd != "reject" && cli.IsSet(fs, "reason") {
		return cli.Usagef("-reason goes with reject, not %s", cmd)
	}
	switch cmd {
	case "import":
		if len(operands) > 1 {
			return cli.Usagef("unexpected arguments after import %s: %q", operands[0], operands[1:])
		}
		if len(operands) == 1 {
			return importFile(ctx, *jobsSpec, operands[0], stdout, stderr)
		}
	case "approve", "reject", "retry-delivery":
		switch {
		case *all && len(operands) > 0:
			return cli.Usagef("approve takes SKUs or -all, not both")
		case !*all && len(operands) == 0:
			return cli.Usagef("%s needs the SKUs (or job keys) of the jobs%s", cmd, map[bool]string{true: ", or -all"}[cmd == "approve"])
		case cmd == "reject" && strings.TrimSpace(*reason) == "":
			return cli.Usagef("reject needs -reason TEXT: why the video is rejected, for whoever replays it")
		}
		return decide(ctx, *jobsSpec, newDecision(cmd, *note, strings.TrimSpace(*reason)), operands, *all, stdout, stderr)
	}
	if len(operands) > 0 {
		return cli.Usagef("unexpected arguments after %s: %q", cmd, operands)
	}
	return runCommand(ctx, *jobsSpec, cmd, stdout, stderr)
}

// storeLogger is where a store reports what it repaired on opening, such as
// the torn last line of a job file it cut off: even a read-only command
// changes the file then, and says so.
func storeLogger(stderr io.Writer) *slog.Logger {
	return cli.NewLogger(stderr, slog.LevelWarn, false)
}

// commands lists the commands for error messages.
const commands = "status, export, compact, import, approve, reject, retry-delivery, or rollback"

// runCommand runs one command on the job store named by jobsSpec.
func runCommand(ctx context.Context, jobsSpec, cmd string, stdout, stderr io.Writer) error {
	if jobsSpec == "" {
		return cli.Usagef("-jobs is required")
	}
	switch cmd {
	case "status", "export", "compact":
	case "import":
		return cli.Usagef("import needs the FILE to read: the output of jobs export")
	default:
		return cli.Usagef("unknown command %q: want %s", cmd, commands)
	}
	spec, err := cli.ParseStoreSpec(jobsSpec)
	if err != nil {
		return cli.Usagef("-jobs: %v", err)
	}
	if cmd == "compact" && spec.Kind != cli.StoreJSONL {
		return cli.Usagef("compact works on JSONL job files only; %s is a %s database, which needs no compaction", spec.Display, spec.Kind)
	}
	if err := checkExists(spec); err != nil {
		return err
	}

	store, _, err := cli.OpenStore(ctx, jobsSpec, storeLogger(stderr))
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

// checkExists refuses a JSONL job file that does not exist: opening would
// create it, and a typo should not.
func checkExists(spec cli.StoreSpec) error {
	if spec.Kind == cli.StoreJSONL {
		if _, err := os.Stat(spec.Target); err != nil {
			return cli.Usagef("-jobs %s: %v", spec.Target, errors.Unwrap(err))
		}
	}
	return nil
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
	store, _, err := cli.OpenStore(ctx, jobsSpec, storeLogger(stderr))
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
