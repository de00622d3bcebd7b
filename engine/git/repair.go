package git

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// repairCache checks the bare cache at dir before it is opened, for what
// a process killed while it fetched or wrote can leave. Leftovers — lock
// files, temporary objects, packs or pack indexes without their other
// half — are removed. A broken cache — a pack cut short, a reference or
// shallow list that does not read, a reference naming a commit or tree
// the cache lacks — is removed whole, so that the next fetch clones it
// afresh (a depth-1 clone: the cache holds nothing else). Each repair is
// logged. The cache belongs to this process alone.
func repairCache(dir string, log *slog.Logger) error {
	if entries, err := os.ReadDir(dir); errors.Is(err, fs.ErrNotExist) || err == nil && len(entries) == 0 {
		return nil
	}
	problem := ""
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		problem = "no HEAD: the cache's first clone was interrupted"
	}
	removed, err := removeLeftovers(dir)
	for _, p := range removed {
		log.Info("git cache: removed a leftover of an interrupted write", "file", p)
	}
	if err != nil {
		return err
	}
	if problem == "" {
		problem = checkPacks(dir)
	}
	if problem == "" {
		problem = checkRefs(dir)
	}
	if problem == "" {
		return nil
	}
	log.Warn("git cache is broken; it is cloned afresh", "cache", dir, "problem", problem)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove broken cache %s: %w", dir, err)
	}
	return nil
}

// removeLeftovers removes lock files, go-git's temporary files, and a
// pack or a pack index whose other half is missing.
func removeLeftovers(dir string) ([]string, error) {
	var gone []string
	remove := func(p string) error {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		gone = append(gone, p)
		return nil
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		switch {
		case strings.HasSuffix(name, ".lock"), strings.HasPrefix(name, "tmp_"), strings.HasPrefix(name, "._packed-refs"):
			return remove(p)
		case filepath.Dir(p) == filepath.Join(dir, "objects", "pack"):
			ext := filepath.Ext(name)
			other := map[string]string{".pack": ".idx", ".idx": ".pack"}[ext]
			if other == "" {
				return nil
			}
			if _, err := os.Stat(strings.TrimSuffix(p, ext) + other); errors.Is(err, fs.ErrNotExist) {
				return remove(p)
			}
		}
		return nil
	})
	return gone, err
}

// checkPacks says what is wrong with the cache's packs, "" when nothing:
// every index must read, and every pack start as one and end with the
// checksum its index records.
func checkPacks(dir string) string {
	idxs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "pack-*.idx"))
	for _, p := range idxs {
		if problem := checkPack(p); problem != "" {
			return filepath.Base(p) + ": " + problem
		}
	}
	return ""
}

func checkPack(idxPath string) string {
	f, err := os.Open(idxPath)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	idx := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(bufio.NewReader(f)).Decode(idx); err != nil {
		return "index does not read: " + err.Error()
	}
	pack, err := os.Open(strings.TrimSuffix(idxPath, ".idx") + ".pack")
	if err != nil {
		return err.Error()
	}
	defer pack.Close()
	st, err := pack.Stat()
	if err != nil {
		return err.Error()
	}
	sum := len(idx.PackfileChecksum)
	if st.Size() < int64(12+sum) {
		return fmt.Sprintf("pack cut short (%d bytes)", st.Size())
	}
	head := make([]byte, 4)
	tail := make([]byte, sum)
	if _, err := io.ReadFull(pack, head); err != nil || string(head) != "PACK" {
		return "not a pack"
	}
	if _, err := pack.ReadAt(tail, st.Size()-int64(sum)); err != nil || !bytes.Equal(tail, idx.PackfileChecksum[:]) {
		return "pack cut short: it does not end with its checksum"
	}
	return ""
}

// checkRefs says what is wrong with the cache's references and shallow
// list, "" when nothing: each must read, and each reference must name a
// commit (or tag) the cache holds, with its tree.
func checkRefs(dir string) string {
	if b, err := os.ReadFile(filepath.Join(dir, "shallow")); err == nil {
		for _, l := range strings.Fields(string(b)) {
			if !plumbing.IsHash(l) {
				return fmt.Sprintf("shallow: %q is not a hash", l)
			}
		}
	}
	repo, err := openCache(osfs.New(dir))
	if err != nil {
		return err.Error()
	}
	refs, err := repo.Storer.IterReferences()
	if err != nil {
		return "references: " + err.Error()
	}
	problem := ""
	err = refs.ForEach(func(r *plumbing.Reference) error {
		if r.Type() != plumbing.HashReference {
			return nil
		}
		o, err := repo.Storer.EncodedObject(plumbing.AnyObject, r.Hash())
		if err != nil {
			problem = fmt.Sprintf("%s names %s: %v", r.Name(), r.Hash(), err)
			return storer.ErrStop
		}
		if o.Type() != plumbing.CommitObject {
			return nil
		}
		c, err := object.DecodeCommit(repo.Storer, o)
		if err == nil {
			_, err = c.Tree()
		}
		if err != nil {
			problem = fmt.Sprintf("%s names %s: %v", r.Name(), r.Hash(), err)
			return storer.ErrStop
		}
		return nil
	})
	if err != nil {
		return "references: " + err.Error()
	}
	return problem
}
