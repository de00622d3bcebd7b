package serving

import (
	"crypto/sha256"
	"io/fs"
	"sync"
)

// Cache keeps what Load decoded from each file, by path and content, so
// that loading a later state of the same repository decodes only the
// files that changed: on a push, one Service file and one ledger out of
// thousands. Trees loaded through one Cache share their Services,
// DomainMappings and Ledgers, which is safe because nothing modifies a
// loaded tree. A Cache forgets a file after keepLoads loads that did not
// read it. The zero Cache is ready; a nil *Cache caches nothing. It is
// safe for concurrent use.
type Cache struct {
	// Limits bound what each Load reads (zero fields: DefaultLimits).
	// Set them before the first Load.
	Limits Limits

	mu    sync.Mutex
	gen   uint64
	files map[fileKey]*cached
}

// keepLoads is how many loads a file's entry outlives its last use: enough
// for a repository's main state and a few previews loaded in turn.
const keepLoads = 8

type fileKey struct {
	path string
	sum  [sha256.Size]byte // of the content read, or
	id   string            // the content's ContentID
}

// ContentFS is a file system that names a file's content without reading
// it, as a Git tree does with a blob's hash: loading it through a Cache
// reads only the files the Cache has not seen. Equal IDs must mean equal
// content.
type ContentFS interface {
	fs.FS
	ContentID(name string) (string, bool)
}

// cached is one file's decoded content: its items, or its ledger.
type cached struct {
	used   uint64
	items  []*item
	ledger *Ledger
	src    Source
}

// loadCache is one load's view of a Cache.
type loadCache struct {
	c   *Cache
	gen uint64
}

// limits are the Limits of c, DefaultLimits without a Cache.
func (c *Cache) limits() Limits {
	if c == nil {
		return DefaultLimits
	}
	return c.Limits.orDefault()
}

func (c *Cache) begin() *loadCache {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if c.files == nil {
		c.files = map[fileKey]*cached{}
	}
	return &loadCache{c: c, gen: c.gen}
}

// end forgets the files no recent load has read.
func (lc *loadCache) end() {
	if lc == nil {
		return
	}
	c := lc.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.files {
		if e.used+keepLoads <= c.gen {
			delete(c.files, k)
		}
	}
}

// read names a file's content: by its ContentID when fsys has one (the
// file is then not read: data is nil), else by the SHA-256 of its bytes,
// read up to max. A nil loadCache (no Cache) names nothing and always
// reads.
func (lc *loadCache) read(fsys fs.FS, file string, max int64) (k fileKey, data []byte, err error) {
	if lc != nil {
		if cfs, ok := fsys.(ContentFS); ok {
			if id, ok := cfs.ContentID(file); ok {
				return fileKey{path: file, id: id}, nil, nil
			}
		}
	}
	if data, err = readFile(fsys, file, max); err != nil || lc == nil {
		return fileKey{}, data, err
	}
	return fileKey{path: file, sum: sha256.Sum256(data)}, data, nil
}

// open returns the kept entry of file when there is one of the kind asked
// for (a ledger or items), else the file's bytes to decode, read up to
// max; k names its content for store.
func (lc *loadCache) open(fsys fs.FS, file string, ledger bool, max int64) (k fileKey, e *cached, data []byte, err error) {
	if k, data, err = lc.read(fsys, file, max); err != nil {
		return k, nil, nil, err
	}
	if e, ok := lc.lookup(k); ok && (e.ledger != nil) == ledger {
		return k, e, nil, nil
	}
	if data == nil {
		data, err = readFile(fsys, file, max)
	}
	return k, nil, data, err
}

func (lc *loadCache) lookup(k fileKey) (*cached, bool) {
	if lc == nil {
		return nil, false
	}
	lc.c.mu.Lock()
	defer lc.c.mu.Unlock()
	e, ok := lc.c.files[k]
	if ok && e.used < lc.gen {
		e.used = lc.gen
	}
	return e, ok
}

func (lc *loadCache) store(k fileKey, e *cached) {
	if lc == nil {
		return
	}
	e.used = lc.gen
	lc.c.mu.Lock()
	defer lc.c.mu.Unlock()
	lc.c.files[k] = e
}

// items decodes and prepares the documents of a repository file, each
// within b's document limit. Files with problems are not kept: their
// errors are found again each time.
func (lc *loadCache) items(fsys fs.FS, file string, b *budget) ([]*item, ErrorList) {
	k, e, data, err := lc.open(fsys, file, false, b.lim.FileBytes)
	switch {
	case err != nil:
		return nil, ErrorList{fileError(file, err)}
	case e != nil:
		return e.items, nil
	}
	var errs ErrorList
	lines, sizes := documentLines(data)
	for i := range lines {
		if fe := b.document(file, lines[i], sizes[i]); fe != nil {
			errs = append(errs, fe)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	docs, errs := decodeFile(file, data)
	items := make([]*item, len(docs))
	clean := len(errs) == 0
	for i, d := range docs {
		items[i] = prepare(d)
		clean = clean && len(items[i].errs) == 0
	}
	if clean {
		lc.store(k, &cached{items: items})
	}
	return items, errs
}

// ledger decodes a ledger file, read up to max; as items, only good
// files are kept.
func (lc *loadCache) ledger(fsys fs.FS, file string, max int64) (*Ledger, Source, ErrorList) {
	k, e, data, err := lc.open(fsys, file, true, max)
	switch {
	case err != nil:
		return nil, Source{File: file}, ErrorList{fileError(file, err)}
	case e != nil:
		return e.ledger, e.src, nil
	}
	led, src, errs := readLedgerFile(file, data)
	if len(errs) > 0 {
		return led, src, errs
	}
	src = ledgerSource(src)
	lc.store(k, &cached{ledger: led, src: src})
	return led, src, nil
}

// ledgerSource is where a good ledger file is kept, without the lines of
// its fields but the one Load still reports on (a ledger stored under the
// wrong path). A ledger's fields are many (every revision's template) and
// nothing locates an error in a ledger that decoded.
func ledgerSource(src Source) Source {
	return Source{File: src.File, Line: src.Line, Fields: map[string]int{"service": src.LineOf("service")}}
}
