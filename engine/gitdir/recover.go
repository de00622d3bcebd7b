package gitdir

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Recover removes what an ebb killed while it changed the repository
// left behind: its lock files (a lock file that is the same file as a
// marker no live process holds), the markers, and go-git's temporary
// object files (objects/pack/tmp_obj_*, which git never makes). A lock
// file of any other process is never touched. It returns one line per
// file removed.
func (r *Repo) Recover() ([]string, error) {
	var done []string
	dir := filepath.Join(r.CommonDir, lockDir)
	markers, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("recover %s: %w", r.Worktree, err)
	}
	for _, m := range markers {
		gone, err := r.dropMarker(filepath.Join(dir, m.Name()))
		if err != nil {
			return done, fmt.Errorf("recover %s: %w", r.Worktree, err)
		}
		if gone != "" {
			done = append(done, "removed the lock file "+gone+" a stopped ebb held")
		}
	}
	tmp, err := filepath.Glob(filepath.Join(r.CommonDir, "objects", "pack", "tmp_obj_*"))
	if err != nil {
		return done, err
	}
	for _, p := range tmp {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return done, fmt.Errorf("recover %s: %w", r.Worktree, err)
		}
		done = append(done, "removed the half-written object "+p)
	}
	return done, nil
}

// dropMarker removes a marker whose owner is gone, and the lock file that
// is the same file as it; it returns that lock file's path, if any. A
// marker a live process holds is left alone.
func (r *Repo) dropMarker(marker string) (string, error) {
	f, err := os.Open(marker)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	if !ownerGone(f) {
		return "", nil
	}
	var removed string
	if _, escaped, ok := strings.Cut(filepath.Base(marker), "."); ok {
		if rel, err := url.PathUnescape(escaped); err == nil && strings.HasSuffix(rel, ".lock") {
			lock := filepath.Join(r.CommonDir, filepath.FromSlash(rel))
			mi, err1 := f.Stat()
			li, err2 := os.Lstat(lock)
			if err1 == nil && err2 == nil && os.SameFile(mi, li) {
				if err := os.Remove(lock); err != nil {
					return "", err
				}
				removed = lock
			}
		}
	}
	if err := os.Remove(marker); err != nil && !errors.Is(err, os.ErrNotExist) {
		return removed, err
	}
	return removed, nil
}
