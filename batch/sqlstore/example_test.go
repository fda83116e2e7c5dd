package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	_ "modernc.org/sqlite" // the program picks the driver; the store imports none

	"github.com/creativeai-run/catalogvideo/batch/sqlstore"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// Example opens a job store in a SQLite file, tracks a row, records its
// submission, and applies the webhook that completes it.
func Example() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// WAL lets readers run during writes; busy_timeout lets writers of other
	// processes wait for the lock instead of failing.
	dsn := "file:" + filepath.Join(dir, "jobs.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close() // the store does not close the *sql.DB it was given

	store, err := sqlstore.New(ctx, db, sqlstore.SQLite)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	job := jobs.Job{Key: "SKU-1042/3f9a", SKU: "SKU-1042", TargetSurface: "shopify-pdp"}
	if _, created, err := store.Track(ctx, job); err != nil || !created {
		log.Fatal(created, err)
	}
	gen := &creativeai.Generation{ID: "vgen_8c1e", Status: creativeai.StatusPending}
	if _, err := store.RecordSubmission(ctx, job.Key, jobs.Submission{Generation: gen}); err != nil {
		log.Fatal(err)
	}
	res, err := store.Apply(ctx, creativeai.Generation{
		ID:        "vgen_8c1e",
		Status:    creativeai.StatusCompleted,
		OutputURL: "https://cdn.creativeai.run/output/vgen_8c1e.mp4",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Changed, res.Job.Status, res.Job.Delivery)
	fmt.Println(res.Job.BuyerStatus(jobs.DefaultBuyerCopy()))

	// A duplicate delivery of the same webhook changes nothing.
	res, err = store.Apply(ctx, creativeai.Generation{ID: "vgen_8c1e", Status: creativeai.StatusCompleted})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Changed)
	// Output:
	// true completed pending
	// Video ready - publishing to its destination
	// false
}
