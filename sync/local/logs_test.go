package local

import (
	"bytes"
	"testing"
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
