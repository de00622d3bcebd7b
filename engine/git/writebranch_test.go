package git

import (
	"context"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/internal/gittest"
)

func TestWriteBranch(t *testing.T) {
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"apps/a.yaml": "a\n", ".ebb/stale.yaml": "from main\n"})
	bare := filepath.Join(root, "repo.git")
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{})
	s := newWriteSource(t, srv.RepoURL("repo.git"), Config{WriteBranch: "ebb-ledger"})
	ctx := context.Background()

	// No write branch yet: the ledger is main's.
	base, _ := mustFetch(t, s)
	if diff := cmp.Diff(map[string]string{"apps/a.yaml": "a\n", ".ebb/stale.yaml": "from main\n"}, readAll(t, base.Files)); diff != "" {
		t.Errorf("files before the write branch exists (-want +got):\n%s", diff)
	}
	mainHead := base.Hash
	c, written, err := s.WriteBack(ctx, base, map[string][]byte{".ebb/a.yaml": []byte("rev 1\n"), ".ebb/stale.yaml": nil}, "ebb: a rev 1", noReplan)
	if err != nil || !written {
		t.Fatalf("first WriteBack = %v, %v", written, err)
	}
	if c.Hash != mainHead {
		t.Errorf("Commit.Hash = %s, want the followed commit %s", c.Hash, mainHead)
	}
	if got := gittest.Run(t, bare, "rev-parse", "main"); got != mainHead {
		t.Errorf("main moved to %s", got)
	}
	if got := gittest.Run(t, bare, "log", "--format=%s", "ebb-ledger"); got != "ebb: a rev 1\ninitial" {
		t.Errorf("write branch history:\n%s", got)
	}
	want := map[string]string{"apps/a.yaml": "a\n", ".ebb/a.yaml": "rev 1\n"}
	if diff := cmp.Diff(want, readAll(t, c.Files)); diff != "" {
		t.Errorf("files after write-back (-want +got):\n%s", diff)
	}
	if _, changed := mustFetch(t, s); changed {
		t.Error("Fetch after write-back reported a change")
	}

	// The user moves main: the Commit is main's, with the write branch's ledger.
	user := gittest.Clone(t, srv.RepoURL("repo.git"), "Other User")
	userHead := user.CommitAndPush(t, map[string]string{"apps/b.yaml": "b\n"}, "user: b")
	c2, changed := mustFetch(t, s)
	if !changed || c2.Hash != userHead {
		t.Fatalf("Fetch = %s, %v; want %s", c2.Hash, changed, userHead)
	}
	want = map[string]string{"apps/a.yaml": "a\n", "apps/b.yaml": "b\n", ".ebb/a.yaml": "rev 1\n"}
	if diff := cmp.Diff(want, readAll(t, c2.Files)); diff != "" {
		t.Errorf("files after a user commit (-want +got):\n%s", diff)
	}

	// Someone else (another replica) moves the write branch: replan on it.
	other := gittest.Clone(t, srv.RepoURL("repo.git"), "Replica")
	if _, err := other.Git("checkout", "-q", "ebb-ledger"); err != nil {
		t.Fatal(err)
	}
	gittest.WriteFiles(t, other.Dir, map[string]string{".ebb/c.yaml": "c\n"})
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", "ebb: c"}, {"push", "-q", "origin", "ebb-ledger"}} {
		if _, err := other.Git(args...); err != nil {
			t.Fatal(err)
		}
	}
	var replans int
	replan := func(_ context.Context, head Commit) (map[string][]byte, string, error) {
		replans++
		if _, err := head.Files.Open(".ebb/c.yaml"); err != nil {
			t.Errorf("replan head lacks the other ledger commit: %v", err)
		}
		return map[string][]byte{".ebb/b.yaml": []byte("rev 1\n")}, "ebb: b rev 1", nil
	}
	c3, written, err := s.WriteBack(ctx, c2, map[string][]byte{".ebb/b.yaml": []byte("rev 1\n")}, "ebb: b rev 1", replan)
	if err != nil || !written || replans != 1 {
		t.Fatalf("WriteBack = %v, %v after %d replans", written, err, replans)
	}
	if got := gittest.Run(t, bare, "log", "--format=%s", "ebb-ledger"); got != "ebb: b rev 1\nebb: c\nebb: a rev 1\ninitial" {
		t.Errorf("write branch history:\n%s", got)
	}
	want = map[string]string{"apps/a.yaml": "a\n", "apps/b.yaml": "b\n", ".ebb/a.yaml": "rev 1\n", ".ebb/b.yaml": "rev 1\n", ".ebb/c.yaml": "c\n"}
	if diff := cmp.Diff(want, readAll(t, c3.Files)); diff != "" {
		t.Errorf("files after the second write-back (-want +got):\n%s", diff)
	}
	if err := fstest.TestFS(c3.Files, ".ebb/c.yaml", "apps/b.yaml"); err != nil {
		t.Errorf("overlaid Commit.Files is not a well-behaved fs.FS: %v", err)
	}
	if got := gittest.Run(t, bare, "log", "--format=%s", "main"); got != "user: b\ninitial" {
		t.Errorf("main history:\n%s", got)
	}
}

func TestWriteBackNeedsBranch(t *testing.T) {
	root := t.TempDir()
	head := gittest.NewBare(t, root, "repo.git", map[string]string{"a": "a"})
	s, err := New(Config{URL: filepath.Join(root, "repo.git"), Ref: Ref{Commit: head}})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := mustFetch(t, s)
	if _, _, err := s.WriteBack(context.Background(), base, map[string][]byte{".ebb/x": []byte("x")}, "x", noReplan); err == nil {
		t.Error("write-back to a pinned commit without a write branch succeeded")
	}
}
