package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestCheckout(t *testing.T) {
	dir := t.TempDir()
	if err := checkout(fstest.MapFS{"a.yaml": {Data: []byte("a")}, "app/main.go": {Data: []byte("package main")}}, dir); err != nil {
		t.Fatal(err)
	}
	if err := checkout(fstest.MapFS{"a.yaml": {Data: []byte("a2")}, "b/c.yaml": {Data: []byte("c")}}, dir); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			got[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	if diff := cmp.Diff(map[string]string{"a.yaml": "a2", "b/c.yaml": "c"}, got); diff != "" {
		t.Errorf("checkout (-want +got):\n%s", diff)
	}

	// Content of the same size is compared, a block at a time; an
	// unchanged file is left as it is.
	big := strings.Repeat("0123456789", 10<<10)
	if err := checkout(fstest.MapFS{"a.yaml": {Data: []byte("a3")}, "b/c.yaml": {Data: []byte("c")}, "big": {Data: []byte(big)}}, dir); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(filepath.Join(dir, "big"))
	changed := big[:len(big)-1] + "x"
	for _, files := range []map[string]string{{"a.yaml": "a3", "big": big}, {"a.yaml": "b3", "big": changed}} {
		fsys := fstest.MapFS{}
		for name, content := range files {
			fsys[name] = &fstest.MapFile{Data: []byte(content)}
		}
		if err := checkout(fsys, dir); err != nil {
			t.Fatal(err)
		}
		for name, content := range files {
			if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != content {
				t.Errorf("%s after checkout: %d bytes, %v", name, len(b), err)
			}
		}
		after, _ := os.Stat(filepath.Join(dir, "big"))
		if same := os.SameFile(before, after); same != (files["big"] == big) {
			t.Errorf("big rewritten: %v, its content changed: %v", !same, files["big"] != big)
		}
	}
}
