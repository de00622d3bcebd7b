package local

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// Logs merges the output of many processes into one stream, one whole line
// at a time, each line prefixed with the name of the process it came from.
type Logs struct {
	mu  sync.Mutex
	out io.Writer
}

// NewLogs returns a Logs writing to out.
func NewLogs(out io.Writer) *Logs { return &Logs{out: out} }

// Writer returns a writer whose lines appear in the stream as
// "prefix | line". A trailing partial line is held until its newline
// arrives or Flush is called.
func (l *Logs) Writer(prefix string) *LineWriter {
	return &LineWriter{logs: l, prefix: []byte(prefix + " | ")}
}

// LineWriter is one process's view of Logs.
type LineWriter struct {
	logs   *Logs
	prefix []byte

	mu      sync.Mutex
	partial []byte
}

// Write writes every complete line of p to the stream.
func (w *LineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			// A line longer than this is cut rather than held forever.
			if len(w.partial) >= 64<<10 {
				w.emit(nil)
			}
			break
		}
		w.emit(p[:i])
		p = p[i+1:]
	}
	return n, nil
}

// Flush writes a held partial line, if any.
func (w *LineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.emit(nil)
	}
}

func (w *LineWriter) emit(tail []byte) {
	line := make([]byte, 0, len(w.prefix)+len(w.partial)+len(tail)+1)
	line = append(line, w.prefix...)
	line = append(line, w.partial...)
	line = append(line, tail...)
	line = append(line, '\n')
	w.partial = w.partial[:0]
	w.logs.mu.Lock()
	_, _ = w.logs.out.Write(line)
	w.logs.mu.Unlock()
}

// What a tail keeps: Kubernetes' limits on a termination message taken
// from a container's log.
const (
	tailLines = 80
	tailBytes = 2 << 10
)

// tail keeps the end of a process's output, for the message of its exit.
// The zero value is ready to use.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

// Write keeps the last tailBytes of everything written.
func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*tailBytes {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailBytes:]...)
	}
	return len(p), nil
}

// Reset forgets what was written.
func (t *tail) Reset() {
	t.mu.Lock()
	t.buf = t.buf[:0]
	t.mu.Unlock()
}

// String returns the last tailLines lines, at most tailBytes, without
// surrounding blank space.
func (t *tail) String() string {
	t.mu.Lock()
	b := t.buf[max(0, len(t.buf)-tailBytes):]
	s := string(bytes.TrimSpace(b))
	t.mu.Unlock()
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-tailLines):], "\n")
}
