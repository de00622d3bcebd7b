package git

import (
	"errors"
	"os"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// objectCache bounds go-git's cache of decoded objects (its default is
// 96 MiB, held for as long as the process runs). Trees a commit needs are
// kept by the Source's tree reader; the object cache only helps while a
// fetch or a ledger commit walks them.
const objectCache = 4 * cache.MiByte

// objectStreamSize is the size from which a blob is inflated as it is
// read rather than all at once.
const objectStreamSize = 1 << 20

// cacheStorage is the storage of the bare cache repository in fs: on
// disk, or in memory for a source without a cache directory, where
// objects stay compressed in their packs either way.
func cacheStorage(fs billy.Filesystem) packStore {
	return packStore{filesystem.NewStorageWithOptions(fs, cache.NewObjectLRU(objectCache),
		filesystem.Options{LargeObjectThreshold: objectStreamSize})}
}

// openCache opens the bare cache repository in fs.
func openCache(fs billy.Filesystem) (*gogit.Repository, error) {
	return gogit.Open(cacheStorage(fs), nil)
}

// openRepo sets the source's cache files and repository: in memory
// without a cache directory; otherwise the directory's, repaired of what
// an interrupted run left, or created when it holds none.
func (s *Source) openRepo() error {
	var err error
	if s.cfg.CacheDir == "" {
		s.fs = memfs.New()
		s.repo, err = gogit.Init(cacheStorage(s.fs), nil)
	} else if err = repairCache(s.cfg.CacheDir, s.cfg.Logger); err == nil {
		s.fs = osfs.New(s.cfg.CacheDir)
		s.repo, err = openCache(s.fs)
		if errors.Is(err, gogit.ErrRepositoryNotExists) {
			if err = os.MkdirAll(s.cfg.CacheDir, 0o755); err == nil {
				s.repo, err = gogit.Init(cacheStorage(s.fs), nil)
			}
		}
	}
	return err
}
