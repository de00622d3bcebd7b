package gitdir

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/internal/gittest"
)

// stagedRepo is a work tree whose index holds every kind of entry a user
// leaves: a staged edit, a staged new file, a staged deletion, an
// intent-to-add file, an assume-unchanged and a skip-worktree file, and
// the cache tree git keeps after a commit.
func stagedRepo(t *testing.T) *Repo {
	t.Helper()
	r, _, _ := newRepo(t, false)
	dir := r.Worktree
	// notes/x.md: 62 bytes of entry and a 10-byte name end on a multiple
	// of 8, and still take 8 bytes of padding.
	gittest.WriteFiles(t, dir, map[string]string{"b.txt": "b\n", "d/c.txt": "c\n", "s.txt": "s\n", "notes/x.md": "x\n"})
	gittest.Run(t, dir, "add", "-A")
	gittest.Run(t, dir, "commit", "-q", "-m", "second")
	gittest.WriteFiles(t, dir, map[string]string{"a.txt": "a, staged\n", "new.txt": "new\n", "itn.txt": "later\n"})
	gittest.Run(t, dir, "add", "a.txt", "new.txt")
	gittest.Run(t, dir, "rm", "-q", "b.txt")
	gittest.Run(t, dir, "add", "-N", "itn.txt")
	gittest.Run(t, dir, "update-index", "--assume-unchanged", "d/c.txt")
	gittest.Run(t, dir, "update-index", "--skip-worktree", "s.txt")
	return r
}

// userView is what git shows of the index: every entry with its stat
// data and flags, the tags of ls-files -v, the staged diff, the status.
func userView(t *testing.T, r *Repo) []string {
	t.Helper()
	var out []string
	for _, args := range [][]string{
		{"ls-files", "--stage", "--debug"}, {"ls-files", "-v"}, {"diff", "--cached"}, {"status", "--porcelain"},
	} {
		out = append(out, gittest.Run(t, r.Worktree, args...))
	}
	return out
}

func rawEntries(t *testing.T, r *Repo) []string {
	t.Helper()
	idx, err := r.ReadIndex()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range idx.Entries {
		out = append(out, e.Name+" "+hex.EncodeToString(e.fixed))
	}
	return out
}

// TestUpdateIndexKeepsTheUsersEntries: an index rewritten by ebb holds the
// user's entries byte for byte, in every index version git writes.
func TestUpdateIndexKeepsTheUsersEntries(t *testing.T) {
	for _, version := range []string{"", "4"} {
		t.Run("version "+version, func(t *testing.T) {
			r := stagedRepo(t)
			if version != "" {
				gittest.Run(t, r.Worktree, "update-index", "--index-version", version)
			}
			view, raw := userView(t, r), rawEntries(t, r)
			if err := r.UpdateIndex(func(*Index) (bool, error) { return true, nil }); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(view, userView(t, r)); d != "" {
				t.Errorf("git's view of the index (-before +after):\n%s", d)
			}
			if d := cmp.Diff(raw, rawEntries(t, r)); d != "" {
				t.Errorf("entries (-before +after):\n%s", d)
			}
			if out := gittest.Run(t, r.Worktree, "fsck", "--full", "--strict", "--no-dangling"); out != "" {
				t.Errorf("git fsck: %s", out)
			}
		})
	}
}

// TestUpdateIndexAddsAnEntryGitSeesClean: an entry made with the file's
// stat data is one git does not even need to read again.
func TestUpdateIndexAddsAnEntryGitSeesClean(t *testing.T) {
	r := stagedRepo(t)
	before := gittest.Run(t, r.Worktree, "diff", "--cached", "--", ".", ":!.ebb")
	p := filepath.Join(r.Worktree, ".ebb", "default", "hello.yaml")
	gittest.WriteFiles(t, r.Worktree, map[string]string{".ebb/default/hello.yaml": "ledger\n"})
	h := plumbing.NewHash(gittest.Run(t, r.Worktree, "hash-object", "-w", p))
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	err = r.UpdateIndex(func(idx *Index) (bool, error) {
		idx.Entries = append(idx.Entries, NewEntry(".ebb/default/hello.yaml", 0o100644, h, fi))
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := gittest.Run(t, r.Worktree, "diff-files", "--name-only", "--", ".ebb"); got != "" {
		t.Errorf("git diff-files (without refreshing) lists %q", got)
	}
	if got := gittest.Run(t, r.Worktree, "diff", "--cached", "--name-status", "--", ".ebb"); got != "A\t.ebb/default/hello.yaml" {
		t.Errorf("staged ledger: %q", got)
	}
	if after := gittest.Run(t, r.Worktree, "diff", "--cached", "--", ".", ":!.ebb"); after != before {
		t.Errorf("the user's staged changes moved:\n%s\nwant\n%s", after, before)
	}
}

// TestUpdateIndexKeepsOutOfAGitLock: while git holds index.lock the index
// is not written and the lock is left alone.
func TestUpdateIndexKeepsOutOfAGitLock(t *testing.T) {
	r := stagedRepo(t)
	raw := rawEntries(t, r)
	lock := r.IndexPath() + ".lock"
	if err := os.WriteFile(lock, []byte("git's"), 0o644); err != nil {
		t.Fatal(err)
	}
	called := false
	err := r.UpdateIndex(func(idx *Index) (bool, error) { called = true; idx.Entries = nil; return true, nil })
	if !errors.Is(err, ErrLocked) || called {
		t.Fatalf("update under git's lock: %v (update called: %v), want ErrLocked", err, called)
	}
	if b, _ := os.ReadFile(lock); string(b) != "git's" {
		t.Errorf("git's lock now %q", b)
	}
	if d := cmp.Diff(raw, rawEntries(t, r)); d != "" {
		t.Errorf("entries (-before +after):\n%s", d)
	}
}

// TestReadIndexRefuses: a cut-short index and a split index are refused,
// never rewritten.
func TestReadIndexRefuses(t *testing.T) {
	r := stagedRepo(t)
	b, err := os.ReadFile(r.IndexPath())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeIndex(b[:len(b)/2]); err == nil {
		t.Error("a cut-short index was read")
	}
	gittest.Run(t, r.Worktree, "update-index", "--split-index")
	if _, err := r.ReadIndex(); !errors.Is(err, ErrUnsupportedIndex) {
		t.Errorf("a split index: %v, want ErrUnsupportedIndex", err)
	}
}

func TestVarint(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 255, 16383, 16384, 1 << 40} {
		b := appendVarint(nil, v)
		got, k := readVarint(b)
		if got != v || k != len(b) {
			t.Errorf("varint %d: encoded %x, read back %d (%d bytes)", v, b, got, k)
		}
	}
}
