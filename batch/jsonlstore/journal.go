package jsonlstore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"sync"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
)

// journal is the memstore.Journal behind a Store: it appends encoded records to
// the file and syncs them with group commit. Append only queues a line;
// the first Commit that finds no write in flight becomes the leader, writes
// everything queued so far with one write and one fsync, and wakes the
// others, whose lines were in the same batch or are taken by the next
// leader. Under load each fsync thus covers every change made while the
// previous one ran.
type journal struct {
	path string

	mu       sync.Mutex
	cond     sync.Cond // signalled when a flush ends
	f        *os.File  // positioned at the end of the last whole line
	buf      []byte    // queued lines
	spare    []byte    // the previous batch's buffer, for reuse
	enc      bytes.Buffer
	appended int64 // position of the last queued record
	synced   int64 // position of the last durable record
	flushing bool
	err      error // sticky: once a write fails, memory is ahead of the file
	syncs    int64 // fsyncs of appended lines, for benchmarks
}

func newJournal(path string, f *os.File) *journal {
	j := &journal{path: path, f: f}
	j.cond.L = &j.mu
	return j
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
	j.appended++
	return j.appended, nil
}

// Commit implements memstore.Journal.
func (j *journal) Commit(pos int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.synced < pos {
		if j.err != nil {
			return j.err
		}
		if j.flushing {
			j.cond.Wait()
			continue
		}
		j.flushing = true
		lines, upto := j.buf, j.appended
		j.buf = j.spare[:0]
		j.mu.Unlock()
		err := j.write(lines)
		j.mu.Lock()
		j.spare = lines[:0]
		j.flushing = false
		j.syncs++
		if err != nil {
			j.err = fmt.Errorf("jsonlstore: %s: %w", j.path, err)
		} else {
			j.synced = upto
		}
		j.cond.Broadcast()
	}
	return nil
}

// write runs without the lock; flushing keeps it the only writer.
func (j *journal) write(b []byte) error {
	if _, err := j.f.Write(b); err != nil {
		return err
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

	tmp, err := j.writeTemp(records)
	if err != nil {
		return fmt.Errorf("jsonlstore: compact %s: %w", j.path, err)
	}
	if err := os.Rename(tmp.Name(), j.path); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("jsonlstore: compact %s: %w", j.path, err)
	}
	dirErr := syncDir(filepath.Dir(j.path))

	j.mu.Lock()
	old := j.f
	j.f = tmp
	j.buf = j.buf[:0]
	j.synced = j.appended
	if dirErr != nil {
		// The rename may not survive a crash, and with it the lines that
		// were queued: refuse further changes rather than risk losing them.
		j.err = fmt.Errorf("jsonlstore: compact %s: sync directory: %w", j.path, dirErr)
	}
	j.mu.Unlock()
	return errors.Join(dirErr, old.Close())
}

// writeTemp writes records to a synced temporary file beside the journal,
// with the journal's permissions, and leaves it open at its end.
func (j *journal) writeTemp(records iter.Seq[memstore.Record]) (_ *os.File, err error) {
	info, err := j.f.Stat()
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(j.path), filepath.Base(j.path)+".compact-*")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(tmp, 1<<20)
	var line bytes.Buffer
	for r := range records {
		line.Reset()
		if err := encodeRecord(&line, r); err != nil {
			return nil, err
		}
		if _, err := w.Write(line.Bytes()); err != nil {
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return tmp, tmp.Sync()
}

// close closes the file once no write is in flight; the store has committed
// every record before. Later calls fail with jobs.ErrClosed.
func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.flushing {
		j.cond.Wait()
	}
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	if j.err == nil {
		j.err = jobs.ErrClosed
	}
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
