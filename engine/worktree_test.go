package engine

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/engine/gitdir"
	"github.com/ebb-dev/ebb/internal/gittest"
	"github.com/ebb-dev/ebb/serving"
)

// stagedWorktree is a work tree with a commit and, staged on top of it,
// an added file, an edited file and a deletion, plus an unstaged edit.
func stagedWorktree(t *testing.T) string {
	t.Helper()
	gittest.GitPath(t)
	dir := t.TempDir()
	gittest.Run(t, dir, "init", "-q", "-b", "main")
	gittest.WriteFiles(t, dir, map[string]string{"edited.txt": "v1\n", "deleted.txt": "bye\n", "service.yaml": "v1\n"})
	gittest.Run(t, dir, "add", "-A")
	gittest.Run(t, dir, "commit", "-q", "-m", "user: first")
	gittest.WriteFiles(t, dir, map[string]string{"edited.txt": "v2, staged\n", "added.txt": "new\n"})
	gittest.Run(t, dir, "add", "edited.txt", "added.txt")
	gittest.Run(t, dir, "rm", "-q", "deleted.txt")
	gittest.WriteFiles(t, dir, map[string]string{"service.yaml": "v2, not staged\n"})
	return dir
}

// staging is what the user has staged outside the ledger, as git shows it.
func staging(t *testing.T, dir string) string {
	t.Helper()
	return gittest.Run(t, dir, "ls-files", "--stage", "--", ".", ":!.ebb") + "\n" +
		gittest.Run(t, dir, "diff", "--cached", "--", ".", ":!.ebb")
}

// ebbOnTop checks that the branch is the user's commits with ebb's
// ledger commits on top, each changing only .ebb/, and git fsck is clean.
func ebbOnTop(t *testing.T, dir string, userCommits int) {
	t.Helper()
	log := strings.Split(gittest.Run(t, dir, "log", "--format=%an %p", "main"), "\n")
	for i, l := range log {
		who, parents, _ := strings.Cut(l, " ")
		if strings.Contains(parents, " ") {
			t.Errorf("a merge in the history: %s", l)
		}
		if user := i >= len(log)-userCommits; (who == "ebb") == user {
			t.Errorf("commit %d of %d by %s", i, len(log), who)
		}
	}
	for _, c := range strings.Split(gittest.Run(t, dir, "rev-list", "--author=ebb", "main"), "\n") {
		if c == "" {
			continue
		}
		for _, p := range strings.Split(gittest.Run(t, dir, "diff-tree", "--root", "--no-commit-id", "--name-only", "-r", c), "\n") {
			if !strings.HasPrefix(p, ".ebb/") {
				t.Errorf("ebb's commit %s changes %s", c, p)
			}
		}
	}
	if out := gittest.Run(t, dir, "fsck", "--full", "--strict", "--no-dangling"); out != "" {
		t.Errorf("git fsck: %s", out)
	}
}

// TestWorktreeWriterLeavesTheStagingAlone: ledger commits and deletions
// leave the user's staged changes as they were, byte for byte, put
// nothing of them in ebb's commits, and leave the ledger clean in git
// status.
func TestWorktreeWriterLeavesTheStagingAlone(t *testing.T) {
	dir := stagedWorktree(t)
	before := staging(t, dir)
	w := WorktreeWriter{Dir: dir}
	ctx := context.Background()
	steps := []struct{ changed, deleted []*serving.Ledger }{
		{changed: []*serving.Ledger{testLedger("hello", 1), testLedger("bye", 1)}},
		{changed: []*serving.Ledger{testLedger("hello", 2)}},
		{deleted: []*serving.Ledger{testLedger("bye", 1)}},
	}
	for i, s := range steps {
		if err := w.WriteLedgers(ctx, s.changed, s.deleted, "ebb: step"); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := staging(t, dir); got != before {
			t.Fatalf("step %d: the user's staging (-before +after):\n%s", i, cmp.Diff(before, got))
		}
		// Before git status, which would refresh the index's stat data.
		if got := gittest.Run(t, dir, "diff-files", "--name-only", "--", ".ebb"); got != "" {
			t.Errorf("step %d: the index's ledger entries lack stat data: %q", i, got)
		}
		if st := gittest.Run(t, dir, "status", "--porcelain", "--", ".ebb"); st != "" {
			t.Errorf("step %d: git status of the ledger: %q", i, st)
		}
	}
	if got := gittest.Run(t, dir, "ls-tree", "-r", "--name-only", "main"); got != ".ebb/default/hello.yaml\ndeleted.txt\nedited.txt\nservice.yaml" {
		t.Errorf("main holds:\n%s", got)
	}
	if got := gittest.Run(t, dir, "show", "main:edited.txt"); got != "v1" {
		t.Errorf("the staged edit went into a ledger commit: %q", got)
	}
	if got := gittest.Run(t, dir, "reflog", "-1", "--format=%gs", "main"); got != "commit: ebb: step" {
		t.Errorf("reflog: %q", got)
	}
	ebbOnTop(t, dir, 1)
}

// TestWorktreeWriterOnAnUnbornBranch: the first commit of a repository
// can be ebb's.
func TestWorktreeWriterOnAnUnbornBranch(t *testing.T) {
	gittest.GitPath(t)
	dir := t.TempDir()
	gittest.Run(t, dir, "init", "-q", "-b", "main")
	gittest.WriteFiles(t, dir, map[string]string{"service.yaml": "draft\n"})
	gittest.Run(t, dir, "add", "service.yaml")
	before := gittest.Run(t, dir, "ls-files", "--stage", "--", ".", ":!.ebb")
	if err := (WorktreeWriter{Dir: dir}).WriteLedgers(context.Background(), []*serving.Ledger{testLedger("hello", 1)}, nil, "ebb: first"); err != nil {
		t.Fatal(err)
	}
	if got := gittest.Run(t, dir, "ls-tree", "-r", "--name-only", "main"); got != ".ebb/default/hello.yaml" {
		t.Errorf("the first commit holds %q", got)
	}
	if got := gittest.Run(t, dir, "ls-files", "--stage", "--", ".", ":!.ebb"); got != before {
		t.Errorf("the index outside the ledger is now %q, was %q", got, before)
	}
	if got := gittest.Run(t, dir, "diff", "--cached", "--name-status"); got != "A\tservice.yaml" {
		t.Errorf("staged: %q, want service.yaml still added", got)
	}
	if got := gittest.Run(t, dir, "reflog", "-1", "--format=%gs", "main"); got != "commit (initial): ebb: first" {
		t.Errorf("reflog: %q", got)
	}
	ebbOnTop(t, dir, 0)
}

// TestWorktreeWriterAndGitLocks: while git holds the branch's lock, the
// commit waits a little and then fails, leaving git's lock alone; the
// ledger it wrote is committed by the next commit. While git holds
// index.lock, the commit is made and the index left for later.
func TestWorktreeWriterAndGitLocks(t *testing.T) {
	dir := stagedWorktree(t)
	var logs bytes.Buffer
	w := WorktreeWriter{Dir: dir, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	ctx := context.Background()
	head := gittest.Run(t, dir, "rev-parse", "main")

	refLock := filepath.Join(dir, ".git", "refs", "heads", "main.lock")
	gittest.WriteFiles(t, dir, map[string]string{".git/refs/heads/main.lock": "git's\n"})
	err := w.WriteLedgers(ctx, []*serving.Ledger{testLedger("hello", 1)}, nil, "ebb: hello")
	if !errors.Is(err, gitdir.ErrLocked) {
		t.Fatalf("commit under git's branch lock: %v, want ErrLocked", err)
	}
	if b, _ := os.ReadFile(refLock); string(b) != "git's\n" || gittest.Run(t, dir, "rev-parse", "main") != head {
		t.Fatalf("git's lock %q, main %s", b, gittest.Run(t, dir, "rev-parse", "main"))
	}
	os.Remove(refLock)

	indexLock := filepath.Join(dir, ".git", "index.lock")
	gittest.WriteFiles(t, dir, map[string]string{".git/index.lock": "git's"})
	index, _ := os.ReadFile(filepath.Join(dir, ".git", "index"))
	// Nothing new to write: the ledger left uncommitted goes in.
	if err := w.WriteLedgers(ctx, nil, nil, "ebb: again"); err != nil {
		t.Fatal(err)
	}
	if got := gittest.Run(t, dir, "ls-tree", "--name-only", "-r", "main", ".ebb"); got != ".ebb/default/hello.yaml" {
		t.Errorf("main's ledger: %q", got)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, ".git", "index")); !bytes.Equal(now, index) {
		t.Error("the index was written while git held index.lock")
	}
	if b, _ := os.ReadFile(indexLock); string(b) != "git's" {
		t.Errorf("git's index.lock is now %q", b)
	}
	if !strings.Contains(logs.String(), "the index is held by another git command") {
		t.Errorf("no debug line about the index:\n%s", logs.String())
	}
	os.Remove(indexLock)
	if err := w.Recover(); err != nil {
		t.Fatal(err)
	}
	if st := gittest.Run(t, dir, "status", "--porcelain", "--", ".ebb"); st != "" {
		t.Errorf("git status of the ledger after recovery: %q", st)
	}
	ebbOnTop(t, dir, 1)
}

// TestWorktreeWriterRecover: after a kill, Recover commits ledger files
// that were written but not committed, removes half-written ones, and
// leaves invalid ledger files uncommitted.
func TestWorktreeWriterRecover(t *testing.T) {
	dir := stagedWorktree(t)
	before := staging(t, dir)
	if _, err := (DirWriter{Dir: dir}).Store([]*serving.Ledger{validLedger(t)}, nil); err != nil {
		t.Fatal(err)
	}
	half := filepath.Join(dir, ".ebb", "default", ledgerTempPrefix+"123")
	gittest.WriteFiles(t, dir, map[string]string{".ebb/default/" + ledgerTempPrefix + "123": "apiVersion: ebb"})
	var logs bytes.Buffer
	w := WorktreeWriter{Dir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil)), When: time.Unix(2e9, 0)}
	if err := w.Recover(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(half); !os.IsNotExist(err) {
		t.Errorf("the half-written ledger file is still there: %v", err)
	}
	if got := gittest.Run(t, dir, "log", "-1", "--format=%an: %s", "main"); got != "ebb: ebb: ledger written before ebb stopped" {
		t.Errorf("last commit %q", got)
	}
	for _, want := range []string{"removed the half-written ledger file", "committed the ledger files written before ebb stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no log line %q:\n%s", want, logs.String())
		}
	}
	if got := staging(t, dir); got != before {
		t.Errorf("the user's staging (-before +after):\n%s", cmp.Diff(before, got))
	}
	ebbOnTop(t, dir, 1)

	// An invalid ledger file is not committed.
	head := gittest.Run(t, dir, "rev-parse", "main")
	gittest.WriteFiles(t, dir, map[string]string{".ebb/default/hello.yaml": "apiVersion: ebb.dev/v1alpha1\nkind: Ledger\n"})
	if err := w.Recover(); err != nil {
		t.Fatal(err)
	}
	if now := gittest.Run(t, dir, "rev-parse", "main"); now != head {
		t.Error("an invalid ledger file was committed")
	}
	if !strings.Contains(logs.String(), "ledger files are not valid") {
		t.Errorf("no warning about the invalid ledger:\n%s", logs.String())
	}
}

// validLedger is a ledger as planning makes it.
func validLedger(t *testing.T) *serving.Ledger {
	t.Helper()
	tree, err := serving.Load(os.DirFS(filepath.Join("..", "examples", "hello")))
	if err != nil {
		t.Fatal(err)
	}
	return tree.Ledgers[0]
}
