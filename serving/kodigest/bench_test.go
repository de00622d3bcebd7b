package kodigest

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"testing"
	"testing/fstest"
)

// BenchmarkDigestsUnchanged measures digesting the ko:// images of a
// module of 1000 commands, each importing a package of its own and the
// standard library, read from a tree that names its files' contents (a
// Git commit's), again and again unchanged: what each sync pass pays.
func BenchmarkDigestsUnchanged(b *testing.B) {
	tree := fstest.MapFS{"go.mod": {Data: []byte("module example.com/m\n\ngo 1.22\n")}, "go.sum": {Data: []byte("x v1 h1:a=\n")}}
	var images []string
	for i := range 1000 {
		tree[fmt.Sprintf("svc%04d/main.go", i)] = &fstest.MapFile{Data: fmt.Appendf(nil, "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/m/lib%04d\"\n)\n\nfunc main() { fmt.Println(lib%04d.X) }\n", i, i)}
		tree[fmt.Sprintf("lib%04d/lib.go", i)] = &fstest.MapFile{Data: fmt.Appendf(nil, "package lib%04d\n\nconst X = %d\n", i, i)}
		images = append(images, fmt.Sprintf("ko://example.com/m/svc%04d", i))
	}
	var reads []string
	fsys := indexedFS{idFS{MapFS: tree, reads: &reads}, index(tree)}
	var c Cache
	if _, errs := c.Digests(fsys, images); len(errs) > 0 {
		b.Fatal(errs)
	}
	b.ResetTimer()
	for b.Loop() {
		reads = reads[:0]
		if _, errs := c.Digests(fsys, images); len(errs) > 0 {
			b.Fatal(errs)
		}
		if len(reads) > 0 {
			b.Fatalf("read %d files of an unchanged tree", len(reads))
		}
	}
}

// indexedFS lists a directory from an index, as a Git tree does, where a
// MapFS scans every file it holds.
type indexedFS struct {
	idFS
	dirs map[string][]fs.DirEntry
}

func (f indexedFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if es, ok := f.dirs[name]; ok {
		return es, nil
	}
	return f.idFS.MapFS.ReadDir(name)
}

func index(m fstest.MapFS) map[string][]fs.DirEntry {
	dirs := map[string][]fs.DirEntry{}
	for _, d := range slices.Sorted(func(yield func(string) bool) {
		seen := map[string]bool{}
		for name := range m {
			if d := path.Dir(name); !seen[d] {
				seen[d] = true
				if !yield(d) {
					return
				}
			}
		}
	}) {
		es, _ := m.ReadDir(d)
		dirs[d] = es
	}
	return dirs
}
