package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ebb-dev/ebb/serving"
)

func testLedger(svc string, gen int64) *serving.Ledger {
	return &serving.Ledger{APIVersion: serving.LedgerAPIVersion, Kind: serving.LedgerKind,
		Namespace: "default", Service: svc, Generation: gen, Latest: serving.RevisionName(svc, gen)}
}

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func headFiles(t *testing.T, repo *gogit.Repository) map[string]string {
	t.Helper()
	ref, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(ref.Hash())
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	iter, _ := c.Files()
	iter.ForEach(func(f *object.File) error {
		s, _ := f.Contents()
		files[f.Name] = s
		return nil
	})
	return files
}

func TestWorktreeWriterCommitsOnlyTheLedger(t *testing.T) {
	dir := t.TempDir()
	repo, err := gogit.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	sig := &object.Signature{Name: "user", Email: "user@example.com", When: time.Unix(1e9, 0)}
	write(t, dir, "service.yaml", "v1\n")
	wt.Add("service.yaml")
	if _, err := wt.Commit("user: first", &gogit.CommitOptions{Author: sig}); err != nil {
		t.Fatal(err)
	}
	// The user has staged one edit and left another unstaged.
	write(t, dir, "service.yaml", "v2 staged\n")
	wt.Add("service.yaml")
	write(t, dir, "other.yaml", "untracked\n")

	w := WorktreeWriter{Dir: dir, When: time.Unix(2e9, 0)}
	if !IsWorktreeRoot(dir) || IsWorktreeRoot(filepath.Join(dir, ".ebb")) {
		t.Fatal("IsWorktreeRoot")
	}
	if err := w.WriteLedgers(context.Background(), []*serving.Ledger{testLedger("hello", 1), testLedger("bye", 1)}, nil, "ebb: two ledgers"); err != nil {
		t.Fatal(err)
	}
	files := headFiles(t, repo)
	if files["service.yaml"] != "v1\n" {
		t.Errorf("the user's staged edit went into the ledger commit: %q", files["service.yaml"])
	}
	if _, ok := files[".ebb/default/hello.yaml"]; !ok {
		t.Errorf("ledger not committed: %v", files)
	}
	if _, ok := files["other.yaml"]; ok {
		t.Error("an untracked file was committed")
	}
	st, err := wt.Status()
	if err != nil {
		t.Fatal(err)
	}
	if s := st.File("service.yaml"); s.Staging != gogit.Modified {
		t.Errorf("service.yaml staging %q, want the user's edit still staged", s.Staging)
	}
	// Status lists only paths that differ; a clean ledger is absent.
	if s, ok := st[".ebb/default/hello.yaml"]; ok {
		t.Errorf("ledger file status %+v, want clean", s)
	}
	ref, _ := repo.Head()
	c, _ := repo.CommitObject(ref.Hash())
	if c.Message != "ebb: two ledgers\n" || c.Author.Name != "ebb" || !c.Author.When.Equal(time.Unix(2e9, 0)) {
		t.Errorf("commit %q by %s at %v", c.Message, c.Author.Name, c.Author.When)
	}

	// Writing the same ledger again makes no commit; deleting one does.
	if err := w.WriteLedgers(context.Background(), []*serving.Ledger{testLedger("hello", 1)}, nil, "ebb: again"); err != nil {
		t.Fatal(err)
	}
	if ref2, _ := repo.Head(); ref2.Hash() != ref.Hash() {
		t.Error("an unchanged ledger made a commit")
	}
	if err := w.WriteLedgers(context.Background(), nil, []*serving.Ledger{testLedger("bye", 1)}, "ebb: bye"); err != nil {
		t.Fatal(err)
	}
	files = headFiles(t, repo)
	if _, ok := files[".ebb/default/bye.yaml"]; ok {
		t.Error("deleted ledger still in HEAD")
	}
	if _, ok := files[".ebb/default/hello.yaml"]; !ok {
		t.Error("the other ledger went missing")
	}
}

func TestWorktreeWriterOnAnEmptyRepository(t *testing.T) {
	dir := t.TempDir()
	repo, err := gogit.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "service.yaml", "draft\n")
	if err := (WorktreeWriter{Dir: dir}).WriteLedgers(context.Background(), []*serving.Ledger{testLedger("hello", 1)}, nil, "ebb: first"); err != nil {
		t.Fatal(err)
	}
	files := headFiles(t, repo)
	if len(files) != 1 {
		t.Errorf("first commit holds %v, want only the ledger", files)
	}
}

func TestDirWriter(t *testing.T) {
	dir := t.TempDir()
	w := DirWriter{Dir: dir}
	paths, err := w.Store([]*serving.Ledger{testLedger("hello", 1)}, nil)
	if err != nil || len(paths) != 1 {
		t.Fatalf("write: %v, %v", paths, err)
	}
	if paths, _ := w.Store([]*serving.Ledger{testLedger("hello", 1)}, nil); len(paths) != 0 {
		t.Errorf("rewrote an unchanged ledger: %v", paths)
	}
	if paths, _ := w.Store(nil, []*serving.Ledger{testLedger("hello", 1)}); len(paths) != 1 {
		t.Errorf("delete: %v", paths)
	}
	if _, err := os.Stat(filepath.Join(dir, ".ebb/default/hello.yaml")); !os.IsNotExist(err) {
		t.Errorf("ledger file still there: %v", err)
	}
}
