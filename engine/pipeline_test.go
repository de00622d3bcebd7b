package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/internal/gittest"
	"github.com/ebb-dev/ebb/serving"
)

const otherService = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: other
  namespace: team
spec:
  template:
    spec:
      containers:
        - image: example.com/other:v1
`

const teamNamespace = `apiVersion: v1
kind: Namespace
metadata:
  name: team
`

// TestPipelineDirAndGitRenderAlike: the same files, passed as a directory
// (ebb up DIR) and followed as commits of a Git remote (ebb up URL, the
// controller), plan the same ledgers and render the same objects at every
// step, each relative to what it applied before.
func TestPipelineDirAndGitRenderAlike(t *testing.T) {
	steps := []struct {
		name  string
		files map[string]string
	}{
		{"first", map[string]string{"service.yaml": helloService("World", ""), "other.yaml": otherService, "team.yaml": teamNamespace}},
		{"a canary of hello", map[string]string{"service.yaml": helloService("Ebb", canary10)}},
		{"nothing new", map[string]string{"README.md": "docs\n"}},
	}
	ctx := context.Background()
	f := newLoopFixture(t, false)
	pushed := f.user.CommitAndPush(t, steps[0].files, steps[0].name)
	dir := t.TempDir()
	dirTarget := &recorder{}
	pipe := &Pipeline{Writer: DirWriter{Dir: dir}, Target: dirTarget}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for i, step := range steps {
		if i > 0 {
			f.pull(t)
			pushed = f.user.CommitAndPush(t, step.files, step.name)
		}
		gittest.WriteFiles(t, dir, step.files)
		now = now.Add(time.Minute)
		p := f.loop.SyncAt(ctx, now)
		if p.Err != nil {
			t.Fatalf("%s: Git pass: %v", step.name, p.Err)
		}
		git := f.target.last(t)
		// The directory is planned at the stamp the Git pass planned the
		// pushed commit at: its hash and time.
		at := serving.Stamp{Commit: pushed}
		when, err := time.Parse(time.RFC3339, gittest.Run(t, f.bare, "show", "-s", "--format=%cI", pushed))
		if err != nil {
			t.Fatal(err)
		}
		at.Time.Time = when.UTC()
		res, err := pipe.Pass(ctx, os.DirFS(dir), at, now)
		if err != nil {
			t.Fatalf("%s: directory pass: %v", step.name, err)
		}
		d := res.Desired
		if d != dirTarget.last(t) {
			t.Fatalf("%s: the directory pass applied another state than it returned", step.name)
		}
		if diff := cmp.Diff(ledgerBytes(t, git.Ledgers), ledgerBytes(t, d.Ledgers)); diff != "" {
			t.Errorf("%s: ledgers, Git (-) and directory (+):\n%s", step.name, diff)
		}
		if i == 0 {
			// The first state of each is rendered whole.
			if diff := cmp.Diff(objectMaps(git.Objects), objectMaps(d.Objects)); diff != "" || len(d.Same) != 0 {
				t.Errorf("%s: objects rendered, Git (-) and directory (+), %d named the same:\n%s", step.name, len(d.Same), diff)
			}
		}
		gitAll, dirAll := mustAll(t, git), mustAll(t, d)
		if len(gitAll) == 0 || len(dirAll) != len(d.Objects)+len(d.Same) {
			t.Errorf("%s: %d objects in all, %d rendered and %d named the same", step.name, len(dirAll), len(d.Objects), len(d.Same))
		}
		if diff := cmp.Diff(objectMaps(gitAll), objectMaps(dirAll)); diff != "" {
			t.Errorf("%s: all objects, Git (-) and directory (+):\n%s", step.name, diff)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, serving.LedgerPath("default", "hello"))); err != nil || len(b) == 0 {
		t.Errorf("the directory's ledger of hello: %v", err)
	}
}

// mustAll is d.All, or the test's end.
func mustAll(t *testing.T, d *Desired) []*unstructured.Unstructured {
	t.Helper()
	objs, err := d.All()
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func objectMaps(objs []*unstructured.Unstructured) []map[string]any {
	out := make([]map[string]any, len(objs))
	for i, o := range objs {
		out[i] = o.Object
	}
	return out
}

func ledgerBytes(t *testing.T, ledgers []*serving.Ledger) []string {
	t.Helper()
	var out []string
	for _, l := range ledgers {
		b, err := serving.MarshalLedger(l)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// TestPipelineDirPassRendersOnce: a directory pass writes the ledger it
// planned; the next pass over the same files reads that ledger back equal
// to the one planned (its times in UTC, whatever the local zone), so it
// renders nothing again.
func TestPipelineDirPassRendersOnce(t *testing.T) {
	local := time.Local
	time.Local = time.FixedZone("UTC+9", 9*60*60)
	t.Cleanup(func() { time.Local = local })
	dir := t.TempDir()
	gittest.WriteFiles(t, dir, map[string]string{"service.yaml": helloService("World", "")})
	target := &recorder{}
	pipe := &Pipeline{Writer: DirWriter{Dir: dir}, Target: target}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	at := serving.Stamp{Commit: "c1", Time: metav1.NewTime(now)}
	for pass := 1; pass <= 2; pass++ {
		res, err := pipe.Pass(context.Background(), os.DirFS(dir), at, now)
		if err != nil {
			t.Fatalf("pass %d: %v", pass, err)
		}
		d := res.Desired
		switch {
		case pass == 1 && (len(d.Objects) == 0 || res.Message == ""):
			t.Fatalf("pass 1: %d objects rendered, message %q; want a render and a ledger written", len(d.Objects), res.Message)
		case pass == 2 && (len(d.Objects) != 0 || len(d.Same) == 0 || res.Message != ""):
			for _, u := range d.Objects {
				t.Logf("rendered again: %s %s", u.GetKind(), u.GetName())
			}
			t.Errorf("pass 2: %d objects rendered again, %d named the same, message %q; want none, all, none", len(d.Objects), len(d.Same), res.Message)
		}
	}
}
