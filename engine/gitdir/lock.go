package gitdir

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
)

// ErrLocked is returned when another process holds the lock file git's
// protocol asks for (index.lock, <ref>.lock): nothing was changed.
var ErrLocked = errors.New("locked by another process")

// lockDir, under the repository's common directory, holds a second name
// (a hard link) of every lock file ebb holds, taken before the lock: the
// marker "<pid>-<random>.<lock path, escaped>". A lock file is ebb's
// exactly when it is the same file as a marker, and the marker's owner is
// alive exactly while it holds flock on it. So a lock left by a killed
// ebb is known for its own and removed on the next start, and a lock a
// git command holds is never touched.
const lockDir = "ebb-locks"

// lockFile is one held lock: target is the file it replaces, path the
// lock file (target + ".lock"), marker its second name.
type lockFile struct {
	target, path, marker string
	f                    *os.File
	done                 bool
}

// lock takes target's lock file the way git does (it fails with
// ErrLocked when the file exists), with ebb's marker for it.
func (r *Repo) lock(target string) (*lockFile, error) {
	path := target + ".lock"
	rel, err := filepath.Rel(r.CommonDir, path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(r.CommonDir, lockDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var nonce [4]byte
	_, _ = rand.Read(nonce[:])
	marker := filepath.Join(dir, fmt.Sprintf("%d-%x.%s", os.Getpid(), nonce, url.PathEscape(filepath.ToSlash(rel))))
	f, err := os.OpenFile(marker, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return nil, err
	}
	if err := holdLock(f); err != nil {
		f.Close()
		os.Remove(marker)
		return nil, fmt.Errorf("lock %s: %w", marker, err)
	}
	err = os.Link(marker, path)
	if errors.Is(err, os.ErrNotExist) {
		// A reference in a directory that does not exist yet.
		if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
			err = os.Link(marker, path)
		}
	}
	if err != nil {
		f.Close()
		os.Remove(marker)
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%s: %w", path, ErrLocked)
		}
		return nil, err
	}
	return &lockFile{target: target, path: path, marker: marker, f: f}, nil
}

// commit writes b as the lock file's whole content, syncs it and renames
// it over the target.
func (l *lockFile) commit(b []byte) error {
	if _, err := l.f.Write(b); err != nil {
		l.rollback()
		return err
	}
	if err := l.f.Sync(); err != nil {
		l.rollback()
		return err
	}
	if err := os.Rename(l.path, l.target); err != nil {
		l.rollback()
		return err
	}
	syncDir(filepath.Dir(l.target))
	l.release()
	return nil
}

// rollback removes the lock file, leaving the target as it was; a no-op
// after commit.
func (l *lockFile) rollback() {
	if l.done {
		return
	}
	os.Remove(l.path)
	l.release()
}

func (l *lockFile) release() {
	os.Remove(l.marker)
	l.f.Close()
	l.done = true
}

// syncDir makes a rename in dir durable; where directories cannot be
// synced it does nothing.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
