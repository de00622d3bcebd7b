package engine

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/serving"
)

const configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n"

// linkedDir makes a directory with files and symbolic links (name →
// target), next to a directory "outside" holding secret.pem.
func linkedDir(t *testing.T, files, links map[string]string) string {
	t.Helper()
	top := t.TempDir()
	write(t, top, "outside/secret.pem", "PRIVATE KEY\n")
	dir := filepath.Join(top, "repo")
	for name, content := range files {
		write(t, dir, name, content)
	}
	for name, target := range links {
		target = strings.ReplaceAll(target, "$TOP", top)
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestOpenDirStaysInside(t *testing.T) {
	dir := linkedDir(t, map[string]string{"a.yaml": "a\n", "apps/b.yaml": "b\n"}, map[string]string{
		"in.yaml":       "a.yaml",
		"apps/up.yaml":  "../a.yaml",
		"abs.yaml":      "$TOP/outside/secret.pem",
		"rel.yaml":      "../outside/secret.pem",
		"linked":        "../outside",
		"apps/far.yaml": "../../outside/secret.pem",
		"gone.yaml":     "$TOP/outside/missing.pem",
	})
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for name, want := range map[string]string{
		"a.yaml": "a\n", "in.yaml": "a\n", "apps/up.yaml": "a\n",
		"abs.yaml": "", "rel.yaml": "", "linked/secret.pem": "", "apps/far.yaml": "",
	} {
		b, err := fs.ReadFile(d, name)
		_, serr := fs.Stat(d, name)
		switch {
		case want != "" && (err != nil || string(b) != want || serr != nil):
			t.Errorf("%s: read %q, %v; stat %v", name, b, err, serr)
		case want == "" && (!errors.Is(err, ErrOutsideDir) || !errors.Is(serr, ErrOutsideDir)):
			t.Errorf("%s: read %q, %v; stat %v; want %v", name, b, err, serr, ErrOutsideDir)
		}
	}
	if _, err := fs.ReadFile(d, "gone.yaml"); err == nil {
		t.Error("a link to a missing file outside was read")
	}
}

// ebb up DIR loads a repository through OpenDir: a link out of it is an
// error naming the file, in a plain tree and under kustomize alike.
func TestLoadDirRefusesLinksOut(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		links map[string]string
		want  []string
	}{
		{
			name:  "plain tree",
			files: map[string]string{"a.yaml": strings.Replace(configMap, "%s", "a", 1)},
			links: map[string]string{"in.yaml": "a.yaml", "key.yaml": "$TOP/outside/secret.pem", "apps/rel.yaml": "../../outside/secret.pem"},
			want: []string{
				"apps/rel.yaml: a symbolic link leads outside the directory",
				"in.yaml:4: metadata.name: ConfigMap a is defined twice (first at a.yaml:1)",
				"key.yaml: a symbolic link leads outside the directory",
			},
		},
		{
			name: "kustomize generator",
			files: map[string]string{
				"kustomization.yaml": "resources:\n  - a.yaml\nconfigMapGenerator:\n  - name: keys\n    files:\n      - key.pem\n",
				"a.yaml":             strings.Replace(configMap, "%s", "a", 1) + "  namespace: default\n",
			},
			links: map[string]string{"key.pem": "../outside/secret.pem"},
			want:  []string{"key.pem: a symbolic link leads outside the directory"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := OpenDir(linkedDir(t, tt.files, tt.links))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			_, err = serving.Load(d)
			var list serving.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Load = %v, want an ErrorList", err)
			}
			if diff := cmp.Diff(tt.want, strings.Split(list.Error(), "\n")); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if strings.Contains(list.Error(), "PRIVATE KEY") {
				t.Error("the key outside was read")
			}
		})
	}
}

// Ledgers are written inside the directory only: a .ebb that links out
// of it is refused, not written through.
func TestDirWriterStaysInside(t *testing.T) {
	dir := t.TempDir()
	w := DirWriter{Dir: dir}
	for i, want := range [][]string{{".ebb/default/hello.yaml"}, nil} {
		paths, err := w.Store([]*serving.Ledger{testLedger("hello", 1)}, nil)
		if err != nil || !cmp.Equal(want, paths) {
			t.Errorf("store %d: %v, %v; want %v", i, paths, err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, ".ebb/default/hello.yaml")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("ledger file: %v, %v", fi, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, ".ebb/default")); len(entries) != 1 {
		t.Errorf("files left in .ebb/default: %v", entries)
	}
	if paths, err := w.Store(nil, []*serving.Ledger{testLedger("hello", 1)}); err != nil || len(paths) != 1 {
		t.Errorf("delete: %v, %v", paths, err)
	}

	linked := linkedDir(t, map[string]string{"a.yaml": "a\n"}, map[string]string{".ebb": "../outside"})
	if _, err := (DirWriter{Dir: linked}).Store([]*serving.Ledger{testLedger("hello", 1)}, nil); err == nil {
		t.Error("a ledger was written through a link out of the directory")
	}
	if _, err := os.Stat(filepath.Join(linked, "../outside/default/hello.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a ledger outside the directory: %v", err)
	}
}
