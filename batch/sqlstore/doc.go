// Package sqlstore keeps batch jobs in a SQL database through database/sql:
// SQLite for a single host, PostgreSQL when several processes (webhook
// receivers, submitters, delivery workers) share one set of jobs.
//
// The package imports no driver. The program opens the *sql.DB with the
// driver of its choice, passes it to [New] with the matching [Dialect], and
// keeps ownership of it: [Store.Close] does not close it.
//
//	db, err := sql.Open("sqlite", "file:jobs.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
//	...
//	store, err := sqlstore.New(ctx, db, sqlstore.SQLite)
//
// # Schema and migrations
//
// New migrates the schema with [Migrate] before returning. The migrations
// are embedded in the package, versioned, applied in one transaction, and
// recorded in the schema_migrations table; several processes may start at
// once, since they queue on a lock (an advisory lock on PostgreSQL, the
// database's write lock on SQLite) and each migration runs exactly once.
// [WithoutMigrations] leaves migrating to a separate step.
//
// Every table is named with a prefix, [DefaultTablePrefix] unless
// [WithTablePrefix] says otherwise:
//
//   - jobs holds one row per job: the whole [batch.Job] as JSON, which keeps
//     the record format exactly, and copies of the fields that queries
//     select on (status, generation id, delivery state and due time, the
//     delivery lease). Its seq column orders jobs by first tracking.
//   - job_generations maps every generation id a job has had, in its
//     current and earlier attempts, to the job.
//   - deferred_events keeps, per generation id no job has yet, the most
//     advanced event received for it, until a submission records the id.
//     Events for ids no submission ever records (another system's renders
//     sharing the webhook URL) stay; operators may delete old ones by
//     received_at (Unix nanoseconds) at any time.
//
// # Concurrency
//
// Every change reads the job inside a transaction, changes it with the
// state machine in package batch ([batch.Job.ApplyGeneration] and its
// siblings), and writes it back before the transaction commits; the store
// itself knows no rules of the job's life. On PostgreSQL the job's row is locked
// (SELECT … FOR UPDATE) for the length of the transaction, so concurrent
// events for one job apply one after the other; claims lock with FOR UPDATE
// SKIP LOCKED, so any number of delivery workers in any number of processes
// each lease different jobs without waiting for one another. An event for a
// generation id no job has yet and the submission that records that id take
// an advisory lock on the id, so whichever commits second sees the other.
//
// On SQLite, where one writer at a time holds the database and a durable
// commit costs an fsync, a store commits its concurrent writes together
// (group commit): writes queue, and one caller at a time runs everything
// queued in one BEGIN IMMEDIATE transaction, which takes the write lock
// before anything is read, each write in a savepoint of its own so that one
// that fails is undone alone; each caller returns once the shared commit is
// durable. Writers of other processes (or other *sql.DB handles on the same
// file) wait in SQLite's busy handler and, should that give up, the store
// retries with backoff for up to a minute before reporting the database
// locked. A write that has started runs to its end even if its context is
// cancelled meanwhile, because SQLite answers an interrupted write by
// rolling back the whole transaction.
//
// # SQLite DSN
//
// With modernc.org/sqlite (driver name "sqlite"), open the database with
//
//	file:/path/to/jobs.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)
//
// where
//
//   - journal_mode(WAL) lets readers (Get, List, a status page) run while a
//     write commits, and makes each commit cheaper. It is kept in the
//     database file, so setting it once is enough, but harmless every time.
//   - busy_timeout(10000) makes a connection wait up to ten seconds for
//     another process's write lock instead of failing at once.
//
// The store begins its own transactions with BEGIN IMMEDIATE, so it does not
// need _txlock=immediate; add it for the program's own transactions on the
// same database. Leave synchronous at its default (FULL): with NORMAL in WAL
// mode an acknowledged update survives a crash of the process but not a
// power failure, which breaks the durability batch.Store promises. Open one
// Store per database file in a process: several work, but contend for the
// write lock instead of sharing commits. List
// holds no connection while its caller's loop runs, so even a pool of one
// connection (db.SetMaxOpenConns(1)) works.
//
// # PostgreSQL DSN
//
// Use github.com/jackc/pgx/v5/stdlib (driver name "pgx"), for example
// "postgres://user@host:5432/db?sslmode=verify-full". To keep the tables in
// a schema of their own, add search_path=myschema to the DSN (pgx passes it
// to the server as a run-time parameter). The store uses READ COMMITTED
// transactions and reruns one that hits a deadlock or serialization failure.
//
// # Times
//
// The queried time columns hold Unix nanoseconds, so the database compares
// them exactly as time.Time does; the record keeps every time as written.
// Times before 1678 or after 2261 are clamped in those columns (the zero
// time, which stands for "none", sorts first).
package sqlstore
