package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/ebb-dev/ebb/internal/gittest"
)

// TestLoopRefusesABrokenLedger: a pushed ledger file that is cut short
// or holds an overflowing generation fails the pass as invalid, naming
// the file and line; what runs and the ledger stay as they were.
func TestLoopRefusesABrokenLedger(t *testing.T) {
	const path = ".ebb/default/hello.yaml"
	tests := []struct {
		name   string
		mangle func(ledger string) string
		want   string
	}{
		{"truncated", func(l string) string { return l[:len(l)*2/3] }, path + ":"},
		{"generation overflows", func(l string) string {
			return strings.Replace(l, "generation: 1\nlatest", "generation: 9223372036854775807\nlatest", 1)
		}, path + ":5: generation: expected 1 <= 9223372036854775807 <= 9007199254740991"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLoopFixture(t, false)
			ctx := context.Background()
			if p := f.loop.Sync(ctx); p.Err != nil {
				t.Fatal(p.Err)
			}
			good := f.target.last(t)
			f.pull(t)
			ledger := gittest.Run(t, f.bare, "show", "main:"+path) + "\n"
			f.user.CommitAndPush(t, map[string]string{path: tt.mangle(ledger), "service.yaml": helloService("Ebb", "")}, "break the ledger")
			head := gittest.Run(t, f.bare, "rev-parse", "main")
			p := f.loop.Sync(ctx)
			if p.Err == nil || p.Stage != StageInvalid {
				t.Fatalf("pass = %+v, want it invalid", p)
			}
			if !strings.Contains(p.Err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", p.Err, tt.want)
			}
			if f.target.last(t) != good {
				t.Error("a commit with a broken ledger was applied")
			}
			if now := gittest.Run(t, f.bare, "rev-parse", "main"); now != head {
				t.Error("ebb committed on top of a broken ledger")
			}
		})
	}
}
