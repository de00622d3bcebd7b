package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	gosync "sync"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/scaler"
)

// commitFiles is the followed source, remembering the files of the
// commits it returned last, so that the applied one can be checked out.
type commitFiles struct {
	src *git.Source

	mu     gosync.Mutex
	recent []git.Commit // newest last, a few at most
}

var _ engine.GitSource = (*commitFiles)(nil)

func (c *commitFiles) remember(commit git.Commit) {
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

func (c *commitFiles) get(hash string) (fs.FS, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.recent {
		if r.Hash == hash {
			return r.Files, true
		}
	}
	return nil, false
}

func (c *commitFiles) Fetch(ctx context.Context) (git.Commit, bool, error) {
	commit, changed, err := c.src.Fetch(ctx)
	if err == nil {
		c.remember(commit)
	}
	return commit, changed, err
}

func (c *commitFiles) WriteBack(ctx context.Context, base git.Commit, files map[string][]byte, msg string, replan git.Replan) (git.Commit, bool, error) {
	commit, wrote, err := c.src.WriteBack(ctx, base, files, msg, replan)
	if err == nil {
		c.remember(commit)
	}
	return commit, wrote, err
}

func (c *commitFiles) Status() git.Status { return c.src.Status() }

// Run lets the loop use the source's scheduler.
func (c *commitFiles) Run(ctx context.Context, p git.Poll, kicks <-chan struct{}, sync func(context.Context)) error {
	return c.src.Run(ctx, p, kicks, sync)
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

// previewSources checks out the commit of each preview a revision of d
// was planned from, and returns where each such revision builds and runs
// from: its code is the preview's, not the main branch's. Checkouts of
// commits no revision runs from any more are removed.
func (g *gitUp) previewSources(d *engine.Desired) map[scaler.RevisionKey]string {
	if g.loop == nil || g.loop.Previews == nil {
		return nil
	}
	files := map[string]fs.FS{}
	for _, pv := range g.loop.Previews.Current() {
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
			dir := filepath.Join(g.previews, commit)
			if !kept[commit] {
				if err := checkoutOnce(f, dir); err != nil {
					g.log.Error("check out preview", "commit", commit, "error", err)
					continue
				}
				kept[commit] = true
			}
			sources[scaler.RevisionKey{Namespace: l.Namespace, Name: r.Name}] = dir
		}
	}
	entries, _ := os.ReadDir(g.previews)
	for _, e := range entries {
		if !kept[e.Name()] {
			_ = os.RemoveAll(filepath.Join(g.previews, e.Name()))
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
