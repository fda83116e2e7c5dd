//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package jsonlstore

import (
	"fmt"
	"os"
	"syscall"
)

// keepOwner gives f the owner and group of info, the job file that f
// replaces or sits beside, when they differ: a file made by another user
// (an operator running compact as root while the servers run as their own
// user) would otherwise lock the file's owner out of it. Changing them takes
// the privilege to (root, or the owner giving the file to one of its groups);
// without it the error says whose the file is.
func keepOwner(f *os.File, info os.FileInfo) error {
	want, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	cur, err := f.Stat()
	if err != nil {
		return err
	}
	if have, ok := cur.Sys().(*syscall.Stat_t); !ok || have.Uid == want.Uid && have.Gid == want.Gid {
		return nil
	}
	if err := f.Chown(int(want.Uid), int(want.Gid)); err != nil {
		return fmt.Errorf("give %s to the job file's owner (uid %d, gid %d), whose programs must go on opening it: %w; run this as that user", f.Name(), want.Uid, want.Gid, err)
	}
	return nil
}
