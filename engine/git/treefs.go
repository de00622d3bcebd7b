package git

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// dirNode is one directory of a commit's tree, immutable once built.
type dirNode struct {
	hash    plumbing.Hash
	entries []node // sorted by name
}

type node struct {
	name string
	mode fs.FileMode
	dir  *dirNode // nil for files
	hash plumbing.Hash
	size int64 // a file's size, from its blob's header
}

func (d *dirNode) lookup(name string) (*node, bool) {
	i := sort.Search(len(d.entries), func(i int) bool { return d.entries[i].name >= name })
	if i < len(d.entries) && d.entries[i].name == name {
		return &d.entries[i], true
	}
	return nil, false
}

// treeFS is a commit's tree: its directories and each file's name, blob
// hash and size are held in memory, and a file's content is read from the
// cache when it is opened. Stat and ContentID read nothing.
type treeFS struct {
	root    *dirNode
	blobs   *blobs
	modTime time.Time
}

// blobs is how a Source's Commit values read their files: from its cache,
// one read at a time, never while a fetch or a write-back changes it.
type blobs struct {
	mu sync.Mutex
	st storer.EncodedObjectStorer // the cache (a compaction replaces it)
}

// open returns a reader of blob h: a large blob is inflated as it is read
// (see objectStreamSize), a small one at once.
func (b *blobs) open(h plumbing.Hash) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, err := b.st.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	r, err := o.Reader()
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	return r, nil
}

var (
	_ fs.ReadFileFS = treeFS{}
	_ fs.ReadDirFS  = treeFS{}
	_ fs.StatFS     = treeFS{}
)

func (t treeFS) find(op, name string) (*node, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	n := &node{name: ".", mode: fs.ModeDir | 0o755, dir: t.root}
	if name == "." {
		return n, nil
	}
	for _, part := range strings.Split(name, "/") {
		if n.dir == nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		next, ok := n.dir.lookup(part)
		if !ok {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		n = next
	}
	return n, nil
}

func (t treeFS) Open(name string) (fs.File, error) {
	n, err := t.find("open", name)
	if err != nil {
		return nil, err
	}
	info := fileInfo{n: n, modTime: t.modTime}
	if name == "." {
		info.n = &node{name: ".", mode: n.mode, dir: n.dir}
	}
	if n.dir != nil {
		return &openDir{info: info, t: t}, nil
	}
	r, err := t.blobs.open(n.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &openFile{info: info, r: r}, nil
}

// ContentID names a file's content by its Git blob hash, without reading
// it (serving.ContentFS): a load cache reads only the files it has not
// seen.
func (t treeFS) ContentID(name string) (string, bool) {
	n, err := t.find("read", name)
	if err != nil || n.dir != nil {
		return "", false
	}
	return "git-blob:" + n.hash.String(), true
}

func (t treeFS) ReadFile(name string) ([]byte, error) {
	n, err := t.find("read", name)
	if err != nil {
		return nil, err
	}
	if n.dir != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	r, err := t.blobs.open(n.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	defer r.Close()
	b := bytes.NewBuffer(make([]byte, 0, n.size))
	if _, err := b.ReadFrom(r); err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return b.Bytes(), nil
}

func (t treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := t.find("readdir", name)
	if err != nil {
		return nil, err
	}
	if n.dir == nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return t.entries(n.dir), nil
}

func (t treeFS) Stat(name string) (fs.FileInfo, error) {
	n, err := t.find("stat", name)
	if err != nil {
		return nil, err
	}
	return fileInfo{n: n, modTime: t.modTime}, nil
}

func (t treeFS) entries(d *dirNode) []fs.DirEntry {
	out := make([]fs.DirEntry, len(d.entries))
	for i := range d.entries {
		out[i] = fs.FileInfoToDirEntry(fileInfo{n: &d.entries[i], modTime: t.modTime})
	}
	return out
}

type fileInfo struct {
	n       *node
	modTime time.Time
}

func (i fileInfo) Name() string       { return i.n.name }
func (i fileInfo) Size() int64        { return i.n.size }
func (i fileInfo) Mode() fs.FileMode  { return i.n.mode }
func (i fileInfo) ModTime() time.Time { return i.modTime }
func (i fileInfo) IsDir() bool        { return i.n.dir != nil }
func (i fileInfo) Sys() any           { return nil }

type openFile struct {
	info fileInfo
	r    io.ReadCloser
}

func (f *openFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *openFile) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *openFile) Close() error               { return f.r.Close() }

type openDir struct {
	info fileInfo
	t    treeFS
	rest []fs.DirEntry
	read bool
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.Name(), Err: errors.New("is a directory")}
}
func (d *openDir) Close() error { return nil }
func (d *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.read {
		d.rest, d.read = d.t.entries(d.info.n.dir), true
	}
	if n <= 0 {
		out := d.rest
		d.rest = nil
		return out, nil
	}
	if len(d.rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.rest))
	out := d.rest[:n]
	d.rest = d.rest[n:]
	return out, nil
}

// treeReader builds treeFS values from git trees, reusing whole
// directories whose tree hash is unchanged and the sizes of unchanged
// blobs from the tree it built last, so a new commit costs only the
// objects it changed. No blob is inflated: its size comes from its
// header.
type treeReader struct {
	dirs  map[plumbing.Hash]*dirNode
	sizes map[plumbing.Hash]int64
}

// readStats counts the objects one build looked up in the object store:
// trees decoded, blobs whose size was read.
type readStats struct {
	Trees, Blobs int
}

// read builds the tree at h and makes it the base for the next read.
// With ledger set, the root's .ebb directory is replaced by the tree at
// *ledger, or removed when that is zero.
func (r *treeReader) read(s storer.EncodedObjectStorer, h plumbing.Hash, ledger *plumbing.Hash) (*dirNode, readStats, error) {
	next := &treeReader{dirs: map[plumbing.Hash]*dirNode{}, sizes: map[plumbing.Hash]int64{}}
	var st readStats
	root, err := r.build(s, h, next, &st)
	if err != nil {
		return nil, st, err
	}
	if ledger != nil {
		over := node{name: LedgerDir, mode: fs.ModeDir | 0o755, hash: *ledger}
		if !ledger.IsZero() {
			if over.dir, err = r.build(s, *ledger, next, &st); err != nil {
				return nil, st, err
			}
		}
		// A new root: the one built is shared through the cache.
		entries := slices.DeleteFunc(slices.Clone(root.entries), func(n node) bool { return n.name == LedgerDir })
		if over.dir != nil {
			entries = append(entries, over)
			sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
		}
		root = &dirNode{entries: entries}
	}
	*r = *next
	return root, st, nil
}

func (r *treeReader) build(s storer.EncodedObjectStorer, h plumbing.Hash, next *treeReader, st *readStats) (*dirNode, error) {
	if d, ok := next.dirs[h]; ok {
		return d, nil
	}
	if d, ok := r.dirs[h]; ok {
		next.keep(d)
		return d, nil
	}
	t, err := object.GetTree(s, h)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h, err)
	}
	st.Trees++
	d := &dirNode{hash: h, entries: make([]node, 0, len(t.Entries))}
	for _, e := range t.Entries {
		n := node{name: e.Name, hash: e.Hash}
		switch e.Mode {
		case filemode.Dir:
			n.mode = fs.ModeDir | 0o755
			if n.dir, err = r.build(s, e.Hash, next, st); err != nil {
				return nil, err
			}
		case filemode.Regular, filemode.Deprecated, filemode.Executable, filemode.Symlink:
			n.mode = 0o644
			if e.Mode == filemode.Executable {
				n.mode = 0o755
			} else if e.Mode == filemode.Symlink {
				n.mode = fs.ModeSymlink | 0o777
			}
			if n.size, err = r.blobSize(s, e.Hash, next, st); err != nil {
				return nil, err
			}
		default: // submodules have no content here
			continue
		}
		d.entries = append(d.entries, n)
	}
	// Git orders a directory "a" as "a/", fs.FS orders by plain name.
	sort.Slice(d.entries, func(i, j int) bool { return d.entries[i].name < d.entries[j].name })
	next.dirs[h] = d
	return d, nil
}

// sizer is what a store answers a blob's size with, from the object's
// header (go-git's storages do).
type sizer interface {
	EncodedObjectSize(plumbing.Hash) (int64, error)
}

func (r *treeReader) blobSize(s storer.EncodedObjectStorer, h plumbing.Hash, next *treeReader, st *readStats) (int64, error) {
	if n, ok := next.sizes[h]; ok {
		return n, nil
	}
	if n, ok := r.sizes[h]; ok {
		next.sizes[h] = n
		return n, nil
	}
	var n int64
	var err error
	if sz, ok := s.(sizer); ok {
		n, err = sz.EncodedObjectSize(h)
	} else {
		var o plumbing.EncodedObject
		if o, err = s.EncodedObject(plumbing.BlobObject, h); err == nil {
			n = o.Size()
		}
	}
	if err != nil {
		return 0, fmt.Errorf("read blob %s: %w", h, err)
	}
	st.Blobs++
	next.sizes[h] = n
	return n, nil
}

// keep records a reused directory and everything under it in r.
func (r *treeReader) keep(d *dirNode) {
	r.dirs[d.hash] = d
	for i := range d.entries {
		if e := &d.entries[i]; e.dir != nil {
			r.keep(e.dir)
		} else {
			r.sizes[e.hash] = e.size
		}
	}
}
