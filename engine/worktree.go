package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/engine/gitdir"
	"github.com/ebb-dev/ebb/serving"
)

// WorktreeWriter stores ledgers in a Git work tree whose root is Dir and
// commits them. A commit is built from objects, never through the user's
// index: HEAD's tree with .ebb/ as the work tree holds it. The branch HEAD
// names moves by a compare-and-swap under git's own lock file, so a
// concurrent git commit is never overwritten (the ledger commit goes on
// top of it instead). Then only the .ebb/ entries of the index are
// brought up to date, under index.lock: whatever the user has staged
// stays staged, byte for byte. A kill at any instant leaves a repository
// git reads; Recover, at the next start, removes what the kill left.
type WorktreeWriter struct {
	Dir    string
	Author Signature
	// When stamps the commits; zero: the time each is made.
	When time.Time
	// Logger hears what Recover repaired and, at debug level, of an index
	// refresh left for later because another process held index.lock.
	Logger *slog.Logger
}

// Signature names the author of ledger commits.
type Signature struct{ Name, Email string }

// DefaultAuthor signs ledger commits made on this machine.
var DefaultAuthor = Signature{Name: "ebb", Email: "ebb@localhost"}

var _ LedgerWriter = WorktreeWriter{}

// commitAttempts bounds the tries of one ledger commit against a branch
// that moves or is locked meanwhile.
const commitAttempts = 10

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
	if _, err := (DirWriter{Dir: w.Dir}).Store(changed, deleted); err != nil {
		return err
	}
	_, err := w.commit(message)
	return err
}

// Recover repairs what an ebb killed while it committed can leave in the
// work tree, and runs once before the first pass: the lock files it held
// (never another process's: see gitdir.Repo.Recover), go-git's temporary
// objects, half-written ledger files, and ledger files written but not
// committed, which it commits when they read as valid ledgers. Last it
// brings the index's .ebb/ entries up to date. Every repair is logged.
func (w WorktreeWriter) Recover() error {
	repo, err := gitdir.Open(w.Dir)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	done, err := repo.Recover()
	for _, d := range done {
		w.log().Info("git: " + d)
	}
	if err != nil {
		return err
	}
	temps, _ := filepath.Glob(filepath.Join(w.Dir, serving.LedgerDir, "*", ledgerTempPrefix+"*"))
	for _, p := range temps {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("recover: %w", err)
		}
		w.log().Info("git: removed the half-written ledger file " + p)
	}
	files, err := OpenDir(w.Dir)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	_, err = serving.ReadLedgers(files)
	files.Close()
	if err != nil {
		w.log().Warn("ledger files are not valid: not committing them", "error", err)
		_, head, err := repo.Head()
		if err != nil {
			return fmt.Errorf("recover: %w", err)
		}
		w.refreshIndex(repo, newSyncedObjects(repo.CommonDir), head)
		return nil
	}
	committed, err := w.commit("ebb: ledger written before ebb stopped")
	if committed {
		w.log().Info("git: committed the ledger files written before ebb stopped")
	}
	return err
}

func (w WorktreeWriter) log() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// commit commits .ebb/ as the work tree holds it on top of HEAD when the
// two differ, then brings the index's .ebb/ entries up to date with
// HEAD. It reports whether it made a commit.
func (w WorktreeWriter) commit(message string) (bool, error) {
	repo, err := gitdir.Open(w.Dir)
	if err != nil {
		return false, fmt.Errorf("commit ledger: %w", err)
	}
	st := newSyncedObjects(repo.CommonDir)
	files, err := worktreeLedger(w.Dir)
	if err != nil {
		return false, fmt.Errorf("commit ledger: %w", err)
	}
	head, committed, err := w.commitOnHead(repo, st, message, func(head plumbing.Hash) (map[string][]byte, error) {
		return ledgerChanges(st, head, files)
	})
	if err != nil {
		return false, fmt.Errorf("commit ledger: %w", err)
	}
	w.refreshIndex(repo, st, head)
	return committed, nil
}

// commitOnHead commits the files changesAt gives (nil content: removed)
// on top of HEAD, signed by w's author at w's clock. A git command that
// moves or holds the branch meanwhile is waited out, and changesAt asked
// again for the HEAD it leaves. It returns HEAD afterwards, and whether
// it made a commit (not when there is nothing to change).
func (w WorktreeWriter) commitOnHead(repo *gitdir.Repo, st *syncedObjects, message string, changesAt func(head plumbing.Hash) (map[string][]byte, error)) (plumbing.Hash, bool, error) {
	author := w.Author
	if author == (Signature{}) {
		author = DefaultAuthor
	}
	for attempt := 1; ; attempt++ {
		ref, head, err := repo.Head()
		if err != nil {
			return head, false, err
		}
		changes, err := changesAt(head)
		if err != nil || len(changes) == 0 {
			return head, false, err
		}
		when := w.When
		if when.IsZero() {
			when = time.Now() // the commit's own time, as git stamps one
		}
		c, err := git.CommitFiles(st, head, changes, message, object.Signature{Name: author.Name, Email: author.Email, When: when}, nil)
		if err == nil {
			err = st.sync()
		}
		if err != nil || c.IsZero() {
			// c is zero when the tree would not change.
			return head, false, err
		}
		reflog := "commit: "
		if head.IsZero() {
			reflog = "commit (initial): "
		}
		subject, _, _ := strings.Cut(message, "\n")
		err = repo.UpdateRef(ref, head, c, gitdir.Who{Name: author.Name, Email: author.Email, When: when}, reflog+subject)
		if err == nil {
			return c, true, nil
		}
		if !errors.Is(err, gitdir.ErrRefChanged) && !errors.Is(err, gitdir.ErrLocked) || attempt >= commitAttempts {
			return head, false, err
		}
		// A git command moved or holds the branch: commit again on
		// top of wherever it leaves it.
		time.Sleep(time.Duration(attempt) * 20 * time.Millisecond)
	}
}

// worktreeLedger reads .ebb/ of the work tree: its regular files by slash
// path from the root, leaving out files being written.
func worktreeLedger(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	root := filepath.Join(dir, serving.LedgerDir)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		switch {
		case errors.Is(err, fs.ErrNotExist) && p == root:
			return nil
		case err != nil:
			return err
		case !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ledgerTempPrefix):
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	return files, err
}

// ledgerFile is a file of a commit's .ebb/.
type ledgerFile struct {
	mode filemode.FileMode
	hash plumbing.Hash
}

// headLedger lists the files of .ebb/ in commit head (zero: none).
func headLedger(st *syncedObjects, head plumbing.Hash) (map[string]ledgerFile, error) {
	out := map[string]ledgerFile{}
	if head.IsZero() {
		return out, nil
	}
	c, err := object.GetCommit(st, head)
	if err != nil {
		return nil, fmt.Errorf("read HEAD %s: %w", head, err)
	}
	root, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read HEAD %s: %w", head, err)
	}
	t, err := root.Tree(serving.LedgerDir)
	if errors.Is(err, object.ErrDirectoryNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read HEAD %s: %w", head, err)
	}
	err = t.Files().ForEach(func(f *object.File) error {
		if f.Mode.IsFile() {
			out[path.Join(serving.LedgerDir, f.Name)] = ledgerFile{f.Mode, f.Hash}
		}
		return nil
	})
	return out, err
}

// ledgerChanges is what turns head's .ebb/ into files: each file whose
// content differs, and nil for each file files lacks.
func ledgerChanges(st *syncedObjects, head plumbing.Hash, files map[string][]byte) (map[string][]byte, error) {
	committed, err := headLedger(st, head)
	if err != nil {
		return nil, err
	}
	changes := map[string][]byte{}
	for p, b := range files {
		if f, ok := committed[p]; !ok || f.hash != plumbing.ComputeHash(plumbing.BlobObject, b) {
			changes[p] = b
		}
	}
	for p := range committed {
		if _, ok := files[p]; !ok {
			changes[p] = nil
		}
	}
	return changes, nil
}

// refreshIndex makes the index's .ebb/ entries those of head, with the
// work tree's stat data where the file holds what head does, leaving
// every other entry as it is. When another process holds index.lock the
// refresh is left for the next commit; a failed refresh is logged: the
// commit stands either way.
func (w WorktreeWriter) refreshIndex(repo *gitdir.Repo, st *syncedObjects, head plumbing.Hash) {
	want, err := headLedger(st, head)
	if err == nil {
		err = repo.UpdateIndex(func(idx *gitdir.Index) (bool, error) { return w.ledgerEntries(idx, want), nil })
	}
	switch {
	case errors.Is(err, gitdir.ErrLocked):
		w.log().Debug("the index is held by another git command: its ledger entries are brought up to date at the next ledger commit", "error", err)
	case err != nil:
		w.log().Warn("the ledger is committed, but the index's ledger entries could not be brought up to date", "error", err)
	}
}

// ledgerEntries replaces idx's .ebb/ entries by want's and reports
// whether that changed anything.
func (w WorktreeWriter) ledgerEntries(idx *gitdir.Index, want map[string]ledgerFile) bool {
	isLedger := func(name string) bool { return strings.HasPrefix(name, serving.LedgerDir+"/") }
	n := 0
	same := true
	for _, e := range idx.Entries {
		if isLedger(e.Name) {
			f, ok := want[e.Name]
			same = same && ok && e.Stage() == 0 && f.hash == e.Hash() && uint32(f.mode) == e.Mode()
			n++
		}
	}
	if same && n == len(want) {
		return false
	}
	kept := idx.Entries[:0]
	for _, e := range idx.Entries {
		if !isLedger(e.Name) {
			kept = append(kept, e)
		}
	}
	for name, f := range want {
		kept = append(kept, gitdir.NewEntry(name, uint32(f.mode), f.hash, w.statIfHolds(name, f.hash)))
	}
	idx.Entries = kept
	return true
}

// statIfHolds is the work tree file's stat data when it holds blob h,
// else nil (git then reads the file to compare).
func (w WorktreeWriter) statIfHolds(name string, h plumbing.Hash) os.FileInfo {
	p := filepath.Join(w.Dir, filepath.FromSlash(name))
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil || plumbing.ComputeHash(plumbing.BlobObject, b) != h {
		return nil
	}
	return fi
}

// syncedObjects is a repository's object storage that remembers the
// loose objects it writes, so that they reach the disk before a
// reference names them.
type syncedObjects struct {
	*filesystem.Storage
	dir     string
	written []plumbing.Hash
}

// ledgerObjectCache bounds the decoded objects one ledger commit keeps.
const ledgerObjectCache = cache.MiByte

func newSyncedObjects(commonDir string) *syncedObjects {
	return &syncedObjects{
		Storage: filesystem.NewStorage(osfs.New(commonDir), cache.NewObjectLRU(ledgerObjectCache)),
		dir:     filepath.Join(commonDir, "objects"),
	}
}

func (s *syncedObjects) SetEncodedObject(o plumbing.EncodedObject) (plumbing.Hash, error) {
	h, err := s.Storage.SetEncodedObject(o)
	if err == nil {
		s.written = append(s.written, h)
	}
	return h, err
}

// sync flushes the loose objects written so far, and their directories.
func (s *syncedObjects) sync() error {
	dirs := map[string]bool{}
	for _, h := range s.written {
		hex := h.String()
		p := filepath.Join(s.dir, hex[:2], hex[2:])
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // already packed
		}
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("sync object %s: %w", hex, err)
		}
		dirs[filepath.Dir(p)] = true
	}
	for d := range dirs {
		if f, err := os.Open(d); err == nil {
			_ = f.Sync()
			f.Close()
		}
	}
	s.written = nil
	return nil
}
