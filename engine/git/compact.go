package git

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// maxPacks is how many packs fetches may leave in the cache before it is
// rewritten as one: every fetch adds a pack, and every object lookup
// searches them all.
const maxPacks = 32

// compactIfNeeded rewrites a cache with more than maxPacks packs
// as one pack of what its refs reach (history down to the shallow
// boundary; nothing that was fetched and then dropped by a force-push).
// go-git's own repack cannot walk a shallow repository.
func (s *Source) compactIfNeeded() error {
	pos, ok := s.repo.Storer.(storer.PackedObjectStorer)
	if !ok {
		return nil
	}
	packs, err := pos.ObjectPacks()
	if err != nil || len(packs) <= maxPacks {
		return err
	}
	if err := s.compact(pos, packs); err != nil {
		return fmt.Errorf("compact cache %s: %w", s.cfg.CacheDir, err)
	}
	return nil
}

// compact rewrites the cache as one pack of what its refs reach, records
// the new shallow boundary, deletes the old packs and loose objects, and
// opens the cache afresh.
func (s *Source) compact(pos storer.PackedObjectStorer, packs []plumbing.Hash) error {
	st := s.repo.Storer
	r, err := s.reachable()
	if err != nil {
		return err
	}
	packHash, err := writePack(st, r.hashes())
	if err != nil {
		return err
	}
	slices.SortFunc(r.shallow, func(a, b plumbing.Hash) int { return bytes.Compare(a[:], b[:]) })
	if err := st.SetShallow(slices.Compact(r.shallow)); err != nil {
		return err
	}
	if err := deletePacks(pos, packs, packHash); err != nil {
		return err
	}
	if err := deleteLooseObjects(st); err != nil {
		return err
	}
	return s.reopenCache()
}

// reach is what a walk of the cache's refs has found: every object they
// reach down to the shallow boundary, and the commits on that boundary.
type reach struct {
	st      storer.EncodedObjectStorer
	has     func(plumbing.Hash) bool // whether the cache holds an object
	seen    map[plumbing.Hash]bool
	shallow []plumbing.Hash // commits with a parent the cache lacks
}

// reachable walks every ref of the cache whose object the cache holds.
func (s *Source) reachable() (*reach, error) {
	st := s.repo.Storer
	r := &reach{st: st, has: s.has, seen: map[plumbing.Hash]bool{}}
	refs, err := st.IterReferences()
	if err != nil {
		return nil, err
	}
	err = refs.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() != plumbing.HashReference || !s.has(ref.Hash()) {
			return nil
		}
		return r.object(ref.Hash())
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// object walks from object h: a tag to its target, a commit to its tree
// and its parents (first parents in a loop, others recursively) until a
// parent the cache lacks; any other object ends the walk.
func (r *reach) object(h plumbing.Hash) error {
	for !r.seen[h] {
		r.seen[h] = true
		o, err := r.st.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return err
		}
		switch o.Type() {
		case plumbing.TagObject:
			tag, err := object.DecodeTag(r.st, o)
			if err != nil {
				return err
			}
			h = tag.Target
			continue
		case plumbing.CommitObject:
		default:
			return nil
		}
		c, err := object.DecodeCommit(r.st, o)
		if err != nil {
			return err
		}
		if err := r.tree(c.TreeHash); err != nil {
			return err
		}
		for i, p := range c.ParentHashes {
			if !r.has(p) {
				r.shallow = append(r.shallow, c.Hash)
				break
			}
			if i > 0 {
				if err := r.object(p); err != nil {
					return err
				}
			}
		}
		if len(c.ParentHashes) == 0 || !r.has(c.ParentHashes[0]) {
			return nil
		}
		h = c.ParentHashes[0]
	}
	return nil
}

// tree marks tree h, its subtrees and its blobs as seen; submodules are
// not followed.
func (r *reach) tree(h plumbing.Hash) error {
	if r.seen[h] {
		return nil
	}
	r.seen[h] = true
	t, err := object.GetTree(r.st, h)
	if err != nil {
		return err
	}
	for _, e := range t.Entries {
		switch e.Mode {
		case filemode.Dir:
			if err := r.tree(e.Hash); err != nil {
				return err
			}
		case filemode.Submodule:
		default:
			r.seen[e.Hash] = true
		}
	}
	return nil
}

// hashes lists every object seen.
func (r *reach) hashes() []plumbing.Hash {
	hashes := make([]plumbing.Hash, 0, len(r.seen))
	for h := range r.seen {
		hashes = append(hashes, h)
	}
	return hashes
}

// writePack writes the objects hashes name, from st, as one pack into
// st and returns its hash.
func writePack(st storer.EncodedObjectStorer, hashes []plumbing.Hash) (plumbing.Hash, error) {
	pfw, ok := st.(storer.PackfileWriter)
	if !ok {
		return plumbing.ZeroHash, errors.New("cache cannot write packs")
	}
	w, err := pfw.PackfileWriter()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	packHash, err := packfile.NewEncoder(w, st, false).Encode(hashes, 10)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return packHash, err
}

// deletePacks deletes packs and their indexes, all but keep.
func deletePacks(pos storer.PackedObjectStorer, packs []plumbing.Hash, keep plumbing.Hash) error {
	for _, p := range packs {
		if p != keep {
			if err := pos.DeleteOldObjectPackAndIndex(p, time.Time{}); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteLooseObjects deletes every loose object of st, when st keeps any.
func deleteLooseObjects(st storer.EncodedObjectStorer) error {
	los, ok := st.(storer.LooseObjectStorer)
	if !ok {
		return nil
	}
	var loose []plumbing.Hash
	if err := los.ForEachObjectHash(func(h plumbing.Hash) error {
		loose = append(loose, h)
		return nil
	}); err != nil {
		return err
	}
	for _, h := range loose {
		if err := los.DeleteLooseObject(h); err != nil {
			return err
		}
	}
	return nil
}

// reopenCache opens the cache afresh after a compaction, since the storer
// keeps the deleted packs' indexes, and points the Commit values' object
// reader and the remote at it.
func (s *Source) reopenCache() error {
	repo, err := openCache(s.fs)
	if err != nil {
		return err
	}
	s.repo, s.objects.st = repo, repo.Storer
	s.remote = gogit.NewRemote(repo.Storer, &config.RemoteConfig{Name: "origin", URLs: []string{s.cfg.URL}})
	return nil
}
