// Package archivetest provides an in-memory archive.Bucket for tests, which
// behaves as blob stores do: an object appears whole when its writer's
// Close succeeds, a write whose context was cancelled first is abandoned,
// and the earlier object stays readable meanwhile. It counts commits and
// abandoned writes, and lets a test corrupt an object.
package archivetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"

	"github.com/creativeai-run/catalogvideo/batch/archive"
)

// Bucket is an in-memory archive.Bucket. The zero value is not usable; call
// NewBucket. It is safe for concurrent use.
type Bucket struct {
	base string

	mu        sync.Mutex
	objects   map[string]object
	commits   int
	abandoned int
}

type object struct {
	data        []byte
	contentType string
}

// NewBucket returns an empty bucket whose URLs are "mem://name/<key>".
func NewBucket(name string) *Bucket {
	return &Bucket{base: "mem://" + name + "/", objects: map[string]object{}}
}

// NewWriter starts writing the object at key; see archive.Bucket.
func (b *Bucket) NewWriter(ctx context.Context, key, contentType string) (io.WriteCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &writer{b: b, ctx: ctx, key: key, contentType: contentType}, nil
}

// NewReader opens the object at key; see archive.Bucket.
func (b *Bucket) NewReader(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objects[key]
	if !ok {
		return nil, fmt.Errorf("archivetest: %s: %w", key, archive.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(o.data)), nil
}

// URL returns "mem://name/" followed by key.
func (b *Bucket) URL(key string) string { return b.base + key }

// Object returns a copy of the object at key and its content type.
func (b *Bucket) Object(key string) (data []byte, contentType string, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objects[key]
	return bytes.Clone(o.data), o.contentType, ok
}

// Keys returns the keys of the objects, sorted.
func (b *Bucket) Keys() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Sorted(maps.Keys(b.objects))
}

// Corrupt flips the last bit of the object at key, as a bad disk or an
// operator's edit would, and reports whether there was one.
func (b *Bucket) Corrupt(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objects[key]
	if !ok || len(o.data) == 0 {
		return false
	}
	o.data = bytes.Clone(o.data)
	o.data[len(o.data)-1] ^= 1
	b.objects[key] = o
	return true
}

// Commits returns how many writes committed an object.
func (b *Bucket) Commits() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.commits
}

// Abandoned returns how many writes were closed after their context was
// cancelled, and so committed nothing.
func (b *Bucket) Abandoned() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.abandoned
}

type writer struct {
	b           *Bucket
	ctx         context.Context
	key         string
	contentType string
	buf         bytes.Buffer
	closed      bool
}

func (w *writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, fmt.Errorf("archivetest: write to %s after Close", w.key)
	}
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return w.buf.Write(p)
}

func (w *writer) Close() error {
	if w.closed {
		return fmt.Errorf("archivetest: %s closed twice", w.key)
	}
	w.closed = true
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	if err := w.ctx.Err(); err != nil {
		w.b.abandoned++
		return err
	}
	w.b.objects[w.key] = object{data: w.buf.Bytes(), contentType: w.contentType}
	w.b.commits++
	return nil
}
