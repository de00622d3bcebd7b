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

func (s *Source) compact(pos storer.PackedObjectStorer, packs []plumbing.Hash) error {
	st := s.repo.Storer
	seen := map[plumbing.Hash]bool{}
	var shallow []plumbing.Hash
	var walkTree func(h plumbing.Hash) error
	walkTree = func(h plumbing.Hash) error {
		if seen[h] {
			return nil
		}
		seen[h] = true
		t, err := object.GetTree(st, h)
		if err != nil {
			return err
		}
		for _, e := range t.Entries {
			switch e.Mode {
			case filemode.Dir:
				if err := walkTree(e.Hash); err != nil {
					return err
				}
			case filemode.Submodule:
			default:
				seen[e.Hash] = true
			}
		}
		return nil
	}
	var walk func(h plumbing.Hash) error
	walk = func(h plumbing.Hash) error {
		for !seen[h] {
			seen[h] = true
			o, err := st.EncodedObject(plumbing.AnyObject, h)
			if err != nil {
				return err
			}
			switch o.Type() {
			case plumbing.TagObject:
				tag, err := object.DecodeTag(st, o)
				if err != nil {
					return err
				}
				h = tag.Target
				continue
			case plumbing.CommitObject:
			default:
				return nil
			}
			c, err := object.DecodeCommit(st, o)
			if err != nil {
				return err
			}
			if err := walkTree(c.TreeHash); err != nil {
				return err
			}
			for i, p := range c.ParentHashes {
				if !s.has(p) {
					shallow = append(shallow, c.Hash)
					break
				}
				if i > 0 {
					if err := walk(p); err != nil {
						return err
					}
				}
			}
			if len(c.ParentHashes) == 0 || !s.has(c.ParentHashes[0]) {
				return nil
			}
			h = c.ParentHashes[0]
		}
		return nil
	}
	refs, err := st.IterReferences()
	if err != nil {
		return err
	}
	err = refs.ForEach(func(r *plumbing.Reference) error {
		if r.Type() != plumbing.HashReference || !s.has(r.Hash()) {
			return nil
		}
		return walk(r.Hash())
	})
	if err != nil {
		return err
	}
	hashes := make([]plumbing.Hash, 0, len(seen))
	for h := range seen {
		hashes = append(hashes, h)
	}
	pfw, ok := st.(storer.PackfileWriter)
	if !ok {
		return errors.New("cache cannot write packs")
	}
	w, err := pfw.PackfileWriter()
	if err != nil {
		return err
	}
	packHash, err := packfile.NewEncoder(w, st, false).Encode(hashes, 10)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	slices.SortFunc(shallow, func(a, b plumbing.Hash) int { return bytes.Compare(a[:], b[:]) })
	if err := st.SetShallow(slices.Compact(shallow)); err != nil {
		return err
	}
	for _, p := range packs {
		if p != packHash {
			if err := pos.DeleteOldObjectPackAndIndex(p, time.Time{}); err != nil {
				return err
			}
		}
	}
	if los, ok := st.(storer.LooseObjectStorer); ok {
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
	}
	// The storer keeps the deleted packs' indexes: open the cache afresh.
	repo, err := openCache(s.fs)
	if err != nil {
		return err
	}
	s.repo, s.objects.st = repo, repo.Storer
	s.remote = gogit.NewRemote(repo.Storer, &config.RemoteConfig{Name: "origin", URLs: []string{s.cfg.URL}})
	return nil
}
