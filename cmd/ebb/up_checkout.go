package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	gosync "sync"

	"github.com/ebb-dev/ebb/sync"
	"github.com/ebb-dev/ebb/sync/git"
)

// commitFiles is the followed source, remembering the files of the
// commits it returned last, so that the applied one can be checked out.
type commitFiles struct {
	src *git.Source

	mu     gosync.Mutex
	recent []git.Commit // newest last, a few at most
}

var _ sync.GitSource = (*commitFiles)(nil)

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
// through a rename, files that are gone are removed.
func checkout(files fs.FS, dir string) error {
	want := map[string]bool{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		want[p] = true
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		name := filepath.Join(dir, filepath.FromSlash(p))
		if old, err := os.ReadFile(name); err == nil && bytes.Equal(old, b) {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		tmp := name + ".ebb-tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
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
