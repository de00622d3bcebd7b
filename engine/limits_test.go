package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/ebb-dev/ebb/internal/gittest"
	"github.com/ebb-dev/ebb/serving"
)

// A commit or a preview over the loop's Limits is refused with the file
// and the limit; what runs stays the last good main commit.
func TestLoopLimits(t *testing.T) {
	f := newLoopFixture(t, false)
	previewLoop(t, f)
	f.loop.Limits = serving.Limits{FileBytes: 2 << 10}
	ctx := context.Background()
	if p := f.loop.Sync(ctx); p.Err != nil {
		t.Fatal(p.Err)
	}
	good := f.target.last(t)
	big := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  k: " + strings.Repeat("x", 3<<10) + "\n"

	f.pull(t)
	if out, err := f.user.Git("checkout", "-q", "-b", "preview/big"); err != nil {
		t.Fatal(err, out)
	}
	f.user.Commit(t, map[string]string{"service.yaml": helloService("Preview", ""), "apps/big.yaml": big}, "a big file")
	if out, err := f.user.Git("push", "-q", "origin", "preview/big"); err != nil {
		t.Fatal(err, out)
	}
	p := f.loop.Sync(ctx)
	if p.Err != nil || len(p.Previews) != 1 || p.Previews[0].Error != "apps/big.yaml: 3.1 KiB, over the 2 KiB file limit" {
		t.Fatalf("preview pass = %+v", p)
	}
	if len(f.target.last(t).Ledgers[0].Revisions) != len(good.Ledgers[0].Revisions) {
		t.Error("the refused preview added a revision")
	}

	if out, err := f.user.Git("checkout", "-q", gittest.Branch); err != nil {
		t.Fatal(err, out)
	}
	f.user.CommitAndPush(t, map[string]string{"apps/big.yaml": big}, "a big file on main")
	p = f.loop.Sync(ctx)
	if p.Err == nil || p.Stage != StageInvalid || p.Err.Error() != "apps/big.yaml: 3.1 KiB, over the 2 KiB file limit" {
		t.Fatalf("main pass = %+v", p)
	}
	if st := f.loop.Status(); st.Applied == st.Fetched {
		t.Errorf("the commit over the limits was applied: %+v", st)
	}
}
