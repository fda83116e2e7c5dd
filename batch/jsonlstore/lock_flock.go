//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package jsonlstore

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// fileLock serializes the processes that share a job file. Flocks belong to
// an open file, so two Stores in one process exclude each other as two
// processes do, and the kernel releases a dead process's locks.
//
// Two sidecar files are used, both left in place: path+".lock", held
// exclusively while a process reads and appends, and path+".want", held
// shared by processes waiting for the first. A holder that finds ".want"
// held (contended) hands the lock over instead of keeping it under load, and
// before it queues again waits until the waiters have had their turn (flock
// itself promises no order).
//
// A third, path+".open", is held shared by every open Store, so that one
// that opens the file can tell (sole) whether any other has it open.
type fileLock struct {
	f, want, open *os.File
}

func openLock(path string) (*fileLock, error) {
	f, err := openSidecar(path)
	if err != nil {
		return nil, err
	}
	want, err := openSidecar(path + ".want")
	if err != nil {
		return nil, errors.Join(err, f.Close())
	}
	open, err := openSidecar(path + ".open")
	if err != nil {
		return nil, errors.Join(err, f.Close(), want.Close())
	}
	return &fileLock{f: f, want: want, open: open}, nil
}

// openSidecar opens (creating) a sidecar file to flock. Nothing is ever
// written to it, so one this process may only read, such as one another
// user created, is opened read-only: flock needs no more on a local file
// system (over NFS, where flock becomes a POSIX lock that needs write
// access, the read-write open is the one that works).
func openSidecar(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if errors.Is(err, fs.ErrPermission) {
		if ro, rerr := os.Open(name); rerr == nil {
			return ro, nil
		}
	}
	return f, err
}

// keepOwner gives the sidecar files the job file's owner where this
// process may (see keepOwner), so that a program run by another user, such
// as root, that creates them does not lock the file's owner out. It is best
// effort: a sidecar this process cannot give away stays as it is, and an
// Open by the owner then fails naming it.
func (l *fileLock) keepOwner(info os.FileInfo) {
	for _, f := range []*os.File{l.f, l.want, l.open} {
		_ = keepOwner(f, info)
	}
}

// sole marks this Store as having the file open and reports whether no
// other Store has it open. It is called once, holding the write lock, so
// that two Stores opening at once do not both find themselves alone.
func (l *fileLock) sole() (bool, error) {
	err := flock(l.open, syscall.LOCK_EX|syscall.LOCK_NB)
	alone := err == nil
	if err != nil && !errors.Is(err, syscall.EWOULDBLOCK) {
		return false, err
	}
	return alone, flock(l.open, syscall.LOCK_SH)
}

// lock takes the write lock, waiting for other processes. After a handoff it
// first waits for the processes that were waiting then.
func (l *fileLock) lock(handoff bool) error {
	if handoff {
		if err := flock(l.want, syscall.LOCK_EX); err != nil {
			return err
		}
	}
	if err := flock(l.want, syscall.LOCK_SH); err != nil {
		return err
	}
	err := flock(l.f, syscall.LOCK_EX)
	return errors.Join(err, flock(l.want, syscall.LOCK_UN))
}

func (l *fileLock) unlock() error { return flock(l.f, syscall.LOCK_UN) }

// contended reports whether another process waits for the write lock.
func (l *fileLock) contended() bool {
	if err := flock(l.want, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	_ = flock(l.want, syscall.LOCK_UN)
	return false
}

// close releases the locks by closing their files.
func (l *fileLock) close() error { return errors.Join(l.f.Close(), l.want.Close(), l.open.Close()) }

// flock retries a wait interrupted by a signal, which Go's runtime sends
// its threads for preemption.
func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
