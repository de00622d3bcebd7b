package kodigest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/build"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
)

// KoPrefix marks an image that is a Go import path to build, as ko does.
const KoPrefix = "ko://"

// ErrNoModule is why an image has no digest: no module whose files are in
// the tree provides its package (or the package has no Go files there).
var ErrNoModule = errors.New("no Go module in the tree provides the package")

// Cache keeps, by content, what digests read: each file's SHA-256 by its
// content ID (a Git blob's hash), and each package directory's imports
// and embed patterns by the contents of its files, so that digesting an
// unchanged tree again parses nothing, and reads nothing from a tree that
// names its files' contents. A Cache forgets what keepRounds calls of
// Digests did not use. The zero Cache is ready; it is safe for concurrent
// use.
type Cache struct {
	mu   sync.Mutex
	gen  uint64
	sums map[string]*sumEntry // by content ID
	pkgs map[string]*pkgEntry // by directory and its files' sums
}

const keepRounds = 8

type sumEntry struct {
	used uint64
	sum  string
}

type pkgEntry struct {
	used    uint64
	imports []string
	embeds  []string
}

// contentFS names a file's content without reading it (serving.ContentFS).
type contentFS interface {
	ContentID(name string) (string, bool)
}

// Digest is the digest of one image; see Digests.
func (c *Cache) Digest(fsys fs.FS, image string) (string, error) {
	d, errs := c.Digests(fsys, []string{image})
	if err := errs[image]; err != nil {
		return "", err
	}
	return d[image], nil
}

// Digests returns the content digest ("sha256:<hex>") of each ko:// image
// of images whose package a module of fsys provides, and for each other
// one why not (wrapping ErrNoModule when no module of fsys provides it).
// fsys is the tree the go command would run in: a go.work or go.mod at
// its root.
//
// The digest covers the main package and every package it imports,
// transitively, that is built from the tree's files (the modules of the
// tree, and vendor/ when the module vendors): each one's import path and
// source files (non-test .go files whatever their build constraints, so
// that the digest is the same on every platform; C, assembly and other
// files cgo builds; files its //go:embed patterns select), and go.mod,
// go.sum, go.work and go.work.sum, which pin every other dependency by
// module version. Files are named relative to their package, so the
// digest is the same wherever the tree is checked out, and it depends on
// nothing else: not the files' times, not the toolchain.
func (c *Cache) Digests(fsys fs.FS, images []string) (map[string]string, map[string]error) {
	r := c.begin(fsys)
	defer r.end()
	out, errs := map[string]string{}, map[string]error{}
	lay, err := r.layout()
	for _, image := range images {
		ip, ok := strings.CutPrefix(image, KoPrefix)
		switch {
		case !ok || ip == "":
			errs[image] = fmt.Errorf("image %q is not a ko:// import path", image)
		case err != nil:
			errs[image] = err
		default:
			d, err := r.digest(lay, ip)
			if err != nil {
				errs[image] = fmt.Errorf("%s: %w", image, err)
				continue
			}
			out[image] = d
		}
	}
	return out, errs
}

// round is one call of Digests.
type round struct {
	c    *Cache
	gen  uint64
	fsys fs.FS
}

func (c *Cache) begin(fsys fs.FS) *round {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if c.sums == nil {
		c.sums, c.pkgs = map[string]*sumEntry{}, map[string]*pkgEntry{}
	}
	return &round{c: c, gen: c.gen, fsys: fsys}
}

// end forgets what no recent round used.
func (r *round) end() {
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.sums {
		if e.used+keepRounds <= c.gen {
			delete(c.sums, k)
		}
	}
	for k, e := range c.pkgs {
		if e.used+keepRounds <= c.gen {
			delete(c.pkgs, k)
		}
	}
}

// sum is the SHA-256 of a file, by its content ID when the tree has one.
func (r *round) sum(name string) (string, error) {
	var id string
	if cfs, ok := r.fsys.(contentFS); ok {
		id, _ = cfs.ContentID(name)
	}
	if id != "" {
		r.c.mu.Lock()
		e, ok := r.c.sums[id]
		if ok {
			e.used = r.gen
		}
		r.c.mu.Unlock()
		if ok {
			return e.sum, nil
		}
	}
	f, err := r.fsys.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if id != "" {
		r.c.mu.Lock()
		r.c.sums[id] = &sumEntry{used: r.gen, sum: sum}
		r.c.mu.Unlock()
	}
	return sum, nil
}

// layout is the modules of the tree and the files that pin the others.
type layout struct {
	mods []module
	// files are go.work, go.work.sum, and each module's go.mod and go.sum
	// (and vendor/modules.txt), those that exist.
	files []string
	// vendor is set when the main module vendors its dependencies.
	vendor bool
}

func (r *round) layout() (*layout, error) {
	lay := &layout{}
	var dirs []string // of the modules whose go.mod is read
	if data, err := fs.ReadFile(r.fsys, "go.work"); err == nil {
		lay.files = append(lay.files, "go.work")
		wf := parseModFile(data)
		for _, u := range wf.use {
			if d, ok := inTree(".", u); ok {
				dirs = append(dirs, d)
			}
		}
		r.addReplaced(lay, ".", wf.replace)
	} else if _, err := fs.Stat(r.fsys, "go.mod"); err == nil {
		dirs = []string{"."}
	} else {
		return nil, fmt.Errorf("%w: no go.work or go.mod", ErrNoModule)
	}
	for _, d := range dirs {
		r.addModule(lay, d, "")
	}
	if len(dirs) == 1 && dirs[0] == "." && r.isFile("vendor/modules.txt") && !r.isFile("go.work") {
		lay.vendor = true
		lay.files = append(lay.files, "vendor/modules.txt")
	}
	for _, f := range []string{"go.work.sum"} {
		if r.isFile(f) {
			lay.files = append(lay.files, f)
		}
	}
	slices.Sort(lay.files)
	lay.files = slices.Compact(lay.files)
	return lay, nil
}

// addModule adds the module in dir (path, when not "", is the module path
// a replace gave it), and the modules its go.mod replaces with
// directories of the tree.
func (r *round) addModule(lay *layout, dir, modPath string) {
	gomod := path.Join(dir, "go.mod")
	data, err := fs.ReadFile(r.fsys, gomod)
	if err != nil {
		return
	}
	if slices.ContainsFunc(lay.mods, func(m module) bool { return m.dir == dir }) {
		return
	}
	mf := parseModFile(data)
	if modPath == "" {
		modPath = mf.module
	}
	if modPath == "" {
		return
	}
	lay.mods = append(lay.mods, module{path: modPath, dir: dir})
	lay.files = append(lay.files, gomod)
	if gosum := path.Join(dir, "go.sum"); r.isFile(gosum) {
		lay.files = append(lay.files, gosum)
	}
	r.addReplaced(lay, dir, mf.replace)
}

func (r *round) addReplaced(lay *layout, dir string, replace map[string]string) {
	for _, old := range slices.Sorted(maps.Keys(replace)) {
		if d, ok := inTree(dir, replace[old]); ok {
			r.addModule(lay, d, old)
		}
	}
}

func (r *round) isFile(name string) bool {
	st, err := fs.Stat(r.fsys, name)
	return err == nil && st.Mode().IsRegular()
}

// digest hashes the package importPath and what it builds from.
func (r *round) digest(lay *layout, importPath string) (string, error) {
	dir, ok := r.dirOf(lay, importPath)
	if !ok {
		return "", fmt.Errorf("%w: no module of the tree has the path of %s", ErrNoModule, importPath)
	}
	h := sha256.New()
	fmt.Fprintf(h, "ebb-ko-digest-v1\nimage %s\n", importPath)
	for _, f := range lay.files {
		sum, err := r.sum(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "modfile %s %s\n", f, sum)
	}
	seen := map[string]bool{importPath: true}
	queue := []string{importPath}
	var records []string
	for len(queue) > 0 {
		ip := queue[0]
		queue = queue[1:]
		d, _ := r.dirOf(lay, ip)
		rec, imports, err := r.pkg(d)
		if err != nil {
			if ip == importPath {
				return "", fmt.Errorf("%w: %s (%s): %w", ErrNoModule, importPath, dir, err)
			}
			// The build reports a missing package of the module.
			rec = "missing\n"
		}
		records = append(records, "pkg "+ip+"\n"+rec)
		for _, imp := range imports {
			if _, local := r.dirOf(lay, imp); local && !seen[imp] {
				seen[imp] = true
				queue = append(queue, imp)
			}
		}
	}
	slices.Sort(records)
	for _, rec := range records {
		io.WriteString(h, rec)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// dirOf is the directory in the tree of a package built from the tree's
// files: of one of its modules, or vendored.
func (r *round) dirOf(lay *layout, importPath string) (string, bool) {
	if d, ok := resolve(lay.mods, importPath); ok {
		return d, true
	}
	if lay.vendor && strings.Contains(strings.SplitN(importPath, "/", 2)[0], ".") {
		d := path.Join("vendor", importPath)
		if st, err := fs.Stat(r.fsys, d); err == nil && st.IsDir() {
			return d, true
		}
	}
	return "", false
}

// errNoGo is a directory without a Go file.
var errNoGo = errors.New("no Go files")

// buildContext parses a package's files for their imports and embed
// patterns, all of them whatever their build constraints.
func buildContext(fsys fs.FS) *build.Context {
	return &build.Context{
		GOOS: "linux", GOARCH: "amd64", Compiler: "gc", CgoEnabled: true, UseAllFiles: true,
		JoinPath:      path.Join,
		IsAbsPath:     path.IsAbs,
		SplitPathList: func(string) []string { return nil },
		HasSubdir:     func(string, string) (string, bool) { return "", false },
		IsDir: func(p string) bool {
			st, err := fs.Stat(fsys, p)
			return err == nil && st.IsDir()
		},
		ReadDir: func(dir string) ([]fs.FileInfo, error) {
			es, err := fs.ReadDir(fsys, dir)
			var out []fs.FileInfo
			for _, e := range es {
				if e.Type().IsRegular() && isSource(e.Name()) && path.Ext(e.Name()) == ".go" {
					if fi, err := e.Info(); err == nil {
						out = append(out, fi)
					}
				}
			}
			return out, err
		},
		OpenFile: func(p string) (io.ReadCloser, error) { return fsys.Open(p) },
	}
}
