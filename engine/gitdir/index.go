package gitdir

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// ErrUnsupportedIndex is returned for an index ebb cannot rewrite without
// losing what it means: a version other than 2, 3 and 4, or a mandatory
// extension (a split or sparse index).
var ErrUnsupportedIndex = errors.New("unsupported index")

// Index is a work tree's index, read only as far as replacing entries
// needs: each entry's fixed part (stat data, mode, hash, flags) is kept
// byte for byte, so the entries ebb does not replace are written back
// exactly as they were, flags only git knows of included.
type Index struct {
	Version uint32
	Entries []Entry
	// resolveUndo is the REUC extension, kept as read. The other optional
	// extensions (cache tree, untracked cache, fsmonitor, offset tables)
	// describe the entries as they were: they are dropped, and git builds
	// them again when it wants them.
	resolveUndo []byte
}

// Entry is one index entry: its path and its fixed part as git lays it
// out (62 bytes, 64 with extended flags).
type Entry struct {
	Name  string
	fixed []byte
}

const (
	entryFixed    = 62
	flagExtended  = 0x4000
	flagNameMask  = 0xfff
	indexHeader   = 12
	indexChecksum = sha1.Size
)

// Hash is the entry's blob hash.
func (e Entry) Hash() plumbing.Hash {
	var h plumbing.Hash
	copy(h[:], e.fixed[40:60])
	return h
}

// Mode is the entry's mode (0100644, 0100755, 0120000, 0160000).
func (e Entry) Mode() uint32 { return binary.BigEndian.Uint32(e.fixed[24:28]) }

// Stage is 0 for a merged entry, 1–3 for the sides of a conflict.
func (e Entry) Stage() int { return int(binary.BigEndian.Uint16(e.fixed[60:62])>>12) & 3 }

// NewEntry is a merged entry for path with mode and blob hash h. fi, when
// not nil, is the work tree file's stat data, by which git knows the file
// is unchanged without reading it; without it git compares the content.
func NewEntry(name string, mode uint32, h plumbing.Hash, fi os.FileInfo) Entry {
	b := make([]byte, entryFixed)
	if fi != nil {
		st := statOf(fi)
		for i, v := range []uint32{st.ctime, st.ctimeNsec, st.mtime, st.mtimeNsec, st.dev, st.ino} {
			binary.BigEndian.PutUint32(b[4*i:], v)
		}
		binary.BigEndian.PutUint32(b[28:], st.uid)
		binary.BigEndian.PutUint32(b[32:], st.gid)
		binary.BigEndian.PutUint32(b[36:], uint32(fi.Size()))
	}
	binary.BigEndian.PutUint32(b[24:], mode)
	copy(b[40:60], h[:])
	binary.BigEndian.PutUint16(b[60:], uint16(min(len(name), flagNameMask)))
	return Entry{Name: name, fixed: b}
}

// ReadIndex reads the index without a lock, as git status does; a
// missing index is an empty one.
func (r *Repo) ReadIndex() (*Index, error) {
	b, err := os.ReadFile(r.IndexPath())
	if errors.Is(err, os.ErrNotExist) {
		return &Index{Version: 2}, nil
	}
	if err != nil {
		return nil, err
	}
	idx, err := decodeIndex(b)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", r.IndexPath(), err)
	}
	return idx, nil
}

// UpdateIndex changes the index the way git does: it takes index.lock
// (ErrLocked when another process holds it: nothing changes), reads the
// index as it is then, and when update reports a change, writes the whole
// new index to the lock file, syncs it and renames it over the index.
func (r *Repo) UpdateIndex(update func(*Index) (bool, error)) error {
	l, err := r.lock(r.IndexPath())
	if err != nil {
		return fmt.Errorf("update index: %w", err)
	}
	defer l.rollback()
	idx, err := r.ReadIndex()
	if err != nil {
		return fmt.Errorf("update index: %w", err)
	}
	changed, err := update(idx)
	if err != nil || !changed {
		return err
	}
	slices.SortStableFunc(idx.Entries, func(a, b Entry) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return a.Stage() - b.Stage()
	})
	if err := l.commit(idx.encode()); err != nil {
		return fmt.Errorf("update index: %w", err)
	}
	return nil
}

func decodeIndex(b []byte) (*Index, error) {
	if len(b) < indexHeader+indexChecksum || string(b[:4]) != "DIRC" {
		return nil, errors.New("not an index file")
	}
	body := b[:len(b)-indexChecksum]
	if sum := sha1.Sum(body); !bytes.Equal(sum[:], b[len(body):]) {
		return nil, errors.New("index checksum mismatch")
	}
	idx := &Index{Version: binary.BigEndian.Uint32(b[4:8])}
	if idx.Version < 2 || idx.Version > 4 {
		return nil, fmt.Errorf("%w: version %d", ErrUnsupportedIndex, idx.Version)
	}
	n := int(binary.BigEndian.Uint32(b[8:12]))
	off, prev := indexHeader, ""
	short := errors.New("index entries cut short")
	for range n {
		start := off
		if off+entryFixed > len(body) {
			return nil, short
		}
		size := entryFixed
		if binary.BigEndian.Uint16(body[off+60:])&flagExtended != 0 {
			if idx.Version < 3 {
				return nil, errors.New("extended flags in a version 2 index")
			}
			size += 2
		}
		if off+size > len(body) {
			return nil, short
		}
		e := Entry{fixed: bytes.Clone(body[off : off+size])}
		off += size
		if idx.Version == 4 {
			strip, k := readVarint(body[off:])
			if k == 0 || strip > uint64(len(prev)) {
				return nil, errors.New("bad path compression in index")
			}
			off += k
			end := bytes.IndexByte(body[off:], 0)
			if end < 0 {
				return nil, short
			}
			e.Name = prev[:len(prev)-int(strip)] + string(body[off:off+end])
			off += end + 1
		} else {
			end := bytes.IndexByte(body[off:], 0)
			if end < 0 {
				return nil, short
			}
			e.Name = string(body[off : off+end])
			off = start + (size+len(e.Name)+8)&^7
			if off > len(body) {
				return nil, short
			}
		}
		idx.Entries = append(idx.Entries, e)
		prev = e.Name
	}
	for off < len(body) {
		if off+8 > len(body) {
			return nil, errors.New("index extension cut short")
		}
		sig, size := string(body[off:off+4]), int(binary.BigEndian.Uint32(body[off+4:]))
		if size > len(body)-off-8 {
			return nil, errors.New("index extension cut short")
		}
		switch {
		case sig == "REUC":
			idx.resolveUndo = bytes.Clone(body[off+8 : off+8+size])
		case sig[0] < 'A' || sig[0] > 'Z':
			return nil, fmt.Errorf("%w: mandatory extension %q", ErrUnsupportedIndex, sig)
		}
		off += 8 + size
	}
	return idx, nil
}

func (idx *Index) encode() []byte {
	var b bytes.Buffer
	b.WriteString("DIRC")
	b.Write(binary.BigEndian.AppendUint32(nil, idx.Version))
	b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(idx.Entries))))
	prev := ""
	for _, e := range idx.Entries {
		b.Write(e.fixed)
		if idx.Version == 4 {
			common := 0
			for common < len(prev) && common < len(e.Name) && prev[common] == e.Name[common] {
				common++
			}
			b.Write(appendVarint(nil, uint64(len(prev)-common)))
			b.WriteString(e.Name[common:])
			b.WriteByte(0)
		} else {
			b.WriteString(e.Name)
			b.Write(make([]byte, (len(e.fixed)+len(e.Name)+8)&^7-len(e.fixed)-len(e.Name)))
		}
		prev = e.Name
	}
	if idx.resolveUndo != nil {
		b.WriteString("REUC")
		b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(idx.resolveUndo))))
		b.Write(idx.resolveUndo)
	}
	sum := sha1.Sum(b.Bytes())
	b.Write(sum[:])
	return b.Bytes()
}

// readVarint decodes git's offset varint; k is 0 when it is malformed.
func readVarint(b []byte) (v uint64, k int) {
	if len(b) == 0 {
		return 0, 0
	}
	c := b[0]
	v, k = uint64(c&127), 1
	for c&128 != 0 {
		if k >= len(b) || v >= 1<<56 {
			return 0, 0
		}
		v++
		c = b[k]
		k++
		v = v<<7 + uint64(c&127)
	}
	return v, k
}

// appendVarint encodes v as git's offset varint.
func appendVarint(dst []byte, v uint64) []byte {
	var buf [16]byte
	pos := len(buf) - 1
	buf[pos] = byte(v & 127)
	for v >>= 7; v != 0; v >>= 7 {
		v--
		pos--
		buf[pos] = 128 | byte(v&127)
	}
	return append(dst, buf[pos:]...)
}
