package gitdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Repo is the Git directory of a work tree.
type Repo struct {
	// Worktree is the root of the work tree.
	Worktree string
	// GitDir holds HEAD and the index: Worktree/.git, or for a linked
	// work tree (git worktree add) the directory its .git file names.
	GitDir string
	// CommonDir holds objects, refs and packed-refs: GitDir, or the main
	// repository's for a linked work tree.
	CommonDir string
}

// Open finds the Git directory of the work tree rooted at worktree.
func Open(worktree string) (*Repo, error) {
	dotgit := filepath.Join(worktree, ".git")
	fi, err := os.Stat(dotgit)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", worktree, err)
	}
	r := &Repo{Worktree: worktree, GitDir: dotgit, CommonDir: dotgit}
	if !fi.IsDir() {
		b, err := os.ReadFile(dotgit)
		if err != nil {
			return nil, fmt.Errorf("open repository %s: %w", worktree, err)
		}
		dir, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: ")
		if !ok {
			return nil, fmt.Errorf("open repository %s: %s names no gitdir", worktree, dotgit)
		}
		r.GitDir, r.CommonDir = abs(worktree, dir), abs(worktree, dir)
		if b, err := os.ReadFile(filepath.Join(r.GitDir, "commondir")); err == nil {
			r.CommonDir = abs(r.GitDir, strings.TrimSpace(string(b)))
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open repository %s: %w", worktree, err)
		}
	}
	if _, err := os.Stat(filepath.Join(r.GitDir, "HEAD")); err != nil {
		return nil, fmt.Errorf("open repository %s: %w", worktree, err)
	}
	return r, nil
}

func abs(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// IndexPath is the work tree's index file.
func (r *Repo) IndexPath() string { return filepath.Join(r.GitDir, "index") }

// refPath is the loose file of a reference: HEAD is the work tree's own,
// every other reference the repository's.
func (r *Repo) refPath(name string) string {
	if name == "HEAD" {
		return filepath.Join(r.GitDir, "HEAD")
	}
	return filepath.Join(r.CommonDir, filepath.FromSlash(name))
}

// logPath is the reflog of a reference.
func (r *Repo) logPath(name string) string {
	if name == "HEAD" {
		return filepath.Join(r.GitDir, "logs", "HEAD")
	}
	return filepath.Join(r.CommonDir, "logs", filepath.FromSlash(name))
}
