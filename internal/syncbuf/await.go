package syncbuf

import (
	"context"
	"fmt"
	"regexp"
)

// Await returns re's first match in what was written, and its submatches,
// waiting for the writes that make it match (a server's "serving on ADDR"
// line), until ctx ends.
func (b *Buffer) Await(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	for {
		b.mu.Lock()
		m := re.FindSubmatch(b.b.Bytes())
		if m == nil && b.wrote == nil {
			b.wrote = make(chan struct{})
		}
		wrote := b.wrote
		b.mu.Unlock()
		if m != nil {
			out := make([]string, len(m))
			for i, s := range m {
				out[i] = string(s)
			}
			return out, nil
		}
		select {
		case <-wrote:
		case <-ctx.Done():
			return nil, fmt.Errorf("awaiting %q in the output: %w", re, ctx.Err())
		}
	}
}
