package git

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/internal/gittest"
	"github.com/ebb-dev/ebb/serving"
)

// readAll returns every file of fsys as path → content.
func readAll(t *testing.T, fsys fs.FS) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustFetch(t *testing.T, s *Source) (Commit, bool) {
	t.Helper()
	c, changed, err := s.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c, changed
}

func TestFetchHTTP(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"apps/hello/service.yaml": "kind: Service\n",
		"README.md":               "hello\n",
	}
	first := gittest.NewBare(t, root, "repo.git", files)
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{Username: "u", Password: "p"})
	url := srv.RepoURL("repo.git")
	s, err := New(Config{
		URL: url, Ref: Ref{Branch: "main"}, CacheDir: t.TempDir(),
		Auth: Auth{Username: "u", Password: "p"},
	})
	if err != nil {
		t.Fatal(err)
	}

	c, changed := mustFetch(t, s)
	if !changed || c.Hash != first {
		t.Fatalf("first fetch = %s, %v; want %s, true", c.Hash, changed, first)
	}
	if diff := cmp.Diff(files, readAll(t, c.Files)); diff != "" {
		t.Errorf("files of first commit (-want +got):\n%s", diff)
	}
	if err := fstest.TestFS(c.Files, "apps/hello/service.yaml", "README.md"); err != nil {
		t.Errorf("Commit.Files is not a well-behaved fs.FS: %v", err)
	}
	if c.Author != "Test User <user@example.com>" || c.Message != "initial\n" || c.Time.IsZero() {
		t.Errorf("commit = %q %q %v", c.Author, c.Message, c.Time)
	}

	// Unchanged head: only the reference list is read.
	packs, objects := srv.UploadPacks(), s.Status().Counters.ObjectsRead
	again, changed := mustFetch(t, s)
	if changed || again.Hash != first {
		t.Fatalf("unchanged fetch = %s, %v; want %s, false", again.Hash, changed, first)
	}
	if got := srv.UploadPacks(); got != packs {
		t.Errorf("unchanged head: %d upload-pack requests, want none", got-packs)
	}
	if got := s.Status().Counters.ObjectsRead; got != objects {
		t.Errorf("unchanged head read %d objects, want 0", got-objects)
	}

	// A new commit arrives incrementally; the old Commit stays readable.
	user := gittest.Clone(t, "file://"+filepath.Join(root, "repo.git"), "Other User")
	second := user.CommitAndPush(t, map[string]string{"apps/hello/service.yaml": "kind: Service\nv: 2\n", "README.md": ""}, "second")
	c2, changed := mustFetch(t, s)
	if !changed || c2.Hash != second {
		t.Fatalf("second fetch = %s, %v; want %s, true", c2.Hash, changed, second)
	}
	want2 := map[string]string{"apps/hello/service.yaml": "kind: Service\nv: 2\n"}
	if diff := cmp.Diff(want2, readAll(t, c2.Files)); diff != "" {
		t.Errorf("files of second commit (-want +got):\n%s", diff)
	}
	// Files are named by their blob hashes, unread.
	for _, c := range []Commit{c, c2} {
		cfs, ok := c.Files.(serving.ContentFS)
		if !ok {
			t.Fatalf("Commit.Files is a %T, not a serving.ContentFS", c.Files)
		}
		data, err := fs.ReadFile(c.Files, "apps/hello/service.yaml")
		if err != nil {
			t.Fatal(err)
		}
		want := "git-blob:" + plumbing.ComputeHash(plumbing.BlobObject, data).String()
		if id, ok := cfs.ContentID("apps/hello/service.yaml"); !ok || id != want {
			t.Errorf("ContentID = %q, %v; want %q", id, ok, want)
		}
		if id, ok := cfs.ContentID("apps/hello"); ok {
			t.Errorf("ContentID of a directory = %q", id)
		}
	}
	if diff := cmp.Diff(files, readAll(t, c.Files)); diff != "" {
		t.Errorf("first commit after the next fetch (-want +got):\n%s", diff)
	}
	// Only the changed objects were decoded: root tree, apps/, apps/hello/, one blob.
	if got := s.Status().Counters.ObjectsRead - objects; got != 4 {
		t.Errorf("second commit decoded %d objects, want 4", got)
	}
	st := s.Status()
	if st.Commit != second || st.LastError != "" || st.Counters.Changes != 2 || st.Counters.Unchanged != 1 {
		t.Errorf("status = %+v", st)
	}
	if strings.Contains(st.URL, "p@") {
		t.Errorf("status URL leaks credentials: %s", st.URL)
	}
}

func TestFetchRestartDoesNotReclone(t *testing.T) {
	root := t.TempDir()
	head := gittest.NewBare(t, root, "repo.git", map[string]string{"a.yaml": "a\n"})
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{})
	cache := t.TempDir()
	cfg := Config{URL: srv.RepoURL("repo.git"), Ref: Ref{Branch: "main"}, CacheDir: cache}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustFetch(t, s)
	packs := srv.UploadPacks()

	// A new process on the same cache: the head is read from the cache.
	s2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, changed := mustFetch(t, s2)
	if !changed || c.Hash != head {
		t.Fatalf("fetch after restart = %s, %v; want %s, true", c.Hash, changed, head)
	}
	if got := srv.UploadPacks(); got != packs {
		t.Errorf("restart on a warm cache made %d upload-pack requests, want none", got-packs)
	}
}

func TestFetchAuthFailureHTTP(t *testing.T) {
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"a": "a"})
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{Username: "u", Password: "right"})
	for name, tc := range map[string]struct {
		auth Auth
		hint string
	}{
		"wrong password": {Auth{Username: "u", Password: "wrong"}, "the server refused the http-basic-auth credentials"},
		"none":           {Auth{}, "no credentials are configured"},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := New(Config{URL: srv.RepoURL("repo.git"), Ref: Ref{Branch: "main"}, Auth: tc.auth})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = s.Fetch(context.Background())
			if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), tc.hint) {
				t.Fatalf("Fetch error = %v, want ErrAuth saying %q", err, tc.hint)
			}
			if st := s.Status(); st.LastError != err.Error() || st.Counters.FetchErrors != 1 {
				t.Errorf("status after failure = %+v", st)
			}
		})
	}
}

func TestFetchBearerToken(t *testing.T) {
	root := t.TempDir()
	head := gittest.NewBare(t, root, "repo.git", map[string]string{"a": "a"})
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{Token: "t0ken"})
	for token, wantErr := range map[string]error{"t0ken": nil, "wrong": ErrAuth} {
		s, err := New(Config{URL: srv.RepoURL("repo.git"), Ref: Ref{Branch: "main"}, Auth: Auth{BearerToken: token}})
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := s.Fetch(context.Background())
		if !errors.Is(err, wantErr) || (err == nil && c.Hash != head) {
			t.Errorf("token %q: Fetch = %s, %v; want %s, %v", token, c.Hash, err, head, wantErr)
		}
	}
}

func TestFetchRefs(t *testing.T) {
	root := t.TempDir()
	first := gittest.NewBare(t, root, "repo.git", map[string]string{"a": "1"})
	bare := filepath.Join(root, "repo.git")
	gittest.Run(t, bare, "tag", "-a", "-m", "release", "v1", first)
	gittest.Run(t, bare, "tag", "light", first)
	user := gittest.Clone(t, bare, "Other User")
	second := user.CommitAndPush(t, map[string]string{"a": "2"}, "second")

	for _, tc := range []struct {
		name string
		url  string
		ref  Ref
		want string
	}{
		{"branch", "file://" + bare, Ref{Branch: "main"}, second},
		{"annotated tag", "file://" + bare, Ref{Tag: "v1"}, first},
		{"lightweight tag", bare, Ref{Tag: "light"}, first},
		{"pinned commit", bare, Ref{Commit: first}, first},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Config{URL: tc.url, Ref: tc.ref, CacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			c, changed := mustFetch(t, s)
			if !changed || c.Hash != tc.want {
				t.Fatalf("Fetch = %s, %v; want %s, true", c.Hash, changed, tc.want)
			}
			if _, changed := mustFetch(t, s); changed {
				t.Errorf("second Fetch reported a change")
			}
		})
	}

	s, err := New(Config{URL: bare, Ref: Ref{Branch: "nope"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Fetch(context.Background()); !errors.Is(err, ErrRefNotFound) {
		t.Errorf("missing branch: error = %v, want ErrRefNotFound", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no ref":        {URL: "/tmp/x"},
		"two refs":      {URL: "/tmp/x", Ref: Ref{Branch: "main", Tag: "v1"}},
		"short commit":  {URL: "/tmp/x", Ref: Ref{Commit: "abc123"}},
		"ssh no key":    {URL: "ssh://git@127.0.0.1:1/r", Ref: Ref{Branch: "main"}, Auth: Auth{KnownHosts: []byte("x")}},
		"ssh no hosts":  {URL: "git@127.0.0.1:r", Ref: Ref{Branch: "main"}, Auth: Auth{SSHKey: []byte("x")}},
		"bad scheme":    {URL: "ftp://x/r", Ref: Ref{Branch: "main"}},
		"cache is file": {URL: "/tmp/x", Ref: Ref{Branch: "main"}, CacheDir: "/dev/null/x"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// TestFetchRevertBehindShallowBoundary: the cache starts as a depth-1
// clone, so a later commit that brings back content from before that
// commit needs objects the cache never had; the server must be told the
// cache is shallow and send them.
func TestFetchRevertBehindShallowBoundary(t *testing.T) {
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"a.yaml": "one\n", "dir/b.yaml": "b1\n"})
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{})
	user := gittest.Clone(t, srv.RepoURL("repo.git"), "Other User")
	user.CommitAndPush(t, map[string]string{"a.yaml": "two\n", "dir/b.yaml": "b2\n"}, "two")

	s, err := New(Config{URL: srv.RepoURL("repo.git"), Ref: Ref{Branch: "main"}, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	mustFetch(t, s)
	if _, err := user.Git("revert", "--no-edit", "HEAD"); err != nil {
		t.Fatal(err)
	}
	if err := user.Push(); err != nil {
		t.Fatal(err)
	}
	c, changed := mustFetch(t, s)
	if !changed {
		t.Fatal("revert not seen")
	}
	if diff := cmp.Diff(map[string]string{"a.yaml": "one\n", "dir/b.yaml": "b1\n"}, readAll(t, c.Files)); diff != "" {
		t.Errorf("files after the revert (-want +got):\n%s", diff)
	}
}

func TestFetchCompactsCache(t *testing.T) {
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"a.yaml": "0\n", "keep/b.yaml": "b\n"})
	bare := filepath.Join(root, "repo.git")
	cache := t.TempDir()
	s, err := New(Config{URL: "file://" + bare, Ref: Ref{Branch: "main"}, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	mustFetch(t, s)
	user := gittest.Clone(t, bare, "Other User")
	var last string
	for i := range maxPacks + 3 {
		last = user.CommitAndPush(t, map[string]string{"a.yaml": fmt.Sprintf("%d\n", i+1)}, fmt.Sprint("change ", i+1))
		if c, changed := mustFetch(t, s); !changed || c.Hash != last {
			t.Fatalf("fetch %d = %s, %v; want %s", i, c.Hash, changed, last)
		}
	}
	st := s.Status().Counters
	if st.Compactions != 1 || st.CompactErrors != 0 {
		t.Errorf("compactions = %d, errors = %d; want 1, 0", st.Compactions, st.CompactErrors)
	}
	packs, _ := filepath.Glob(filepath.Join(cache, "objects", "pack", "*.pack"))
	if len(packs) > 4 {
		t.Errorf("%d packs after compaction, want a few", len(packs))
	}
	// The cache is a sound shallow repository and fetching goes on.
	gittest.Run(t, cache, "fsck", "--no-progress", "--connectivity-only")
	last = user.CommitAndPush(t, map[string]string{"a.yaml": "last\n"}, "last")
	c, changed := mustFetch(t, s)
	if !changed || c.Hash != last {
		t.Fatalf("fetch after compaction = %s, %v; want %s", c.Hash, changed, last)
	}
	if diff := cmp.Diff(map[string]string{"a.yaml": "last\n", "keep/b.yaml": "b\n"}, readAll(t, c.Files)); diff != "" {
		t.Errorf("files after compaction (-want +got):\n%s", diff)
	}
	if _, changed := mustFetch(t, s); changed {
		t.Error("unchanged head reported a change after compaction")
	}
}
