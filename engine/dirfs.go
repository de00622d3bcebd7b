package engine

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrOutsideDir is why a file of a directory opened with OpenDir cannot
// be read: it, or a directory on its path, is a symbolic link that leads
// outside the directory.
var ErrOutsideDir = errors.New("a symbolic link leads outside the directory")

// Dir is a directory whose files cannot lead out of it: it is read
// through an os.Root, so a symbolic link that points outside (absolute,
// or through ..) is refused when it is read, with ErrOutsideDir; links
// that stay inside work. Close it when done.
type Dir struct {
	path string
	root *os.Root
	fsys fs.FS
}

var (
	_ fs.ReadFileFS = (*Dir)(nil)
	_ fs.ReadDirFS  = (*Dir)(nil)
	_ fs.StatFS     = (*Dir)(nil)
)

// OpenDir opens the directory path for reading.
func OpenDir(path string) (*Dir, error) {
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, err
	}
	return &Dir{path: path, root: root, fsys: root.FS()}, nil
}

// Close releases the directory.
func (d *Dir) Close() error { return d.root.Close() }

func (d *Dir) Open(name string) (fs.File, error) {
	f, err := d.fsys.Open(name)
	return f, d.explain("open", name, err)
}

func (d *Dir) ReadFile(name string) ([]byte, error) {
	b, err := fs.ReadFile(d.fsys, name)
	return b, d.explain("read", name, err)
}

func (d *Dir) ReadDir(name string) ([]fs.DirEntry, error) {
	es, err := fs.ReadDir(d.fsys, name)
	return es, d.explain("readdir", name, err)
}

func (d *Dir) Stat(name string) (fs.FileInfo, error) {
	fi, err := fs.Stat(d.fsys, name)
	return fi, d.explain("stat", name, err)
}

// explain turns os.Root's refusal of a path that escapes the directory
// into ErrOutsideDir; other errors pass unchanged.
func (d *Dir) explain(op, name string, err error) error {
	if err == nil || errors.Is(err, fs.ErrNotExist) || !fs.ValidPath(name) {
		return err
	}
	base, berr := filepath.EvalSymlinks(d.path)
	target, terr := filepath.EvalSymlinks(filepath.Join(d.path, filepath.FromSlash(name)))
	if berr != nil || terr != nil {
		return err
	}
	if rel, rerr := filepath.Rel(base, target); rerr == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return err
	}
	return &fs.PathError{Op: op, Path: name, Err: ErrOutsideDir}
}
