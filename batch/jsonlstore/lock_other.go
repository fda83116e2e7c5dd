//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package jsonlstore

import (
	"os"
	"path/filepath"
	"sync"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// Without flock the lock only guards against a second Open in this process;
// the package documentation says so.
var (
	lockedMu sync.Mutex
	locked   = map[string]bool{}
)

func lockFile(path string) (*os.File, error) {
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
	return f, nil
}

func unlockFile(f *os.File) error {
	lockedMu.Lock()
	delete(locked, f.Name())
	lockedMu.Unlock()
	return f.Close()
}
