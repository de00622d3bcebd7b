package engine

import (
	"io/fs"
	"path/filepath"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/kodigest"
)

// codeDigests works out the content digests of a state's ko:// images
// (serving.Tree.Code), keeping what it read for the next states.
type codeDigests struct {
	cache kodigest.Cache
}

// digest sets tree.Code from module, the Go module (or workspace) the
// ko:// import paths of tree's Services resolve in. An image no module
// there provides gets no digest: its revisions are their templates, and
// the build says what is missing.
func (c *codeDigests) digest(module fs.FS, tree *serving.Tree) {
	images := tree.KoImages()
	if len(images) == 0 || module == nil {
		return
	}
	digests, _ := c.cache.Digests(module, images)
	tree.Code = digests
}

// DigestCode sets tree.Code from module, the Go module (or workspace) its
// ko:// images build in: the tree's own files, or those OpenModule
// opened.
func DigestCode(module fs.FS, tree *serving.Tree) {
	var c codeDigests
	c.digest(module, tree)
}

// DigestDirCode sets tree.Code for a tree read from files, the serving
// directory dir: from the module around dir when it holds dir (see
// OpenModule), else from files, as ebb up DIR plans it.
func DigestDirCode(dir string, files fs.FS, tree *serving.Tree) {
	if mod := OpenModule(dir); mod != nil {
		defer mod.Close()
		files = mod
	}
	DigestCode(files, tree)
}

// OpenModule opens the root of the Go module or workspace the ko://
// images of the serving directory dir build in, as the go command finds
// it (see kodigest.FindRoot), when that is not dir itself: a serving
// directory inside a larger module. It returns nil when the root is dir,
// or no module holds dir. Close it when done.
func OpenModule(dir string) *Dir {
	root, ok := kodigest.FindRoot(dir)
	if !ok {
		return nil
	}
	if abs, err := filepath.Abs(dir); err != nil || abs == root {
		return nil
	}
	d, err := OpenDir(root)
	if err != nil {
		return nil
	}
	return d
}
