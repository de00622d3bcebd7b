package engine

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/internal/gittest"
	"github.com/ebb-dev/ebb/serving"
)

func TestPreviewTag(t *testing.T) {
	for ref, want := range map[string]string{
		"refs/pull/12/head":                             "pr-12",
		"refs/merge-requests/7/head":                    "pr-7",
		"refs/heads/preview/Login-Form":                 "preview-login-form",
		"refs/heads/preview/a__b":                       "preview-a-b",
		"refs/heads/preview/" + strings.Repeat("x", 40): "preview-" + strings.Repeat("x", 22),
	} {
		if got := PreviewTag(ref); got != want {
			t.Errorf("PreviewTag(%q) = %q, want %q", ref, got, want)
		}
	}
}

// previewFixture is a loop with previews of refs/heads/preview/* over a
// real git server.
func previewLoop(t *testing.T, f *loopFixture) {
	t.Helper()
	f.loop.Previews = &Previews{
		Patterns: []string{"refs/heads/preview/*", "refs/pull/*/head"},
		List:     func(ctx context.Context) (map[string]string, error) { return ListRefs(ctx, f.url, git.Auth{}) },
		Open: func(ref, hash string) (Fetcher, error) {
			return OpenPreview(git.Config{URL: f.url}, ref, hash)
		},
		TTL: 24 * time.Hour,
	}
}

func TestLoopPreviews(t *testing.T) {
	f := newLoopFixture(t, false)
	now := time.Now()
	previewLoop(t, f)
	ctx := context.Background()
	if p := f.loop.SyncAt(ctx, now); p.Err != nil {
		t.Fatal(p.Err)
	}
	mainHead := gittest.Run(t, f.bare, "rev-parse", "main")
	mainLedger := gittest.Run(t, f.bare, "show", "main:.ebb/default/hello.yaml")

	f.pull(t)
	if out, err := f.user.Git("checkout", "-q", "-b", "preview/login"); err != nil {
		t.Fatal(err, out)
	}
	f.user.Commit(t, map[string]string{"service.yaml": helloService("Preview", "")}, "try a new greeting")
	if out, err := f.user.Git("push", "-q", "origin", "preview/login"); err != nil {
		t.Fatal(err, out)
	}
	p := f.loop.SyncAt(ctx, now)
	if p.Err != nil || p.Wrote != "" {
		t.Fatalf("preview pass = %+v", p)
	}
	want := []PreviewStatus{{Ref: "refs/heads/preview/login", Tag: "preview-login", Commit: gittest.Run(t, f.bare, "rev-parse", "preview/login"), Services: []string{"default/hello"}}}
	if diff := cmp.Diff(want, p.Previews); diff != "" {
		t.Errorf("previews (-want +got):\n%s", diff)
	}
	d := f.target.last(t)
	l := d.Ledgers[0]
	var rev *serving.Revision
	for i := range l.Revisions {
		if strings.HasPrefix(l.Revisions[i].Name, "hello-preview-login-") {
			rev = &l.Revisions[i]
		}
	}
	if rev == nil {
		t.Fatalf("no preview revision in %+v", l.Revisions)
	}
	if got := rev.Template.Spec.Containers[0].Env[0].Value; got != "Preview" {
		t.Errorf("preview revision runs TARGET=%s", got)
	}
	if got, want := formatTraffic(l), "hello-00001 at 100%, "+rev.Name+" at 0% (tag preview-login)"; got != want {
		t.Errorf("traffic %q, want %q", got, want)
	}
	st := Status(d, func(string, string) (RevisionHealth, bool) { return RevisionHealth{}, false })
	if len(st) != 1 || len(st[0].Tags) != 1 || st[0].Tags[0].URL != "http://preview-login-hello.default.svc.cluster.local" {
		t.Errorf("status tags = %+v", st)
	}
	if got := gittest.Run(t, f.bare, "rev-parse", "main"); got != mainHead {
		t.Error("a preview moved the main branch")
	}
	if got := gittest.Run(t, f.bare, "show", "main:.ebb/default/hello.yaml"); got != mainLedger {
		t.Error("a preview changed the ledger")
	}

	// Deleting the branch removes the preview.
	if out, err := f.user.Git("push", "-q", "origin", "--delete", "preview/login"); err != nil {
		t.Fatal(err, out)
	}
	if p := f.loop.SyncAt(ctx, now); p.Err != nil || len(p.Previews) != 0 {
		t.Fatalf("after delete: %+v", p)
	}
	if got := f.target.last(t).Ledgers[0]; len(got.Revisions) != 1 || formatTraffic(got) != "hello-00001 at 100% (latestRevision)" {
		t.Errorf("after delete: %s %+v", formatTraffic(got), got.Revisions)
	}

	// A preview past its TTL goes away too.
	if out, err := f.user.Git("push", "-q", "origin", "preview/login"); err != nil {
		t.Fatal(err, out)
	}
	if p := f.loop.SyncAt(ctx, now); len(p.Previews) != 1 {
		t.Fatalf("pushed again: %+v", p)
	}
	now = now.Add(25 * time.Hour)
	if p := f.loop.SyncAt(ctx, now); p.Err != nil || len(p.Previews) != 0 {
		t.Fatalf("after the TTL: %+v", p)
	}
	if probs := f.loop.Previews.Problems(); len(probs) != 1 || !strings.Contains(probs[0].Error, "expired") {
		t.Errorf("problems = %+v", probs)
	}
}

// commitOf is an in-memory commit holding files.
func commitOf(hash string, files map[string]string) git.Commit {
	m := fstest.MapFS{}
	for name, body := range files {
		m[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return git.Commit{Hash: hash, Time: time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC), Files: m}
}

func TestComposeTwoPreviewsOfOneService(t *testing.T) {
	l := &Loop{}
	main, _, _, err := l.pipe.plan(commitOf("main", map[string]string{"service.yaml": helloService("World", "")}).Files, serving.Stamp{Commit: "main"}, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := commitOf("c3", map[string]string{"service.yaml": "kind: [\n"})
	d, sts := Compose(main, []Preview{
		{Ref: "refs/pull/1/head", Tag: "pr-1", Commit: commitOf("c1", map[string]string{"service.yaml": helloService("One", "")})},
		{Ref: "refs/pull/2/head", Tag: "pr-2", Commit: commitOf("c2", map[string]string{"service.yaml": helloService("Two", "")})},
		{Ref: "refs/pull/3/head", Tag: "pr-3", Commit: bad},
		{Ref: "refs/pull/4/head", Tag: "pr-4", Commit: commitOf("c4", map[string]string{"service.yaml": helloService("World", ""), "README.md": "docs"})},
	}, PreviewPolicy{})
	var got []string
	for _, s := range sts {
		got = append(got, s.Tag+":"+strings.Join(s.Services, ",")+":"+strings.SplitN(s.Error, ":", 2)[0])
	}
	if diff := cmp.Diff([]string{"pr-1:default/hello:", "pr-2:default/hello:", "pr-3::service.yaml", "pr-4::"}, got); diff != "" {
		t.Errorf("preview statuses (-want +got):\n%s", diff)
	}
	led := d.Ledgers[0]
	var revs []string
	for _, r := range led.Revisions {
		revs = append(revs, r.Name[:min(len(r.Name), len("hello-pr-1"))]+"="+r.Template.Spec.Containers[0].Env[0].Value)
	}
	if diff := cmp.Diff([]string{"hello-0000=World", "hello-pr-1=One", "hello-pr-2=Two"}, revs); diff != "" {
		t.Errorf("revisions (-want +got):\n%s", diff)
	}
	if tr := formatTraffic(led); !strings.HasPrefix(tr, "hello-00001 at 100%, hello-pr-1-") || !strings.Contains(tr, "at 0% (tag pr-1), hello-pr-2-") || !strings.HasSuffix(tr, "at 0% (tag pr-2)") {
		t.Errorf("traffic %q", tr)
	}
	// main itself is untouched.
	if tr := formatTraffic(main.Ledgers[0]); tr != "hello-00001 at 100% (latestRevision)" || len(main.Ledgers[0].Revisions) != 1 {
		t.Errorf("main changed: %s", tr)
	}
	if len(d.Objects) <= len(main.Objects) {
		t.Errorf("composed state renders %d objects, main %d", len(d.Objects), len(main.Objects))
	}
}
