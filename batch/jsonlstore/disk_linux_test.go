package jsonlstore

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDiskSync measures what one durable change costs the disk the
// store runs on, below the store: a 400-byte line appended and fsynced (what
// every group commit does), the same with fdatasync, and a 400-byte
// overwrite inside a file already written, with fdatasync (what a database
// with preallocated log segments does, no file size to journal). It reports
// the CPU time per sync (cpu-µs/op, user and system, from getrusage) besides
// the wall time: on a virtual disk the flush burns CPU, which a busy server
// then lacks. These figures bound any server that answers only after its
// change is on disk: see BENCHMARKS.md.
func BenchmarkDiskSync(b *testing.B) {
	line := make([]byte, 400)
	for i := range line {
		line[i] = 'x'
	}
	line[len(line)-1] = '\n'
	fdatasync := func(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
	cases := []struct {
		name      string
		overwrite bool
		sync      func(*os.File) error
	}{
		{"append+fsync", false, (*os.File).Sync},
		{"append+fdatasync", false, fdatasync},
		{"overwrite+fdatasync", true, fdatasync},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "sync.jsonl"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if c.overwrite {
				if _, err := f.Write(make([]byte, len(line)*(b.N+1))); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			before := cpuTime(b)
			b.ResetTimer()
			for i := range b.N {
				if c.overwrite {
					_, err = f.WriteAt(line, int64(i*len(line)))
				} else {
					_, err = f.Write(line)
				}
				if err == nil {
					err = c.sync(f)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime(b)-before).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// cpuTime returns the process's CPU time so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
