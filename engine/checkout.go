package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/scaler"
)

// CommitFiles is a followed Git source that remembers the files of the
// commits it returned last, so that the applied one can be checked out.
type CommitFiles struct {
	src *git.Source

	mu     sync.Mutex
	recent []git.Commit // newest last, a few at most
}

var _ GitSource = (*CommitFiles)(nil)

// NewCommitFiles is src, remembering its last commits' files.
func NewCommitFiles(src *git.Source) *CommitFiles { return &CommitFiles{src: src} }

func (c *CommitFiles) remember(commit git.Commit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.recent {
		if r.Hash == commit.Hash {
			return
		}
	}
	c.recent = append(c.recent, commit)
	if len(c.recent) > 4 {
		c.recent = c.recent[len(c.recent)-4:]
	}
}

func (c *CommitFiles) get(hash string) (fs.FS, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.recent {
		if r.Hash == hash {
			return r.Files, true
		}
	}
	return nil, false
}

func (c *CommitFiles) Fetch(ctx context.Context) (git.Commit, bool, error) {
	commit, changed, err := c.src.Fetch(ctx)
	if err == nil {
		c.remember(commit)
	}
	return commit, changed, err
}

func (c *CommitFiles) WriteBack(ctx context.Context, base git.Commit, files map[string][]byte, msg string, replan git.Replan) (git.Commit, bool, error) {
	commit, wrote, err := c.src.WriteBack(ctx, base, files, msg, replan)
	if err == nil {
		c.remember(commit)
	}
	return commit, wrote, err
}

func (c *CommitFiles) Status() git.Status { return c.src.Status() }

// Run lets the loop use the source's scheduler.
func (c *CommitFiles) Run(ctx context.Context, p git.Poll, kicks <-chan struct{}, sync func(context.Context)) error {
	return c.src.Run(ctx, p, kicks, sync)
}

// Checkouts puts on disk what a local runtime builds and runs from: the
// files of the applied commit in Work, and those of each preview commit
// a revision was planned from in a directory of its own under Previews.
type Checkouts struct {
	Files *CommitFiles
	Work  string
	// Previews holds one checkout per preview commit; Current lists the
	// previews followed now (nil: none).
	Previews string
	Current  func() []Preview
	Logger   *slog.Logger
}

// Prepare checks d's commit out in Work, and each preview commit a
// revision of d runs from under Previews; it returns where each such
// revision builds and runs from (see PreviewSources).
func (c *Checkouts) Prepare(d *Desired) (map[scaler.RevisionKey]string, error) {
	if files, ok := c.Files.get(d.At.Commit); ok {
		if err := checkout(files, c.Work); err != nil {
			return nil, fmt.Errorf("check out %s: %w", d.At.Commit, err)
		}
	}
	if c.Current == nil {
		return nil, nil
	}
	return PreviewSources(d, c.Current(), c.Previews, c.Logger), nil
}

// checkout makes dir hold exactly files: changed files are written
// through a rename, files that are gone are removed. Files are streamed,
// never held in memory whole.
func checkout(files fs.FS, dir string) error {
	want := map[string]bool{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		want[p] = true
		name := filepath.Join(dir, filepath.FromSlash(p))
		if same, err := sameContent(files, p, name); err != nil || same {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		tmp := name + ".ebb-tmp"
		if err := copyOut(files, p, tmp); err != nil {
			return err
		}
		return os.Rename(tmp, name)
	})
	if err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if !want[filepath.ToSlash(rel)] {
			return os.Remove(p)
		}
		return nil
	})
}

// sameContent reports whether the file name on disk holds what p of files
// does, comparing them a block at a time.
func sameContent(files fs.FS, p, name string) (bool, error) {
	old, err := os.Open(name)
	if err != nil {
		return false, nil
	}
	defer old.Close()
	f, err := files.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	a, b := make([]byte, 32<<10), make([]byte, 32<<10)
	ended := func(err error) bool { return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) }
	for {
		n, errA := io.ReadFull(f, a)
		m, errB := io.ReadFull(old, b)
		switch {
		case errA != nil && !ended(errA):
			return false, errA
		case n != m || !bytes.Equal(a[:n], b[:m]):
			return false, nil
		case ended(errA) || ended(errB):
			return ended(errA) && ended(errB), nil
		case errB != nil:
			return false, nil
		}
	}
}

// copyOut writes p of files to the file name.
func copyOut(files fs.FS, p, name string) error {
	f, err := files.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	out, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, f); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// PreviewSources checks out under root the commit of each preview (of
// current) a revision of d was planned from, and returns where each such
// revision builds and runs from: its code is the preview's, not the main
// branch's. Checkouts of commits no revision runs from any more are
// removed.
func PreviewSources(d *Desired, current []Preview, root string, log *slog.Logger) map[scaler.RevisionKey]string {
	files := map[string]fs.FS{}
	for _, pv := range current {
		files[pv.Commit.Hash] = pv.Commit.Files
	}
	sources := map[scaler.RevisionKey]string{}
	kept := map[string]bool{}
	for _, l := range d.Ledgers {
		for _, r := range l.Revisions {
			commit := r.Created.Commit
			f, ok := files[commit]
			if !ok || commit == d.At.Commit {
				continue
			}
			dir := filepath.Join(root, commit)
			if !kept[commit] {
				if err := checkoutOnce(f, dir); err != nil {
					log.Error("check out preview", "commit", commit, "error", err)
					continue
				}
				kept[commit] = true
			}
			sources[scaler.RevisionKey{Namespace: l.Namespace, Name: r.Name}] = dir
		}
	}
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if !kept[e.Name()] {
			_ = os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
	return sources
}

// checkoutOnce writes files to dir unless dir exists: a commit's files
// never change, and the directory appears whole (written aside, then
// renamed) or not at all.
func checkoutOnce(files fs.FS, dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".checkout-")
	if err != nil {
		return err
	}
	// Readable by the user a sandboxed preview runs as.
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := checkout(files, tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return nil
}
