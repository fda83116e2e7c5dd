//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package jsonlstore

import (
	"errors"
	"os"
	"syscall"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// lockFile takes an exclusive flock on path, creating it if needed. The lock
// belongs to the open file, so a second Open conflicts even in the same
// process, and the kernel releases it when the process dies.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, jobs.ErrLocked
		}
		return nil, err
	}
	return f, nil
}

// unlockFile releases the lock by closing its file.
func unlockFile(f *os.File) error { return f.Close() }
