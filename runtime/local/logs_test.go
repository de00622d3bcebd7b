package local

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLogsPrefixWholeLines(t *testing.T) {
	var out bytes.Buffer
	logs := NewLogs(&out)
	a, b := logs.Writer("a"), logs.Writer("b")
	a.Write([]byte("one\ntw"))
	b.Write([]byte("x\n"))
	a.Write([]byte("o\nthree"))
	a.Flush()
	if got, want := out.String(), "a | one\nb | x\na | two\na | three\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTailKeepsTheEndOfTheOutput(t *testing.T) {
	numbered := func(from, to int) string {
		var b strings.Builder
		for i := from; i <= to; i++ {
			fmt.Fprintf(&b, "line %d\n", i)
		}
		return b.String()
	}
	long := strings.Repeat("x", 5000)
	for _, tc := range []struct {
		name   string
		writes []string
		want   string
	}{
		{"nothing", nil, ""},
		{"a few lines", []string{"panic: boom\n", "\ngoroutine 1 [running]:\n\n"}, "panic: boom\n\ngoroutine 1 [running]:"},
		{"the last 80 lines", []string{numbered(1, 50), numbered(51, 100)}, strings.TrimSpace(numbered(21, 100))},
		{"at most 2 KiB", []string{"first\n", long, "\nlast\n"}, long[len(long)-(tailBytes-len("\nlast\n")):] + "\nlast"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tl tail
			tl.Write([]byte("from an earlier run\n"))
			tl.Reset()
			for _, w := range tc.writes {
				tl.Write([]byte(w))
			}
			if diff := cmp.Diff(tc.want, tl.String()); diff != "" {
				t.Errorf("tail (-want +got):\n%s", diff)
			}
		})
	}
}
