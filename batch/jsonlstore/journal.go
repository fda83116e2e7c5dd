package jsonlstore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
)

// journal is the memstore.Journal behind a Store: it appends encoded records to
// the file and syncs them with group commit. Append only queues a line;
// a Commit that finds no write in flight, and every other operation of the
// process waiting in Commit or gone, becomes the leader, writes everything
// queued so far with one write and one fsync, and wakes the others, whose
// lines were in the same batch or are taken by the next leader. Under load
// each fsync thus covers every change made while the previous one ran, and
// those of the operations it acknowledged that come straight back.
//
// Several processes may share the file. Every method of the Store runs in a
// hold of the file lock (enter, leave): the first operation of a hold takes
// the lock and reads what other processes appended since this one last
// looked, so that every decision rests on the whole file; operations that
// start while the lock is held join the hold, and the last one to end
// releases the lock, once its changes are written and synced. A process
// keeps holding the lock under load (its group commit goes on) until another
// process asks for it; it then lets its operations finish, hands the lock
// over, and queues for it again.
type journal struct {
	path string
	lock *fileLock
	mem  *memstore.Store // where other processes' records are restored
	log  *slog.Logger

	mu       sync.Mutex
	cond     sync.Cond // signalled when a flush or a hold changes
	f        *os.File  // the file; written at off
	off      int64     // end of the last whole line read or written
	lines    int       // lines up to off, for error messages
	buf      []byte    // queued lines
	bufLines int       // lines in buf
	spare    []byte    // the previous batch's buffer, for reuse
	enc      bytes.Buffer
	rd       *bufio.Reader // reads other processes' lines (catchUp)
	appended int64         // position of the last queued record
	written  int64         // position of the last record written to the file
	synced   int64         // position of the last durable record
	mustSync int64         // position of the last queued record that is not a lease
	flushing bool
	err      error // sticky: once a write fails, memory is ahead of the file
	readErr  error // why the last hold could not begin (the file unreadable), until one can
	closed   bool
	syncs    int64 // fsyncs of appended lines, for benchmarks

	held      bool          // this process holds the file lock
	acquiring bool          // an operation is taking the lock and catching up
	yielding  bool          // another process waits: admit no operation until the lock is handed over
	handoff   bool          // the last hold ended for a waiting process; let it go first
	active    int           // operations in the current hold
	waits     []*commitWait // Commit calls waiting for their records to be written or synced
	waiting   int           // operations waiting in enter
	gathering bool          // no fsync yet in this hold
	holds     int64         // holds begun, for tests
}

func newJournal(path string, f *os.File, lock *fileLock, log *slog.Logger) *journal {
	j := &journal{path: path, f: f, lock: lock, log: log}
	j.cond.L = &j.mu
	return j
}

// enter makes the caller an operation of this process's hold of the file
// lock, beginning a hold when there is none: it takes the lock (waiting for
// other processes) and restores what they appended.
func (j *journal) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for {
		switch {
		case j.closed:
			return jobs.ErrClosed
		case j.err != nil:
			// The store refuses changes; reads answer from memory, which
			// is all this process can still trust.
			j.active++
			return nil
		case j.held && !j.yielding:
			j.active++
			return nil
		case !j.held && !j.acquiring && !j.yielding:
			j.acquiring = true
			handoff := j.handoff
			j.mu.Unlock()
			err := j.begin(handoff)
			j.mu.Lock()
			j.acquiring = false
			j.readErr = err
			if errors.Is(err, errReplaced) {
				// Memory now holds records of the other file: refuse
				// every change, for good.
				j.err = err
			}
			j.cond.Broadcast()
			if err != nil {
				return err
			}
			j.held, j.handoff, j.gathering = true, false, true
			j.holds++
			j.active++
			return nil
		}
		j.waiting++
		j.cond.Wait()
		j.waiting--
	}
}

// leave ends an operation. The last operation of a hold releases the lock;
// every change the hold's operations made is durable by then, since each
// committed its own before leaving.
func (j *journal) leave() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.active--
	if !j.held {
		return
	}
	if j.active > 0 {
		j.cond.Broadcast() // a leader may wait for this operation
		return
	}
	if err := j.lock.unlock(); err != nil && j.err == nil {
		j.err = fmt.Errorf("jsonlstore: unlock %s.lock: %w", j.path, err)
	}
	j.held = false
	j.handoff = j.yielding
	j.yielding = false
	j.cond.Broadcast()
}

// begin takes the file lock and brings memory up to date with the file. It
// runs without j.mu, while no operation of this process runs.
func (j *journal) begin(handoff bool) error {
	if err := j.lock.lock(handoff); err != nil {
		return fmt.Errorf("jsonlstore: lock %s.lock: %w", j.path, err)
	}
	if err := j.catchUp(); err != nil {
		return errors.Join(err, j.lock.unlock())
	}
	return nil
}

// catchUp restores the records other processes appended since off. When
// another process compacted the file (the path names a new file), it reads
// the new file from its start; restoring a record this process has seen
// changes nothing, since a job record replaces the job whole.
//
// A compaction keeps every job, so a new file that lacks one this process
// had read was put there by something else (a backup moved over it, the
// file deleted and created anew): the records restored from it may be older
// than the ones they replaced, and catchUp fails with errReplaced.
func (j *journal) catchUp() error {
	cur, err := os.Stat(j.path)
	if err != nil {
		return fmt.Errorf("jsonlstore: %w", err)
	}
	var keys map[string]struct{}
	if old, err := j.f.Stat(); err != nil {
		return fmt.Errorf("jsonlstore: %w", err)
	} else if !os.SameFile(old, cur) {
		f, err := os.OpenFile(j.path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("jsonlstore: reopen compacted %s: %w", j.path, err)
		}
		j.f.Close()
		j.f, j.off, j.lines = f, 0, 0
		cur, err = f.Stat()
		if err != nil {
			return fmt.Errorf("jsonlstore: %w", err)
		}
		keys = make(map[string]struct{})
	}
	switch size := cur.Size(); {
	case size == j.off && keys == nil:
		return nil
	case size < j.off:
		return fmt.Errorf("jsonlstore: %s shrank from %d to %d bytes while open; was it edited by hand? Reopen it", j.path, j.off, size)
	}
	if err := j.read(cur.Size(), keys); err != nil || keys == nil {
		return err
	}
	if n, key := j.missing(keys); n > 0 {
		return fmt.Errorf("%w: %s was replaced by a file that lacks %d of the jobs this program had read from it (%s, for one), so it is no compaction; put the file back, or restart every program that has it open", errReplaced, j.path, n, key)
	}
	return nil
}

// errReplaced is the sticky error of a journal whose file was replaced by
// one that is not a compaction of it (see catchUp).
var errReplaced = errors.New("jsonlstore: job file replaced under this program")

// missing returns how many of the jobs in memory keys lacks, and one of them.
func (j *journal) missing(keys map[string]struct{}) (n int, example string) {
	_ = j.mem.Snapshot(func(records iter.Seq[memstore.Record]) error {
		for r := range records {
			if r.Job == nil {
				break // the jobs come first
			}
			if _, ok := keys[r.Job.Key]; !ok {
				if n == 0 {
					example = r.Job.Key
				}
				n++
			}
		}
		return nil
	})
	return n, example
}

// read restores the lines from off to size and leaves off after the last
// whole line, cutting off a torn tail (the write of a process that died
// mid-line, never acknowledged) and ending a whole but unterminated last
// line, so that appended lines start on a line of their own. It adds the
// key of every job record read to keys, unless keys is nil.
func (j *journal) read(size int64, keys map[string]struct{}) error {
	// One reader serves every catch-up: a process sharing the file catches
	// up at each hold, and a fresh 64 KiB buffer each time is what it would
	// mostly spend on.
	section := io.NewSectionReader(j.f, j.off, size-j.off)
	if j.rd == nil {
		j.rd = bufio.NewReaderSize(section, 1<<16)
	} else {
		j.rd.Reset(section)
	}
	r := j.rd
	end, n := j.off, j.lines
	unterminated := false
	for {
		line, err := r.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("jsonlstore: read %s: %w", j.path, err)
		}
		if len(line) == 0 {
			break
		}
		n++
		last := err == io.EOF
		text := bytes.TrimSpace(line)
		if end == 0 {
			text = bytes.TrimPrefix(text, []byte("\ufeff"))
		}
		if len(text) == 0 {
			if !last {
				end += int64(len(line))
			}
			continue
		}
		rec, derr := decodeLine(text)
		if derr != nil && last {
			j.log.Warn("jsonlstore: skipping torn last line; the write it belongs to was never acknowledged",
				"file", j.path, "line", n, "bytes", len(line), "error", derr)
			n--
			break
		}
		if derr == nil {
			derr = j.mem.Restore(rec)
		}
		if keys != nil && rec.Job != nil {
			keys[rec.Job.Key] = struct{}{}
		}
		if derr != nil {
			return fmt.Errorf("jsonlstore: %s:%d: %w", j.path, n, derr)
		}
		end += int64(len(line))
		unterminated = last
	}

	repaired := false
	if size != end {
		if err := j.f.Truncate(end); err != nil {
			return fmt.Errorf("jsonlstore: cut torn line off %s: %w", j.path, err)
		}
		repaired = true
	}
	if unterminated {
		if _, err := j.f.WriteAt([]byte("\n"), end); err != nil {
			return fmt.Errorf("jsonlstore: %w", err)
		}
		end++
		repaired = true
	}
	if repaired {
		if err := j.f.Sync(); err != nil {
			return fmt.Errorf("jsonlstore: %w", err)
		}
	}
	j.off, j.lines = end, n
	return nil
}

// Append implements memstore.Journal.
func (j *journal) Append(r memstore.Record) (int64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return 0, j.err
	}
	j.enc.Reset()
	if err := encodeRecord(&j.enc, r); err != nil {
		return 0, err
	}
	j.buf = append(j.buf, j.enc.Bytes()...)
	j.bufLines++
	j.appended++
	if r.Lease == nil {
		j.mustSync = j.appended
	}
	return j.appended, nil
}

// commitWait is a Commit call waiting until the records up to pos are
// written and those up to durable synced.
type commitWait struct{ pos, durable int64 }

func (j *journal) met(w *commitWait) bool { return j.synced >= w.durable && j.written >= w.pos }

// dropWait takes w off the waits when it is still there.
func (j *journal) dropWait(w *commitWait) {
	if i := slices.Index(j.waits, w); i >= 0 {
		j.waits = slices.Delete(j.waits, i, i+1)
	}
}

// Commit implements memstore.Journal. A delivery lease is written but not
// synced on its own: the next change's fsync carries it. Written is all the
// lease needs to keep other processes from claiming the job, since they read
// the file only after this process releases the lock, and a process killed
// leaves its written lines to the kernel. Only a crash of the machine can
// lose it, and that ends every delivery the lease was guarding, and every
// process, so the first Store to open the file again is alone and ends the
// leases in it anyway (see Open).
func (j *journal) Commit(pos int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	// Every record after mustSync is a lease, so durable is exact; when
	// mustSync lies beyond pos (others appended since), every record up to
	// pos is synced, leases included.
	w := &commitWait{pos: pos, durable: min(pos, j.mustSync)}
	if j.met(w) {
		return nil
	}
	j.waits = append(j.waits, w)
	defer j.dropWait(w)
	for !j.met(w) {
		if j.err != nil {
			return j.err
		}
		// A leader waits until every operation of the hold is waiting
		// here with its lines queued, or has left: those deciding queue
		// theirs in microseconds (they work in memory), and an operation
		// the last fsync acknowledged often comes straight back with its
		// next change, so the fsync carries them all rather than one. The
		// first leader of a hold also waits for operations about to join
		// it, since a hold that follows another process's is often one
		// fsync long. Commit calls outside any operation (Close's) count
		// among the waits, which can only make a leader go early.
		if j.flushing || j.held && (j.active > len(j.waits) || j.gathering && !j.yielding && j.waiting > 0) {
			j.cond.Wait()
			continue
		}
		// The leader writes every queued line, and syncs unless all that
		// is not durable yet is leases: a claim alone only writes, while a
		// claim that finds changes queued syncs them with its leases, so
		// that they need not wait for another leader.
		sync := j.synced < j.mustSync
		j.flushing, j.gathering = true, false
		lines, n, upto := j.buf, j.bufLines, j.appended
		j.buf, j.bufLines = j.spare[:0], 0
		j.mu.Unlock()
		err := j.write(lines, sync)
		j.mu.Lock()
		j.spare = lines[:0]
		j.flushing = false
		if sync {
			j.syncs++
		}
		if err != nil {
			j.err = fmt.Errorf("jsonlstore: %s: %w", j.path, err)
		} else {
			j.written = upto
			if sync {
				j.synced = upto
			}
			j.off += int64(len(lines))
			j.lines += n
			// The calls this flush satisfied no longer count as waiting,
			// though they have yet to wake.
			j.waits = slices.DeleteFunc(j.waits, j.met)
		}
		// Another process waiting for the file gets it after each flush:
		// the operations of this hold finish, and new ones wait for the
		// next hold. A process alone keeps the hold.
		if j.held && !j.yielding && j.lock.contended() {
			j.yielding = true
		}
		j.cond.Broadcast()
	}
	return nil
}

// write writes b at the end of the file, and syncs the file when sync is
// set, which makes every line written before durable. It runs without j.mu;
// flushing keeps it the only writer in this process, and the hold of the
// file lock the only one in any.
func (j *journal) write(b []byte, sync bool) error {
	if len(b) > 0 {
		if _, err := j.f.WriteAt(b, j.off); err != nil {
			return err
		}
	}
	if !sync {
		return nil
	}
	return j.f.Sync()
}

// acquire waits for any flush to end and makes the caller the only writer.
func (j *journal) acquire() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.flushing {
		j.cond.Wait()
	}
	if j.err != nil {
		return j.err
	}
	j.flushing = true
	return nil
}

func (j *journal) release() {
	j.mu.Lock()
	j.flushing = false
	j.cond.Broadcast()
	j.mu.Unlock()
}

// compact replaces the file with records, the store's whole state, by
// writing a temporary file, syncing it, renaming it over the file and
// syncing the directory. The store is locked meanwhile, so the queued lines
// are all part of records and are dropped.
func (j *journal) compact(records iter.Seq[memstore.Record]) error {
	if err := j.acquire(); err != nil {
		return err
	}
	defer j.release()

	removeStaleTemps(j.path, j.log)
	tmp, lines, err := j.writeTemp(records)
	if err != nil {
		return fmt.Errorf("jsonlstore: compact %s: %w", j.path, err)
	}
	if err := os.Rename(tmp.Name(), j.path); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("jsonlstore: compact %s: %w", j.path, err)
	}
	dirErr := syncDir(filepath.Dir(j.path))

	size, err := tmp.Seek(0, io.SeekCurrent)
	j.mu.Lock()
	old := j.f
	j.f, j.off, j.lines = tmp, size, lines
	j.buf, j.bufLines = j.buf[:0], 0
	j.written, j.synced = j.appended, j.appended
	if err != nil && dirErr == nil {
		dirErr = err
	}
	if dirErr != nil {
		// The rename may not survive a crash, and with it the lines that
		// were queued: refuse further changes rather than risk losing them.
		j.err = fmt.Errorf("jsonlstore: compact %s: sync directory: %w", j.path, dirErr)
	}
	j.mu.Unlock()
	return errors.Join(dirErr, old.Close())
}

// removeStaleTemps removes the temporary files of compactions killed
// before their rename, which would otherwise stay beside the job file, each
// up to its size. A compaction runs holding the file lock, so any such file
// found while holding it belongs to a process that is gone. A file that
// cannot be removed is logged and left: compaction does not need it gone.
func removeStaleTemps(path string, log *slog.Logger) {
	dir, prefix := filepath.Dir(path), filepath.Base(path)+".compact-"
	entries, err := os.ReadDir(dir)
	if err != nil {
		log.Warn("jsonlstore: cannot list leftovers of killed compactions", "dir", dir, "error", err)
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		name := filepath.Join(dir, e.Name())
		if err := os.Remove(name); err != nil {
			log.Warn("jsonlstore: cannot remove the leftover of a killed compaction", "file", name, "error", err)
			continue
		}
		log.Info("jsonlstore: removed the leftover of a killed compaction", "file", name)
	}
}

// writeTemp writes records to a synced temporary file beside the journal,
// with the journal's permissions, and leaves it open at its end. It returns
// the number of lines.
func (j *journal) writeTemp(records iter.Seq[memstore.Record]) (_ *os.File, lines int, err error) {
	info, err := j.f.Stat()
	if err != nil {
		return nil, 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(j.path), filepath.Base(j.path)+".compact-*")
	if err != nil {
		return nil, 0, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		return nil, 0, err
	}
	if err := keepOwner(tmp, info); err != nil {
		return nil, 0, err
	}
	w := bufio.NewWriterSize(tmp, 1<<20)
	var line bytes.Buffer
	for r := range records {
		line.Reset()
		if err := encodeRecord(&line, r); err != nil {
			return nil, 0, err
		}
		if _, err := w.Write(line.Bytes()); err != nil {
			return nil, 0, err
		}
		lines++
	}
	if err := w.Flush(); err != nil {
		return nil, 0, err
	}
	return tmp, lines, tmp.Sync()
}

// close closes the file and the lock once no write is in flight and no
// hold is beginning; the store has committed every record before. Later
// calls fail with jobs.ErrClosed.
func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.flushing || j.acquiring {
		j.cond.Wait()
	}
	if j.closed {
		return nil
	}
	j.closed = true
	j.held = false
	err := errors.Join(j.f.Close(), j.lock.close())
	if j.err == nil {
		j.err = jobs.ErrClosed
	}
	j.cond.Broadcast()
	return err
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}
