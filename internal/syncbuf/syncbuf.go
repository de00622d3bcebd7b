// Package syncbuf is a bytes.Buffer safe for concurrent use: for the output
// of a process, server or logger that tests read while it still writes.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer collects what is written to it; the zero Buffer is empty.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	// wrote is closed by the next Write (see Await); nil until awaited.
	wrote chan struct{}
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.wrote != nil {
		close(b.wrote)
		b.wrote = nil
	}
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
