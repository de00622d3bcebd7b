package git

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ebb-dev/ebb/internal/gittest"
)

// b8Repo makes a bare repository of dirs×perDir service files served over
// smart HTTP, and a clone that pushes the new commits.
func b8Repo(b *testing.B, dirs, perDir int) (srv *gittest.HTTPServer, pusher *gittest.Client) {
	root := b.TempDir()
	files := map[string]string{}
	for d := range dirs {
		for f := range perDir {
			files[fmt.Sprintf("apps/team-%02d/svc-%04d.yaml", d, f)] = fmt.Sprintf(
				"apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: svc-%04d\n  namespace: team-%02d\nspec:\n  template:\n    spec:\n      containers:\n      - image: registry.example.com/team-%02d/svc-%04d:v1\n", f, d, d, f)
		}
	}
	gittest.NewBare(b, root, "repo.git", files)
	srv = gittest.NewHTTPServer(b, root, gittest.HTTPOptions{})
	pusher = gittest.Clone(b, "file://"+filepath.Join(root, "repo.git"), "Other User")
	return srv, pusher
}

// pushChange commits a change to one file and pushes it.
func pushChange(b *testing.B, c *gittest.Client, i int) {
	b.Helper()
	p := filepath.Join(c.Dir, "apps", "team-07", "svc-0042.yaml")
	if err := os.WriteFile(p, fmt.Appendf(nil, "# change %d\n", i), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, args := range [][]string{{"commit", "-q", "-am", fmt.Sprint("change ", i)}, {"push", "-q", "origin", "HEAD:main"}} {
		if _, err := c.Git(args...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkB8 measures one new commit on a 4 000-file repository arriving
// as an in-memory Commit, against `git fetch` of the same change in a
// clone, both over smart HTTP on loopback; and an unchanged head.
//
//	go test -run '^$' -bench B8 -benchtime 40x -count 3 ./sync/git
func BenchmarkB8(b *testing.B) {
	gittest.GitPath(b)
	ctx := context.Background()
	newSource := func(b *testing.B, srv *gittest.HTTPServer) *Source {
		s, err := New(Config{URL: srv.RepoURL("repo.git"), Ref: Ref{Branch: "main"}, CacheDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.Fetch(ctx); err != nil {
			b.Fatal(err)
		}
		return s
	}
	cliClone := func(b *testing.B, srv *gittest.HTTPServer, depth bool) *gittest.Client {
		args := []string{"clone", "-q", srv.RepoURL("repo.git"), "."}
		if depth {
			args = []string{"clone", "-q", "--depth", "1", srv.RepoURL("repo.git"), "."}
		}
		c := &gittest.Client{Dir: b.TempDir()}
		if _, err := gittest.RunErr(c.Dir, gittest.Env("b", "b@example.com"), args...); err != nil {
			b.Fatal(err)
		}
		return c
	}
	cliFetch := func(b *testing.B, dir string, depth bool) {
		args := []string{"fetch", "-q", "origin", "main"}
		if depth {
			args = []string{"fetch", "-q", "--depth", "1", "origin", "main"}
		}
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, gittest.Env("b", "b@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git fetch: %v: %s", err, out)
		}
	}

	b.Run("new-commit/ebb", func(b *testing.B) {
		srv, pusher := b8Repo(b, 40, 100)
		s := newSource(b, srv)
		objects := s.Status().Counters.ObjectsRead
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			pushChange(b, pusher, i)
			b.StartTimer()
			if _, changed, err := s.Fetch(ctx); err != nil || !changed {
				b.Fatalf("Fetch: changed %v, %v", changed, err)
			}
		}
		b.ReportMetric(float64(s.Status().Counters.ObjectsRead-objects)/float64(b.N), "objects/op")
	})
	for _, depth := range []bool{false, true} {
		name := "new-commit/git-fetch"
		if depth {
			name += "-depth1"
		}
		b.Run(name, func(b *testing.B) {
			srv, pusher := b8Repo(b, 40, 100)
			c := cliClone(b, srv, depth)
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				pushChange(b, pusher, i)
				b.StartTimer()
				cliFetch(b, c.Dir, depth)
			}
		})
	}
	b.Run("unchanged/ebb", func(b *testing.B) {
		srv, _ := b8Repo(b, 40, 100)
		s := newSource(b, srv)
		packs := srv.UploadPacks()
		b.ResetTimer()
		for range b.N {
			if _, changed, err := s.Fetch(ctx); err != nil || changed {
				b.Fatalf("Fetch: changed %v, %v", changed, err)
			}
		}
		b.ReportMetric(float64(srv.UploadPacks()-packs)/float64(b.N), "upload-packs/op")
	})
	b.Run("unchanged/git-fetch", func(b *testing.B) {
		srv, _ := b8Repo(b, 40, 100)
		c := cliClone(b, srv, false)
		b.ResetTimer()
		for range b.N {
			cliFetch(b, c.Dir, false)
		}
	})
	b.Run("clone/ebb", func(b *testing.B) {
		srv, _ := b8Repo(b, 40, 100)
		for range b.N {
			newSource(b, srv)
		}
	})
	b.Run("clone/git-clone", func(b *testing.B) {
		srv, _ := b8Repo(b, 40, 100)
		for range b.N {
			cliClone(b, srv, false)
		}
	})
}
