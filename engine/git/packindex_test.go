package git

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/internal/gittest"
)

// deltaRepo makes a work tree whose history gives git material for
// deltas: five versions of two files that differ a little each time.
func deltaRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	gittest.Run(t, dir, "init", "-q", "-b", gittest.Branch)
	var a, b strings.Builder
	for i := range 400 {
		fmt.Fprintf(&a, "line %d of a: %s\n", i, strings.Repeat("a", i%37))
		fmt.Fprintf(&b, "line %d of b: %s\n", i, strings.Repeat("b", i%41))
	}
	for v := range 5 {
		gittest.WriteFiles(t, dir, map[string]string{
			"a.txt":     a.String() + fmt.Sprintf("version %d\n", v),
			"dir/b.txt": fmt.Sprintf("version %d\n", v) + b.String(),
		})
		gittest.Run(t, dir, "add", "-A")
		gittest.Run(t, dir, "commit", "-q", "-m", fmt.Sprintf("v%d", v))
	}
	return dir
}

// packOf runs git pack-objects in dir with revs on its input.
func packOf(t *testing.T, dir, revs string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(gittest.GitPath(t), append([]string{"pack-objects", "--stdout", "--revs", "-q"}, args...)...)
	cmd.Dir, cmd.Env = dir, gittest.Env("t", "t@example.com")
	cmd.Stdin = strings.NewReader(revs)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git pack-objects: %v", err)
	}
	return out
}

type idxEntry struct {
	Hash   string
	Offset uint64
	CRC    uint32
}

func entries(t *testing.T, idx *idxfile.MemoryIndex) []idxEntry {
	t.Helper()
	it, err := idx.Entries()
	if err != nil {
		t.Fatal(err)
	}
	var out []idxEntry
	for {
		e, err := it.Next()
		if err != nil {
			break
		}
		out = append(out, idxEntry{e.Hash.String(), e.Offset, e.CRC32})
	}
	slices.SortFunc(out, func(a, b idxEntry) int { return strings.Compare(a.Hash, b.Hash) })
	return out
}

func deltas(t *testing.T, pack []byte) (ofs, ref int) {
	t.Helper()
	sc := packfile.NewScanner(bytes.NewReader(pack))
	_, n, err := sc.Header()
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		h, err := sc.NextObjectHeader()
		if err != nil {
			t.Fatal(err)
		}
		switch h.Type {
		case plumbing.OFSDeltaObject:
			ofs++
		case plumbing.REFDeltaObject:
			ref++
		}
		if _, _, err := sc.NextObject(bytes.NewBuffer(nil)); err != nil {
			t.Fatal(err)
		}
	}
	return ofs, ref
}

// indexPack gives the index go-git's own indexer gives, for packs of
// whole objects, offset deltas and reference deltas.
func TestIndexPackMatchesGoGit(t *testing.T) {
	dir := deltaRepo(t)
	for _, tt := range []struct {
		name     string
		args     []string
		ofs, ref bool // the pack has offset, reference deltas
	}{
		{"offset deltas", []string{"--delta-base-offset"}, true, false},
		{"reference deltas", nil, false, true},
		{"no deltas", []string{"--depth=0"}, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pack := packOf(t, dir, "HEAD\n", tt.args...)
			if ofs, ref := deltas(t, pack); (ofs > 0) != tt.ofs || (ref > 0) != tt.ref {
				t.Fatalf("the pack has %d offset and %d reference deltas", ofs, ref)
			}
			w := new(idxfile.Writer)
			p, err := packfile.NewParser(packfile.NewScanner(bytes.NewReader(pack)), w)
			if err != nil {
				t.Fatal(err)
			}
			wantSum, err := p.Parse()
			if err != nil {
				t.Fatal(err)
			}
			want, err := w.Index()
			if err != nil {
				t.Fatal(err)
			}
			got, sum, err := indexPack(bytes.NewReader(pack), memory.NewStorage())
			if err != nil {
				t.Fatalf("indexPack: %v", err)
			}
			if sum != wantSum {
				t.Errorf("checksum %s, want %s", sum, wantSum)
			}
			if diff := cmp.Diff(entries(t, want), entries(t, got)); diff != "" {
				t.Errorf("index (-want +got):\n%s", diff)
			}
		})
	}
}

// A thin pack's deltas on objects the store already has are resolved
// from the store.
func TestIndexPackThin(t *testing.T) {
	dir := deltaRepo(t)
	pack := packOf(t, dir, "HEAD\n^HEAD~1\n", "--thin")
	if _, ref := deltas(t, pack); ref == 0 {
		t.Fatal("the thin pack has no reference deltas")
	}
	store := filesystem.NewStorage(osfs.New(filepath.Join(dir, ".git")), cache.NewObjectLRUDefault())
	idx, _, err := indexPack(bytes.NewReader(pack), store)
	if err != nil {
		t.Fatalf("indexPack: %v", err)
	}
	var got []string
	for _, e := range entries(t, idx) {
		got = append(got, e.Hash)
	}
	want := strings.Fields(gittest.Run(t, dir, "rev-list", "--objects", "--no-object-names", "HEAD", "^HEAD~1"))
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects indexed (-want +got):\n%s", diff)
	}
	if _, _, err := indexPack(bytes.NewReader(pack), memory.NewStorage()); err == nil {
		t.Error("indexPack resolved a thin pack without its bases")
	}
}

// A fetch inflates no file into memory: a 20 MiB file costs its
// compressed bytes, its size is known from its header, and its content is
// read only when asked for, whether the cache is on disk or in memory.
func TestFetchInflatesNoFile(t *testing.T) {
	root := t.TempDir()
	big := "big: " + strings.Repeat("x", 20<<20) + "\n"
	gittest.NewBare(t, root, "repo.git", map[string]string{"a.yaml": "kind: X\n", "big.yaml": big})
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{})
	for _, dir := range []string{"", t.TempDir()} {
		s, err := New(Config{URL: srv.RepoURL("repo.git"), Ref: Ref{Branch: "main"}, CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c, _, err := s.Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fi, err := fs.Stat(c.Files, "big.yaml")
		runtime.ReadMemStats(&after)
		if err != nil || fi.Size() != int64(len(big)) {
			t.Fatalf("cache %q: Stat = %v, %v; want size %d", dir, fi, err, len(big))
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
			t.Errorf("cache %q: fetching and sizing a 20 MiB file allocated %d KiB", dir, alloc>>10)
		}
		if b, err := fs.ReadFile(c.Files, "big.yaml"); err != nil || string(b) != big {
			t.Errorf("cache %q: ReadFile = %d bytes, %v", dir, len(b), err)
		}
	}
}
