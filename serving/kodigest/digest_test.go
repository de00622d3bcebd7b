package kodigest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"
)

const image = "ko://example.com/app/cmd/app"

// appTree is a module with a command that imports a package of its own,
// a module dependency and the standard library, embeds files, and has
// tests, a file only built on Windows, and an unrelated package.
func appTree() fstest.MapFS {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s), Mode: 0o644} }
	return fstest.MapFS{
		"go.mod":     file("module example.com/app\n\ngo 1.22\n\nrequire example.com/dep v1.0.0\n"),
		"go.sum":     file("example.com/dep v1.0.0 h1:aaaa=\nexample.com/dep v1.0.0/go.mod h1:bbbb=\n"),
		"README.md":  file("# app\n"),
		"hello.yaml": file("apiVersion: serving.knative.dev/v1\nkind: Service\n"),
		"cmd/app/main.go": file(`package main

import (
	"embed"
	"fmt"

	"example.com/app/internal/greet"
	"example.com/dep"
)

//go:embed static
var static embed.FS

func main() { fmt.Println(greet.Hello(), dep.X, static) }
`),
		"cmd/app/main_test.go":         file("package main\n\nimport \"testing\"\n\nfunc TestX(t *testing.T) {}\n"),
		"cmd/app/windows.go":           file("//go:build windows\n\npackage main\n\nimport \"example.com/app/internal/win\"\n\nvar _ = win.X\n"),
		"cmd/app/static/index.html":    file("<h1>hello</h1>\n"),
		"cmd/app/static/.hidden":       file("not embedded\n"),
		"internal/greet/greet.go":      file("package greet\n\nfunc Hello() string { return \"hello\" }\n"),
		"internal/greet/greet_test.go": file("package greet\n"),
		"internal/greet/_scratch.go":   file("package greet\n"),
		"internal/win/win.go":          file("package win\n\nconst X = 1\n"),
		"unrelated/unrelated.go":       file("package unrelated\n"),
	}
}

func digest(t *testing.T, fsys fs.FS) string {
	t.Helper()
	var c Cache
	d, err := c.Digest(fsys, image)
	if err != nil {
		t.Fatalf("Digest: %v", err)
	}
	return d
}

// The digest changes with every file the command is built from, and
// with nothing else.
func TestDigestCoversBuildInputs(t *testing.T) {
	base := digest(t, appTree())
	for _, tc := range []struct {
		name    string
		edit    func(fstest.MapFS)
		changes bool
	}{
		{"the command's main.go", set("cmd/app/main.go", "package main\n\nfunc main() {}\n"), true},
		{"a package of the module it imports", set("internal/greet/greet.go", "package greet\n\nfunc Hello() string { return \"hi\" }\n"), true},
		{"a package only a Windows file imports", set("internal/win/win.go", "package win\n\nconst X = 2\n"), true},
		{"a new file with build constraints", set("cmd/app/plan9.go", "//go:build plan9\n\npackage main\n"), true},
		{"an embedded file", set("cmd/app/static/index.html", "<h1>hi</h1>\n"), true},
		{"a new embedded file", set("cmd/app/static/app.js", "x()\n"), true},
		{"go.sum", set("go.sum", "example.com/dep v1.0.1 h1:cccc=\n"), true},
		{"go.mod", set("go.mod", "module example.com/app\n\ngo 1.22\n\nrequire example.com/dep v1.0.1\n"), true},
		{"a test file of the command", set("cmd/app/main_test.go", "package main\n\n// changed\n"), false},
		{"a test file of a dependency", set("internal/greet/greet_test.go", "package greet\n\n// changed\n"), false},
		{"a file the go command ignores", set("internal/greet/_scratch.go", "package greet\n\n// changed\n"), false},
		{"a hidden file the embed pattern skips", set("cmd/app/static/.hidden", "changed\n"), false},
		{"a package nothing imports", set("unrelated/unrelated.go", "package unrelated\n\n// changed\n"), false},
		{"a new package nothing imports", set("tools/gen/main.go", "package main\n"), false},
		{"the README and the Service", func(m fstest.MapFS) {
			set("README.md", "# changed\n")(m)
			set("hello.yaml", "# changed\n")(m)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree := appTree()
			tc.edit(tree)
			got := digest(t, tree) != base
			if got != tc.changes {
				t.Errorf("digest changed = %v, want %v", got, tc.changes)
			}
		})
	}
}

func set(name, body string) func(fstest.MapFS) {
	return func(m fstest.MapFS) { m[name] = &fstest.MapFile{Data: []byte(body), Mode: 0o644} }
}

// The digest is the same wherever the module is checked out, and however
// it is read.
func TestDigestIndependentOfCheckout(t *testing.T) {
	want := digest(t, appTree())
	for _, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "elsewhere", "deeper")} {
		for name, f := range appTree() {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got := digest(t, os.DirFS(dir)); got != want {
			t.Errorf("checked out in %s: digest %s, want %s (of the same files in memory)", dir, got, want)
		}
	}
}

// An image no module of the tree provides has no digest.
func TestDigestNoModule(t *testing.T) {
	noMod := appTree()
	delete(noMod, "go.mod")
	for _, tc := range []struct {
		name  string
		fsys  fs.FS
		image string
	}{
		{"no go.mod", noMod, image},
		{"another module's path", appTree(), "ko://example.org/other/cmd"},
		{"no package at the path", appTree(), "ko://example.com/app/cmd/missing"},
		{"a directory without Go files", appTree(), "ko://example.com/app/cmd/app/static"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Cache
			d, err := c.Digest(tc.fsys, tc.image)
			if !errors.Is(err, ErrNoModule) {
				t.Errorf("Digest = %q, %v; want an error wrapping ErrNoModule", d, err)
			}
		})
	}
}

// In a workspace, and through a replace by a directory of the tree, a
// package of another module counts file by file.
func TestDigestWorkspaceAndReplace(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layout map[string]string
	}{
		{"go.work", map[string]string{
			"go.work":     "go 1.22\n\nuse (\n\t./app\n\t./lib\n)\n",
			"app/go.mod":  "module example.com/app\n\ngo 1.22\n",
			"app/main.go": "package main\n\nimport \"example.com/lib\"\n\nfunc main() { println(lib.X) }\n",
		}},
		{"replace", map[string]string{
			"go.mod":  "module example.com/app\n\ngo 1.22\n\nrequire example.com/lib v0.0.0\n\nreplace example.com/lib => ./lib\n",
			"main.go": "package main\n\nimport \"example.com/lib\"\n\nfunc main() { println(lib.X) }\n",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree := fstest.MapFS{}
			for name, body := range tc.layout {
				set(name, body)(tree)
			}
			set("lib/go.mod", "module example.com/lib\n\ngo 1.22\n")(tree)
			set("lib/lib.go", "package lib\n\nconst X = 1\n")(tree)
			var c Cache
			before, err := c.Digest(tree, "ko://example.com/app")
			if err != nil {
				t.Fatal(err)
			}
			set("lib/lib.go", "package lib\n\nconst X = 2\n")(tree)
			after, err := c.Digest(tree, "ko://example.com/app")
			if err != nil {
				t.Fatal(err)
			}
			if before == after {
				t.Error("a change of the other module's package left the digest as it was")
			}
		})
	}
}

// A tree that names its files' contents (a Git tree) is read once: an
// unchanged tree digested again reads no file, and a changed one reads
// the changed file alone (to hash and to parse it).
func TestDigestCacheReadsChangedFilesOnly(t *testing.T) {
	tree := appTree()
	var reads []string
	fsys := idFS{MapFS: tree, reads: &reads}
	var c Cache
	first, err := c.Digest(fsys, image)
	if err != nil {
		t.Fatal(err)
	}
	if len(reads) == 0 {
		t.Fatal("the first digest read no file")
	}
	reads = nil
	if again, err := c.Digest(fsys, image); err != nil || again != first {
		t.Fatalf("again: %s, %v; want %s", again, err, first)
	}
	if len(reads) != 0 {
		t.Errorf("digesting an unchanged tree again read %v, want nothing", reads)
	}
	set("internal/greet/greet.go", "package greet\n\nfunc Hello() string { return \"hi\" }\n")(tree)
	if _, err := c.Digest(fsys, image); err != nil {
		t.Fatal(err)
	}
	if len(reads) == 0 || slices.ContainsFunc(reads, func(r string) bool { return r != "internal/greet/greet.go" }) {
		t.Errorf("after one edit, read %v, want internal/greet/greet.go alone", reads)
	}
}

// idFS names each file's content by the content itself, as a Git tree
// does by its blob hash, and records the files opened.
type idFS struct {
	fstest.MapFS
	reads *[]string
}

func (f idFS) ContentID(name string) (string, bool) {
	file, ok := f.MapFS[name]
	if !ok {
		return "", false
	}
	return "content:" + string(file.Data), true
}

func (f idFS) Open(name string) (fs.File, error) {
	if file, ok := f.MapFS[name]; ok && file.Mode.IsRegular() {
		*f.reads = append(*f.reads, name)
	}
	return f.MapFS.Open(name)
}
