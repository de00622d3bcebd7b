package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ebb-dev/ebb/serving"
)

// DirWriter stores ledgers as files in a directory, each written through a
// temporary file and a rename so that a reader never sees half a file.
type DirWriter struct {
	Dir string
}

var _ LedgerWriter = DirWriter{}

// WriteLedgers writes the changed ledgers whose bytes differ from the
// files and removes the deleted ones.
func (w DirWriter) WriteLedgers(_ context.Context, changed, deleted []*serving.Ledger, _ string) error {
	_, err := w.Store(changed, deleted)
	return err
}

// Store writes the changed ledgers whose bytes differ from the files,
// removes the deleted ones, and returns the repository-relative paths it
// changed.
func (w DirWriter) Store(changed, deleted []*serving.Ledger) ([]string, error) {
	var paths []string
	for _, l := range changed {
		rel := serving.LedgerPath(l.Namespace, l.Service)
		b, err := serving.MarshalLedger(l)
		if err != nil {
			return paths, err
		}
		ok, err := writeFileAtomic(filepath.Join(w.Dir, filepath.FromSlash(rel)), b)
		if err != nil {
			return paths, fmt.Errorf("ledger %s/%s: %w", l.Namespace, l.Service, err)
		}
		if ok {
			paths = append(paths, rel)
		}
	}
	for _, l := range deleted {
		rel := serving.LedgerPath(l.Namespace, l.Service)
		err := os.Remove(filepath.Join(w.Dir, filepath.FromSlash(rel)))
		switch {
		case err == nil:
			paths = append(paths, rel)
		case !errors.Is(err, os.ErrNotExist):
			return paths, fmt.Errorf("ledger %s/%s: %w", l.Namespace, l.Service, err)
		}
	}
	return paths, nil
}

// writeFileAtomic writes b to name unless name already holds b, and says
// whether it wrote.
func writeFileAtomic(name string, b []byte) (bool, error) {
	if old, err := os.ReadFile(name); err == nil && bytes.Equal(old, b) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".ledger-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	return true, os.Rename(tmp.Name(), name)
}

// WorktreeWriter stores ledgers in a Git work tree whose root is Dir and
// commits them. Only the ledger files go into the commit: whatever the
// user has staged stays staged, and nothing else of the work tree changes.
type WorktreeWriter struct {
	Dir    string
	Author Signature
	// Now stamps the commit; nil means time.Now.
	Now func() time.Time
}

// Signature names the author of ledger commits.
type Signature struct{ Name, Email string }

// DefaultAuthor signs ledger commits made on this machine.
var DefaultAuthor = Signature{Name: "ebb", Email: "ebb@localhost"}

var _ LedgerWriter = WorktreeWriter{}

// IsWorktreeRoot reports whether dir is the root of a Git work tree.
func IsWorktreeRoot(dir string) bool {
	_, err := gogit.PlainOpen(dir)
	return err == nil
}

// WorktreeHead returns the HEAD commit of the Git work tree rooted at
// dir, and whether files other than the ledger differ from it (edited,
// staged or untracked). ok is false when dir is not such a work tree or
// has no commit yet.
func WorktreeHead(dir string) (hash string, dirty, ok bool) {
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		return "", false, false
	}
	head, err := repo.Head()
	if err != nil {
		return "", false, false
	}
	wt, err := repo.Worktree()
	if err != nil {
		return head.Hash().String(), true, true
	}
	st, err := wt.Status()
	if err != nil {
		return head.Hash().String(), true, true
	}
	for path, fs := range st {
		if !strings.HasPrefix(path, serving.LedgerDir+"/") && (fs.Staging != gogit.Unmodified || fs.Worktree != gogit.Unmodified) {
			return head.Hash().String(), true, true
		}
	}
	return head.Hash().String(), false, true
}

// WriteLedgers writes the ledger files and commits them with message.
func (w WorktreeWriter) WriteLedgers(_ context.Context, changed, deleted []*serving.Ledger, message string) error {
	repo, err := gogit.PlainOpen(w.Dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", w.Dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	if _, err := (DirWriter{Dir: w.Dir}).Store(changed, deleted); err != nil {
		return err
	}
	// Commit from an index that holds HEAD plus the ledger directory, then
	// give the user back their own index with the new ledger entries.
	userIndex, err := repo.Storer.Index()
	if err != nil {
		return err
	}
	saved := *userIndex
	saved.Entries = slices.Clone(userIndex.Entries)
	if _, err := repo.Head(); err == nil {
		if err := wt.Reset(&gogit.ResetOptions{Mode: gogit.MixedReset}); err != nil {
			return fmt.Errorf("reset index: %w", err)
		}
	} else if err := repo.Storer.SetIndex(&index.Index{Version: 2}); err != nil {
		return err
	}
	restore := func() error {
		idx, err := repo.Storer.Index()
		if err != nil {
			return err
		}
		final := saved
		final.Entries = slices.DeleteFunc(slices.Clone(saved.Entries), isLedgerEntry)
		for _, e := range idx.Entries {
			if isLedgerEntry(e) {
				final.Entries = append(final.Entries, e)
			}
		}
		slices.SortFunc(final.Entries, func(a, b *index.Entry) int { return strings.Compare(a.Name, b.Name) })
		return repo.Storer.SetIndex(&final)
	}
	if _, err := wt.Add(serving.LedgerDir); err != nil && !errors.Is(err, gogit.ErrGlobNoMatches) {
		restore()
		return fmt.Errorf("stage ledger: %w", err)
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	author := w.Author
	if author == (Signature{}) {
		author = DefaultAuthor
	}
	_, err = wt.Commit(message, &gogit.CommitOptions{Author: &object.Signature{Name: author.Name, Email: author.Email, When: now()}})
	if rerr := restore(); rerr != nil && err == nil {
		err = rerr
	}
	if errors.Is(err, gogit.ErrEmptyCommit) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("commit ledger: %w", err)
	}
	return nil
}

func isLedgerEntry(e *index.Entry) bool {
	return strings.HasPrefix(e.Name, serving.LedgerDir+"/")
}
