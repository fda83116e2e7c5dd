//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package jsonlstore

import (
	"os"
	"path/filepath"
	"sync"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// Without flock a job file cannot be shared: the lock only keeps a second
// Store in this process from opening it, and the package documentation says
// so.
var (
	lockedMu sync.Mutex
	locked   = map[string]bool{}
)

type fileLock struct{ f *os.File }

func openLock(path string) (*fileLock, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	lockedMu.Lock()
	defer lockedMu.Unlock()
	if locked[abs] {
		return nil, jobs.ErrLocked
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	locked[abs] = true
	return &fileLock{f: f}, nil
}

func (l *fileLock) lock(bool) error { return nil }
func (l *fileLock) unlock() error   { return nil }
func (l *fileLock) contended() bool { return false }

func (l *fileLock) close() error {
	lockedMu.Lock()
	delete(locked, l.f.Name())
	lockedMu.Unlock()
	return l.f.Close()
}

// keepOwner does nothing: a file is never shared here.
func (l *fileLock) keepOwner(os.FileInfo) {}

// sole reports true: a file is never shared here.
func (l *fileLock) sole() (bool, error) { return true, nil }
