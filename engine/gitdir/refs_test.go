package gitdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ebb-dev/ebb/internal/gittest"
)

// newRepo makes a work tree with one commit (unless empty) and returns it
// with the hash of a second commit, on top of HEAD, that no ref names.
func newRepo(t *testing.T, empty bool) (*Repo, plumbing.Hash, plumbing.Hash) {
	t.Helper()
	gittest.GitPath(t)
	dir := t.TempDir()
	gittest.Run(t, dir, "init", "-q", "-b", "main")
	var head plumbing.Hash
	parent := []string{}
	if !empty {
		gittest.WriteFiles(t, dir, map[string]string{"a.txt": "a\n"})
		gittest.Run(t, dir, "add", "-A")
		gittest.Run(t, dir, "commit", "-q", "-m", "first")
		head = plumbing.NewHash(gittest.Run(t, dir, "rev-parse", "HEAD"))
		parent = []string{"-p", head.String()}
	}
	tree := gittest.Run(t, dir, "write-tree")
	next := plumbing.NewHash(gittest.Run(t, dir, append([]string{"commit-tree", tree, "-m", "next"}, parent...)...))
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r, head, next
}

var who = Who{Name: "ebb", Email: "ebb@localhost", When: time.Unix(1.8e9, 0).In(time.FixedZone("", 3600))}

func TestUpdateRef(t *testing.T) {
	tests := []struct {
		name  string
		empty bool
		setup func(t *testing.T, r *Repo)
	}{
		{name: "loose branch"},
		{name: "packed branch", setup: func(t *testing.T, r *Repo) { gittest.Run(t, r.Worktree, "pack-refs", "--all") }},
		{name: "unborn branch", empty: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, head, next := newRepo(t, tt.empty)
			if tt.setup != nil {
				tt.setup(t, r)
			}
			name, got, err := r.Head()
			if err != nil || name != "refs/heads/main" || got != head {
				t.Fatalf("Head() = %s, %s, %v; want refs/heads/main, %s", name, got, err, head)
			}
			if err := r.UpdateRef(name, next, head, who, "wrong old"); !errors.Is(err, ErrRefChanged) {
				t.Errorf("update from a value the branch does not hold: %v, want ErrRefChanged", err)
			}
			if err := r.UpdateRef(name, head, next, who, "commit: next"); err != nil {
				t.Fatal(err)
			}
			if got := gittest.Run(t, r.Worktree, "rev-parse", "main"); got != next.String() {
				t.Errorf("main at %s, want %s", got, next)
			}
			for _, ref := range []string{"main", "HEAD"} {
				log := gittest.Run(t, r.Worktree, "reflog", "show", "--format=%H %gn %gs", ref)
				if first, _, _ := strings.Cut(log, "\n"); first != next.String()+" ebb commit: next" {
					t.Errorf("%s's reflog starts %q", ref, first)
				}
			}
			if out := gittest.Run(t, r.Worktree, "fsck", "--full", "--strict", "--no-dangling"); out != "" {
				t.Errorf("git fsck: %s", out)
			}
			if _, err := os.Stat(filepath.Join(r.CommonDir, lockDir)); err != nil {
				t.Error(err)
			}
			if left, _ := os.ReadDir(filepath.Join(r.CommonDir, lockDir)); len(left) != 0 {
				t.Errorf("markers left: %v", left)
			}
		})
	}
}

// TestUpdateRefKeepsOutOfAGitLock: while git holds the branch's lock
// file, the branch is not moved and the lock is left alone.
func TestUpdateRefKeepsOutOfAGitLock(t *testing.T) {
	r, head, next := newRepo(t, false)
	lock := filepath.Join(r.CommonDir, "refs", "heads", "main.lock")
	if err := os.WriteFile(lock, []byte("git's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.UpdateRef("refs/heads/main", head, next, who, "commit: next"); !errors.Is(err, ErrLocked) {
		t.Fatalf("update under git's lock: %v, want ErrLocked", err)
	}
	if b, err := os.ReadFile(lock); err != nil || string(b) != "git's\n" {
		t.Errorf("git's lock file now %q, %v", b, err)
	}
	if got := gittest.Run(t, r.Worktree, "rev-parse", "main"); got != head.String() {
		t.Errorf("main moved to %s", got)
	}
}

// TestHeadDetached: a detached HEAD is updated itself.
func TestHeadDetached(t *testing.T) {
	r, head, next := newRepo(t, false)
	gittest.Run(t, r.Worktree, "checkout", "-q", "--detach")
	name, got, err := r.Head()
	if err != nil || name != "HEAD" || got != head {
		t.Fatalf("Head() = %s, %s, %v", name, got, err)
	}
	if err := r.UpdateRef(name, head, next, who, "commit: next"); err != nil {
		t.Fatal(err)
	}
	if got := gittest.Run(t, r.Worktree, "rev-parse", "HEAD"); got != next.String() {
		t.Errorf("HEAD at %s", got)
	}
	if got := gittest.Run(t, r.Worktree, "rev-parse", "main"); got != head.String() {
		t.Errorf("main moved to %s", got)
	}
}

// TestOpenLinkedWorktree: in a work tree made by git worktree add, HEAD
// and the index are the work tree's own and the branch the repository's.
func TestOpenLinkedWorktree(t *testing.T) {
	r, head, next := newRepo(t, false)
	linked := filepath.Join(t.TempDir(), "linked")
	gittest.Run(t, r.Worktree, "worktree", "add", "-q", "-b", "side", linked)
	lr, err := Open(linked)
	if err != nil {
		t.Fatal(err)
	}
	if lr.CommonDir != r.CommonDir || lr.GitDir == r.GitDir {
		t.Fatalf("linked work tree: %+v; main: %+v", lr, r)
	}
	name, got, err := lr.Head()
	if err != nil || name != "refs/heads/side" || got != head {
		t.Fatalf("Head() = %s, %s, %v", name, got, err)
	}
	if err := lr.UpdateRef(name, head, next, who, "commit: next"); err != nil {
		t.Fatal(err)
	}
	if got := gittest.Run(t, linked, "rev-parse", "HEAD"); got != next.String() {
		t.Errorf("the linked work tree's HEAD at %s", got)
	}
	if got := gittest.Run(t, r.Worktree, "rev-parse", "side"); got != next.String() {
		t.Errorf("side at %s in the main work tree", got)
	}
}
