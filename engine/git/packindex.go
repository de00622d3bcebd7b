package git

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// packStore is the cache's object storage: go-git's, except that packs
// written to it (fetched, or made by a compaction) are indexed by
// indexPack, which hashes each object as it streams by and inflates only
// the objects that other objects are deltas of. go-git's own indexer
// inflates every object into memory once, so one large file in a fetch
// cost its whole size in memory however little of it was ever read.
type packStore struct {
	*filesystem.Storage
}

var _ storer.PackfileWriter = packStore{}

// PackfileWriter returns a writer of one pack: written to a temporary
// file, indexed when closed, then moved into place.
func (s packStore) PackfileWriter() (io.WriteCloser, error) {
	fs := s.Filesystem()
	dir := fs.Join("objects", "pack")
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := fs.TempFile(dir, "tmp_pack_")
	if err != nil {
		return nil, err
	}
	return &packWriter{st: s.Storage, fs: fs, dir: dir, f: f}, nil
}

type packWriter struct {
	st  *filesystem.Storage
	fs  billy.Filesystem
	dir string
	f   billy.File
	n   int64
}

func (w *packWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.n += int64(n)
	return n, err
}

// Close indexes the pack and installs it (its index first, so that a
// crash never leaves a pack without one); an empty pack is dropped.
func (w *packWriter) Close() error {
	name := w.f.Name()
	err := w.f.Close()
	if err == nil && w.n > 0 {
		err = w.install(name)
	}
	if err != nil || w.n == 0 {
		_ = w.fs.Remove(name)
	}
	return err
}

func (w *packWriter) install(name string) error {
	f, err := w.fs.Open(name)
	if err != nil {
		return err
	}
	idx, sum, err := indexPack(f, w.st)
	f.Close()
	if err != nil {
		return fmt.Errorf("index pack: %w", err)
	}
	tmp, err := w.fs.TempFile(w.dir, "tmp_idx_")
	if err != nil {
		return err
	}
	_, err = idxfile.NewEncoder(tmp).Encode(idx)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	base := w.fs.Join(w.dir, "pack-"+sum.String())
	if err == nil {
		err = w.fs.Rename(tmp.Name(), base+".idx")
	}
	if err != nil {
		_ = w.fs.Remove(tmp.Name())
		return err
	}
	if err := w.fs.Rename(name, base+".pack"); err != nil {
		return err
	}
	w.st.Reindex() // the storage reads every index again when next asked
	return nil
}

// packObject is one object of a pack being indexed.
type packObject struct {
	offset   int64
	crc      uint32
	size     int64               // inflated size (of the delta, for a delta)
	typ      plumbing.ObjectType // the object's type; for a delta, once resolved
	hash     plumbing.Hash       // zero until resolved
	delta    bool
	base     int64         // an offset delta's base
	baseHash plumbing.Hash // a reference delta's base
	children []int         // deltas made from this object
}

// indexPack reads the pack in f and returns its index and checksum.
// Whole objects are hashed as they are read; a delta is resolved from its
// base's content, which is held in memory only while the deltas made
// from it are resolved, and a delta's own content is streamed unless
// other deltas are made from it. Bases outside the pack (a thin pack)
// come from ext.
func indexPack(f io.ReadSeeker, ext storer.EncodedObjectStorer) (*idxfile.MemoryIndex, plumbing.Hash, error) {
	sc := packfile.NewScanner(f)
	_, count, err := sc.Header()
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	objs, at, err := scanObjects(sc, count)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	sum, err := sc.Checksum()
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	x := &indexer{sc: sc, objs: objs, byRef: map[plumbing.Hash][]int{}}
	if err := x.link(at); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if err := x.resolveWhole(); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if err := x.resolveThin(ext); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	return x.index(count, sum)
}

// scanObjects reads the count objects of the pack after its header,
// hashing each whole object as it streams by, and returns them with
// their positions by offset.
func scanObjects(sc *packfile.Scanner, count uint32) ([]packObject, map[int64]int, error) {
	objs := make([]packObject, 0, min(count, 1<<16))
	at := map[int64]int{}
	for range count {
		oh, err := sc.NextObjectHeader()
		if err != nil {
			return nil, nil, err
		}
		o := packObject{offset: oh.Offset, size: oh.Length, typ: oh.Type}
		var w io.Writer = io.Discard
		var h plumbing.Hasher
		switch oh.Type {
		case plumbing.OFSDeltaObject:
			o.delta, o.base = true, oh.OffsetReference
		case plumbing.REFDeltaObject:
			o.delta, o.baseHash = true, oh.Reference
		default:
			h = plumbing.NewHasher(oh.Type, oh.Length)
			w = h
		}
		if _, o.crc, err = sc.NextObject(w); err != nil {
			return nil, nil, err
		}
		if !o.delta {
			o.hash = h.Sum()
		}
		at[o.offset] = len(objs)
		objs = append(objs, o)
	}
	return objs, at, nil
}

// link makes each offset delta a child of its base, found through at,
// and lists each reference delta under the base it waits for.
func (x *indexer) link(at map[int64]int) error {
	objs := x.objs
	for i := range objs {
		o := &objs[i]
		switch {
		case !o.delta:
		case o.baseHash.IsZero():
			p, ok := at[o.base]
			if !ok {
				return fmt.Errorf("object at %d: delta base at %d is not an object", o.offset, o.base)
			}
			objs[p].children = append(objs[p].children, i)
		default:
			x.byRef[o.baseHash] = append(x.byRef[o.baseHash], i)
		}
	}
	return nil
}

// resolveWhole resolves the deltas made, directly or not, from the
// pack's whole objects.
func (x *indexer) resolveWhole() error {
	for i := range x.objs {
		if !x.objs[i].delta {
			if err := x.resolved(i, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolveThin resolves the reference deltas still waiting, those of a
// thin pack, from bases the store ext already has.
func (x *indexer) resolveThin(ext storer.EncodedObjectStorer) error {
	for base, kids := range x.byRef {
		o, err := ext.EncodedObject(plumbing.AnyObject, base)
		if err != nil {
			return fmt.Errorf("delta base %s: %w", base, err)
		}
		content, err := readObject(o)
		if err != nil {
			return fmt.Errorf("delta base %s: %w", base, err)
		}
		for _, k := range kids {
			if err := x.resolve(k, content, o.Type()); err != nil {
				return err
			}
		}
	}
	return nil
}

// index builds the index of the pack's count objects, whose checksum is
// sum; an object still unresolved is an error.
func (x *indexer) index(count uint32, sum plumbing.Hash) (*idxfile.MemoryIndex, plumbing.Hash, error) {
	w := new(idxfile.Writer)
	_ = w.OnHeader(count)
	for _, o := range x.objs {
		if o.hash.IsZero() {
			return nil, plumbing.ZeroHash, fmt.Errorf("object at %d: delta base never found", o.offset)
		}
		w.Add(o.hash, uint64(o.offset), o.crc)
	}
	if err := w.OnFooter(sum); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	idx, err := w.Index()
	return idx, sum, err
}

type indexer struct {
	sc    *packfile.Scanner
	objs  []packObject
	byRef map[plumbing.Hash][]int // reference deltas by the base they wait for
}

// resolved resolves the deltas made from object i, whose hash is known;
// content is its content when already in memory.
func (x *indexer) resolved(i int, content []byte) error {
	o := &x.objs[i]
	kids := append(o.children, x.byRef[o.hash]...)
	delete(x.byRef, o.hash)
	if len(kids) == 0 {
		return nil
	}
	if content == nil {
		var err error
		if content, err = x.read(o); err != nil {
			return err
		}
	}
	for _, k := range kids {
		if err := x.resolve(k, content, o.typ); err != nil {
			return err
		}
	}
	return nil
}

// resolve works out the hash of delta k made from base, of type typ,
// streaming what it makes through the hash; only when deltas are made
// from it in turn is that made again, in memory, for them.
func (x *indexer) resolve(k int, base []byte, typ plumbing.ObjectType) error {
	o := &x.objs[k]
	delta, err := x.read(o)
	if err != nil {
		return err
	}
	o.typ = typ
	r, err := packfile.ReaderFromDelta(baseObject{b: base, t: typ}, bytes.NewReader(delta))
	if err != nil {
		return fmt.Errorf("object at %d: %w", o.offset, err)
	}
	h := plumbing.NewHasher(typ, deltaTargetSize(delta))
	_, err = io.Copy(h, r)
	r.Close()
	if err != nil {
		return fmt.Errorf("object at %d: %w", o.offset, err)
	}
	o.hash = h.Sum()
	if len(o.children) == 0 && len(x.byRef[o.hash]) == 0 {
		return nil
	}
	target, err := packfile.PatchDelta(base, delta)
	if err != nil {
		return fmt.Errorf("object at %d: %w", o.offset, err)
	}
	return x.resolved(k, target)
}

// baseObject is a delta base held in memory, as go-git's delta reader
// takes it, without a copy.
type baseObject struct {
	b []byte
	t plumbing.ObjectType
}

func (o baseObject) Hash() plumbing.Hash         { return plumbing.ZeroHash }
func (o baseObject) Type() plumbing.ObjectType   { return o.t }
func (o baseObject) SetType(plumbing.ObjectType) {}
func (o baseObject) Size() int64                 { return int64(len(o.b)) }
func (o baseObject) SetSize(int64)               {}
func (o baseObject) Writer() (io.WriteCloser, error) {
	return nil, errors.New("a delta base is read-only")
}
func (o baseObject) Reader() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(o.b)), nil }

// read inflates object o's data from the pack (a delta's instructions,
// for a delta).
func (x *indexer) read(o *packObject) ([]byte, error) {
	if _, err := x.sc.SeekObjectHeader(o.offset); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(int(min(o.size, 64<<20)))
	if _, _, err := x.sc.NextObject(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// deltaTargetSize reads the size of what delta makes, from its header.
func deltaTargetSize(delta []byte) int64 {
	_, rest := uvarint(delta)
	n, _ := uvarint(rest)
	return int64(n)
}

// uvarint decodes git's little-endian base-128 size.
func uvarint(b []byte) (uint64, []byte) {
	var n uint64
	for i, c := range b {
		n |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 || i == 9 {
			return n, b[i+1:]
		}
	}
	return n, nil
}

func readObject(o plumbing.EncodedObject) ([]byte, error) {
	r, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var b bytes.Buffer
	b.Grow(int(min(o.Size(), 64<<20)))
	_, err = b.ReadFrom(r)
	return b.Bytes(), err
}
