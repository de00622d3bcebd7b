package git

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebb-dev/ebb/internal/gittest"
)

// TestCacheRepairedOnOpen: a cache an interrupted run left broken is
// repaired (leftovers removed) or cloned afresh when a source opens it,
// with a log line; either way the source fetches the same commit again.
func TestCacheRepairedOnOpen(t *testing.T) {
	pack := func(t *testing.T, cache, ext string) string {
		t.Helper()
		m, _ := filepath.Glob(filepath.Join(cache, "objects", "pack", "pack-*."+ext))
		if len(m) != 1 {
			t.Fatalf("packs %v", m)
		}
		return m[0]
	}
	write := func(t *testing.T, p, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		mangle func(t *testing.T, cache string)
		want   string // in the log
	}{
		{"stale locks", func(t *testing.T, cache string) {
			write(t, filepath.Join(cache, "refs", "heads", "main.lock"), "")
			write(t, filepath.Join(cache, "packed-refs.lock"), "")
		}, "removed a leftover of an interrupted write"},
		{"half-written objects", func(t *testing.T, cache string) {
			write(t, filepath.Join(cache, "objects", "pack", "tmp_obj_123"), "x")
			write(t, filepath.Join(cache, "objects", "pack", "tmp_pack_456"), "PACK")
		}, "removed a leftover of an interrupted write"},
		{"an index without its pack", func(t *testing.T, cache string) {
			write(t, filepath.Join(cache, "objects", "pack", "pack-"+strings.Repeat("ab", 20)+".idx"), "half")
		}, "removed a leftover of an interrupted write"},
		{"a pack cut short", func(t *testing.T, cache string) {
			p := pack(t, cache, "pack")
			fi, _ := os.Stat(p)
			if err := os.Truncate(p, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}, "pack cut short"},
		{"a pack index cut short", func(t *testing.T, cache string) {
			if err := os.Truncate(pack(t, cache, "idx"), 100); err != nil {
				t.Fatal(err)
			}
		}, "index does not read"},
		{"a ref to a missing commit", func(t *testing.T, cache string) {
			write(t, filepath.Join(cache, "refs", "heads", "main"), strings.Repeat("1", 40)+"\n")
		}, "refs/heads/main names 1111111111111111111111111111111111111111"},
		{"an empty ref", func(t *testing.T, cache string) {
			write(t, filepath.Join(cache, "refs", "heads", "main"), "")
		}, "git cache is broken"},
		{"a shallow list cut short", func(t *testing.T, cache string) {
			write(t, filepath.Join(cache, "shallow"), "0123abc")
		}, `shallow: \"0123abc\" is not a hash`},
		{"an interrupted first clone", func(t *testing.T, cache string) {
			if err := os.Remove(filepath.Join(cache, "HEAD")); err != nil {
				t.Fatal(err)
			}
		}, "no HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			head := gittest.NewBare(t, root, "repo.git", map[string]string{"a.yaml": "a\n"})
			srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{})
			cache := t.TempDir()
			var logs bytes.Buffer
			cfg := Config{URL: srv.RepoURL("repo.git"), Ref: Ref{Branch: "main"}, CacheDir: cache,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			mustFetch(t, s)
			if logs.Len() != 0 {
				t.Fatalf("a sound cache was repaired:\n%s", logs.String())
			}
			tt.mangle(t, cache)

			s, err = New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			c, _ := mustFetch(t, s)
			if c.Hash != head || readAll(t, c.Files)["a.yaml"] != "a\n" {
				t.Errorf("fetch after the repair: %s %v", c.Hash, readAll(t, c.Files))
			}
			if !strings.Contains(logs.String(), tt.want) {
				t.Errorf("log lacks %q:\n%s", tt.want, logs.String())
			}
			logs.Reset()
			if _, err := New(cfg); err != nil || logs.Len() != 0 {
				t.Errorf("the repaired cache: %v\n%s", err, logs.String())
			}
		})
	}
}
