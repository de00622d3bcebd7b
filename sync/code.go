package sync

import (
	"io/fs"

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
