package git

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

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
// as an in-memory Commit, against `git fetch` of the same commit into a
// clone, both over smart HTTP on loopback. Each iteration pushes one
// commit, then runs both fetches, alternating which goes first; the
// medians and their ratio are reported. "unchanged" does the same with no
// new commit and counts upload-pack requests (0: nothing is re-cloned or
// re-read). "clone" is the cold start against `git clone --bare`.
//
//	go test -run '^$' -bench B8 -benchtime 40x ./engine/git
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
	cliClone := func(b *testing.B, srv *gittest.HTTPServer) string {
		dir := b.TempDir()
		if _, err := gittest.RunErr(dir, gittest.Env("b", "b@example.com"), "clone", "-q", srv.RepoURL("repo.git"), "."); err != nil {
			b.Fatal(err)
		}
		return dir
	}
	cliFetch := func(b *testing.B, dir string) {
		cmd := exec.Command("git", "fetch", "-q", "origin", "main")
		cmd.Dir, cmd.Env = dir, gittest.Env("b", "b@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git fetch: %v: %s", err, out)
		}
	}
	// pair times ebb and git on the same state, alternating the order.
	pair := func(b *testing.B, prepare func(i int), ebb, git func()) {
		var ebbT, gitT []time.Duration
		timed := func(f func(), into *[]time.Duration) {
			start := time.Now()
			f()
			*into = append(*into, time.Since(start))
		}
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			prepare(i)
			b.StartTimer()
			if i%2 == 0 {
				timed(ebb, &ebbT)
				timed(git, &gitT)
			} else {
				timed(git, &gitT)
				timed(ebb, &ebbT)
			}
		}
		e, g := median(ebbT), median(gitT)
		b.ReportMetric(float64(e.Microseconds())/1000, "ebb-ms")
		b.ReportMetric(float64(g.Microseconds())/1000, "git-ms")
		b.ReportMetric(float64(e)/float64(g), "ebb/git")
	}

	b.Run("new-commit", func(b *testing.B) {
		srv, pusher := b8Repo(b, 40, 100)
		s := newSource(b, srv)
		clone := cliClone(b, srv)
		objects := s.Status().Counters.ObjectsRead
		var ebbBytes, gitBytes int64
		pair(b, func(i int) { pushChange(b, pusher, i) }, func() {
			before := srv.UploadPackBytes()
			if _, changed, err := s.Fetch(ctx); err != nil || !changed {
				b.Fatalf("Fetch: changed %v, %v", changed, err)
			}
			ebbBytes += srv.UploadPackBytes() - before
		}, func() {
			before := srv.UploadPackBytes()
			cliFetch(b, clone)
			gitBytes += srv.UploadPackBytes() - before
		})
		b.ReportMetric(float64(s.Status().Counters.ObjectsRead-objects)/float64(b.N), "objects/op")
		b.ReportMetric(float64(ebbBytes)/float64(b.N), "ebb-pack-B/op")
		b.ReportMetric(float64(gitBytes)/float64(b.N), "git-pack-B/op")
	})
	b.Run("unchanged", func(b *testing.B) {
		srv, _ := b8Repo(b, 40, 100)
		s := newSource(b, srv)
		clone := cliClone(b, srv)
		packs, objects := srv.UploadPacks(), s.Status().Counters.ObjectsRead
		var gitPacks int64
		pair(b, func(int) {}, func() {
			if _, changed, err := s.Fetch(ctx); err != nil || changed {
				b.Fatalf("Fetch: changed %v, %v", changed, err)
			}
		}, func() {
			before := srv.UploadPacks()
			cliFetch(b, clone)
			gitPacks += srv.UploadPacks() - before
		})
		b.ReportMetric(float64(srv.UploadPacks()-packs-gitPacks)/float64(b.N), "ebb-upload-packs/op")
		b.ReportMetric(float64(s.Status().Counters.ObjectsRead-objects)/float64(b.N), "objects/op")
	})
	b.Run("clone", func(b *testing.B) {
		srv, _ := b8Repo(b, 40, 100)
		pair(b, func(int) {}, func() { newSource(b, srv) }, func() {
			if _, err := gittest.RunErr(b.TempDir(), gittest.Env("b", "b@example.com"), "clone", "-q", "--bare", srv.RepoURL("repo.git"), "."); err != nil {
				b.Fatal(err)
			}
		})
	})
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
