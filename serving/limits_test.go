package serving

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// openFS records the regular files opened: what was read.
type openFS struct {
	fstest.MapFS
	opened *[]string
}

func (f openFS) Open(name string) (fs.File, error) {
	if file, ok := f.MapFS[name]; ok && file.Mode.IsRegular() {
		*f.opened = append(*f.opened, name)
	}
	return f.MapFS.Open(name)
}

func (f openFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(f.MapFS, name) }

func configMaps(n int, name string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-%d\n", name, i)
	}
	return b.String()
}

func TestLoadLimits(t *testing.T) {
	small := Limits{FileBytes: 1 << 10, DocumentBytes: 200, Objects: 4, TreeBytes: 2 << 10, Files: 3}
	big := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  k: " + strings.Repeat("x", 2<<10) + "\n"
	bigDoc := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: doc\ndata:\n  k: " + strings.Repeat("y", 300) + "\n"
	half := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  k: " + strings.Repeat("z", 800) + "\n"
	ledger := helloLedgerYAML + "# " + strings.Repeat("l", 2<<10) + "\n"
	kust := func(files fstest.MapFS) fstest.MapFS {
		files["kustomization.yaml"] = file("resources:\n  - a.yaml\nconfigMapGenerator:\n  - name: keys\n    files:\n      - key.pem\n")
		if files["a.yaml"] == nil {
			files["a.yaml"] = file(configMaps(1, "a"))
		}
		return files
	}
	tests := []struct {
		name   string
		lim    *Limits // default: small
		fsys   fstest.MapFS
		want   []string
		unread []string // files that must not be opened
	}{
		{
			name:   "file over the file limit",
			fsys:   fstest.MapFS{"apps/big.yaml": file(big), "apps/ok.yaml": file(configMaps(1, "ok"))},
			want:   []string{"apps/big.yaml: 2.1 KiB, over the 1 KiB file limit"},
			unread: []string{"apps/big.yaml"},
		},
		{
			name: "document over the document limit",
			fsys: fstest.MapFS{"a.yaml": file(configMaps(1, "a") + "---\n" + bigDoc)},
			want: []string{"a.yaml:7: document of 365 B, over the 200 B document limit"},
		},
		{
			name:   "objects over the object limit",
			fsys:   fstest.MapFS{"a.yaml": file(configMaps(3, "a")), "b.yaml": file(configMaps(2, "b")), "c.yaml": file(configMaps(1, "c"))},
			want:   []string{"b.yaml:2: object 5, over the 4 object limit"},
			unread: []string{"c.yaml"},
		},
		{
			name:   "tree over the tree limit",
			lim:    &Limits{FileBytes: 1 << 10, DocumentBytes: 1 << 10, TreeBytes: 2 << 10},
			fsys:   fstest.MapFS{"a.yaml": file(fmt.Sprintf(half, "a")), "b.yaml": file(fmt.Sprintf(half, "b")), "c.yaml": file(fmt.Sprintf(half, "c"))},
			want:   []string{"c.yaml: the files read reach 2.5 KiB, over the 2 KiB limit for the whole tree"},
			unread: []string{"c.yaml"},
		},
		{
			name: "files over the file count limit",
			fsys: fstest.MapFS{"a.yaml": file(configMaps(1, "a")), "b.yaml": file(configMaps(1, "b")), "c.yaml": file(configMaps(1, "c")),
				"d.yaml": file(configMaps(1, "d")), "e.yaml": file(configMaps(1, "e"))},
			want:   []string{"d.yaml: file 4 of the tree, over the 3 file limit"},
			unread: []string{"d.yaml", "e.yaml"},
		},
		{
			name:   "ledger over the file limit",
			fsys:   fstest.MapFS{"a.yaml": file(configMaps(1, "a")), ".ebb/default/hello.yaml": file(ledger)},
			want:   []string{".ebb/default/hello.yaml: 2.5 KiB, over the 1 KiB file limit"},
			unread: []string{".ebb/default/hello.yaml"},
		},
		{
			name:   "kustomize copies no file over the file limit",
			fsys:   kust(fstest.MapFS{"key.pem": file(strings.Repeat("k", 2<<10))}),
			want:   []string{"key.pem: 2 KiB, over the 1 KiB file limit"},
			unread: []string{"key.pem"},
		},
		{
			name: "kustomize objects over the object limit",
			fsys: kust(fstest.MapFS{"key.pem": file("k"), "a.yaml": file(configMaps(5, "a"))}),
			want: []string{"a.yaml:22: object 5, over the 4 object limit"},
		},
		{
			name: "kustomize object over the document limit",
			fsys: kust(fstest.MapFS{"key.pem": file(strings.Repeat("k", 300))}),
			want: []string{"kustomization.yaml:1: document of 399 B, over the 200 B document limit"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opened []string
			c := &Cache{Limits: small}
			if tt.lim != nil {
				c.Limits = *tt.lim
			}
			_, err := c.Load(openFS{MapFS: tt.fsys, opened: &opened})
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Load error = %v, want an ErrorList", err)
			}
			if diff := cmp.Diff(tt.want, strings.Split(list.Error(), "\n")); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			for _, name := range tt.unread {
				if slices.Contains(opened, name) {
					t.Errorf("%s was opened; files read: %v", name, opened)
				}
			}
			// Within the default limits the same tree loads.
			if _, err := Load(tt.fsys); err != nil {
				t.Errorf("Load with the default limits: %v", err)
			}
		})
	}
}

func TestReadFileStopsAtTheLimit(t *testing.T) {
	// A file that grew after it was measured is not read past the limit.
	fsys := fstest.MapFS{"a.yaml": file(strings.Repeat("a", 100))}
	if _, err := readFile(fsys, "a.yaml", 99); err == nil || err.Error() != "more than 99 B, over the 99 B file limit" {
		t.Errorf("readFile over the limit = %v", err)
	}
	if b, err := readFile(fsys, "a.yaml", 100); err != nil || len(b) != 100 {
		t.Errorf("readFile at the limit = %d bytes, %v", len(b), err)
	}
}

func TestDocumentLines(t *testing.T) {
	tests := []struct {
		data  string
		lines []int
		sizes []int64
	}{
		{"a: 1\n", []int{1}, []int64{5}},
		{"---\na: 1\n---\nb: 22\n", []int{2, 4}, []int64{5, 6}},
		{"a: |\n  ---x\n  --- y\n---\n", []int{1}, []int64{20}},
		{"a: 1\n...\n---\nb: 2", []int{1, 4}, []int64{5, 4}},
		{"----\n---\t\n", []int{1}, []int64{5}},
	}
	for _, tt := range tests {
		lines, sizes := documentLines([]byte(tt.data))
		if diff := cmp.Diff([]any{tt.lines, tt.sizes}, []any{lines, sizes}); diff != "" {
			t.Errorf("documentLines(%q) (-want +got):\n%s", tt.data, diff)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{900: "900 B", 1024: "1 KiB", 3 << 19: "1.5 MiB", 4 << 20: "4 MiB", 54 << 20: "54 MiB", 54<<20 + 100: "54.0 MiB", 56700000: "54.1 MiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestLimitsFlag(t *testing.T) {
	tests := []struct {
		spec string
		want Limits
		err  string
	}{
		{spec: "file=8Mi", want: Limits{FileBytes: 8 << 20}},
		{spec: "document=1.5Mi, objects=20k,tree=128Mi,files=500", want: Limits{DocumentBytes: 3 << 19, Objects: 20000, TreeBytes: 128 << 20, Files: 500}},
		{spec: "file=4194304", want: Limits{FileBytes: 4 << 20}},
		{spec: "file", err: `limit "file": want key=value`},
		{spec: "size=1Mi", err: `limit "size": want file, document, tree, objects or files`},
		{spec: "tree=lots", err: "limit tree=lots: want a positive size or count (4Mi, 10000)"},
		{spec: "objects=0", err: "limit objects=0: want a positive size or count (4Mi, 10000)"},
	}
	for _, tt := range tests {
		var got Limits
		err := got.Set(tt.spec)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("Set(%q) = %v, want %s", tt.spec, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Set(%q): %v", tt.spec, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Set(%q) (-want +got):\n%s", tt.spec, diff)
		}
	}
	if got, want := (Limits{}).String(), "file=4Mi,document=1536Ki,objects=10k,tree=64Mi,files=10k"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	var back Limits
	if err := back.Set(DefaultLimits.String()); err != nil || back != DefaultLimits {
		t.Errorf("Set(String()) = %+v, %v; want %+v", back, err, DefaultLimits)
	}
}
