package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/engine/forge"
	"github.com/ebb-dev/ebb/internal/gittest"
	"github.com/ebb-dev/ebb/serving"
)

func TestPreviewTrustDecide(t *testing.T) {
	fork := forge.PullRequest{Number: 7, Open: true, Author: "mallory", Labels: []string{"bug"}, HeadRepository: "mallory/serving"}
	for _, tc := range []struct {
		name  string
		trust PreviewTrust
		pr    forge.PullRequest
		want  string // "" when allowed
	}{
		{"same repository", PreviewTrust{}, forge.PullRequest{Number: 1, Open: true, SameRepository: true}, ""},
		{"fork", PreviewTrust{}, fork, "pull request #7 comes from fork mallory/serving: not trusted"},
		{"fork, deleted", PreviewTrust{}, forge.PullRequest{Number: 7, Open: true}, "pull request #7 comes from a fork: not trusted"},
		{"fork, every fork allowed", PreviewTrust{Forks: true}, fork, ""},
		{"fork, trusted author", PreviewTrust{Authors: []string{"Mallory"}}, fork, ""},
		{"fork, other author", PreviewTrust{Authors: []string{"alice"}}, fork, `pull request #7 comes from fork mallory/serving, its author "mallory" is not a trusted author: not trusted`},
		{"fork, trusted label", PreviewTrust{Labels: []string{"ok-to-preview"}}, withLabels(fork, "bug", "ok-to-preview"), ""},
		{"fork, other labels", PreviewTrust{Labels: []string{"ok-to-preview"}}, fork, "pull request #7 comes from fork mallory/serving, and it has none of the labels ok-to-preview: not trusted"},
		{"closed", PreviewTrust{Forks: true}, forge.PullRequest{Number: 3, SameRepository: true}, "pull request #3 is closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if err := tc.trust.Decide(tc.pr); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Decide = %q, want %q", got, tc.want)
			}
		})
	}
}

func withLabels(pr forge.PullRequest, labels ...string) forge.PullRequest {
	pr.Labels = labels
	return pr
}

func TestPreviewsCheck(t *testing.T) {
	pulls := &Previews{Patterns: []string{"refs/heads/preview/*", "refs/pull/*/head"}}
	if err := pulls.Check(); err == nil || !strings.Contains(err.Error(), "refs/pull/*/head matches pull requests") {
		t.Errorf("pull refs without a forge: %v", err)
	}
	for _, ok := range []*Previews{
		{Patterns: []string{"refs/heads/preview/*"}},
		{Patterns: []string{"refs/pull/*/head"}, Trust: PreviewTrust{Forks: true}},
		{Patterns: []string{"refs/merge-requests/*/head"}, PullRequest: func(context.Context, int) (forge.PullRequest, error) { return forge.PullRequest{}, nil }},
	} {
		if err := ok.Check(); err != nil {
			t.Errorf("Check(%v) = %v", ok.Patterns, err)
		}
	}
}

// fakeForge serves pull requests in GitHub's REST format. No GitHub,
// GitLab or Gitea can run on the test machine; the forge package's own
// tests check the formats of all three.
type fakeForge struct {
	mu    gosync.Mutex
	pulls map[int]map[string]any
	calls int
}

func newFakeForge(t *testing.T) (*fakeForge, *forge.Client) {
	f := &fakeForge{pulls: map[int]map[string]any{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls++
		var n int
		if _, err := fmt.Sscanf(r.URL.Path, "/repos/org/serving/pulls/%d", &n); err != nil || f.pulls[n] == nil {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(f.pulls[n])
	}))
	t.Cleanup(srv.Close)
	c, err := forge.New(forge.GitHub, srv.URL, "https://git.example.com/org/serving.git", "")
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

// set records pull request n: open or not, from head repository repo, by
// author, with labels.
func (f *fakeForge) set(n int, open bool, repo, author string, labels ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	state := "closed"
	if open {
		state = "open"
	}
	var ls []map[string]string
	for _, l := range labels {
		ls = append(ls, map[string]string{"name": l})
	}
	f.pulls[n] = map[string]any{"state": state, "user": map[string]string{"login": author}, "labels": ls,
		"head": map[string]any{"sha": "0", "repo": map[string]string{"full_name": repo}},
		"base": map[string]any{"repo": map[string]string{"full_name": "org/serving"}}}
}

func (f *fakeForge) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// TestLoopPullRequestPreview: a pull request from a fork does not run
// until a trusted label is set; then it runs, read from the forge's
// refs/pull/<n>/head (no fetch by hash needed); a closed pull request
// stops running; the TTL counts from when ebb fetched the head, not from
// the commit's own date.
func TestLoopPullRequestPreview(t *testing.T) {
	f := newLoopFixture(t, false)
	now := time.Now()
	previewLoop(t, f)
	ff, client := newFakeForge(t)
	f.loop.Previews.PullRequest = client.PullRequest
	f.loop.Previews.Trust = PreviewTrust{Labels: []string{"ok-to-preview"}}
	ctx := context.Background()
	if p := f.loop.SyncAt(ctx, now); p.Err != nil {
		t.Fatal(p.Err)
	}
	f.pull(t)
	ff.set(7, true, "mallory/serving", "mallory")
	// A commit its author dated long ago: a TTL counts from the fetch.
	gittest.WriteFiles(t, f.user.Dir, map[string]string{"service.yaml": helloService("PR", "")})
	old := append(gittest.Env("mallory", "mallory@example.com"), "GIT_COMMITTER_DATE=2001-01-01T00:00:00Z")
	if out, err := gittest.RunErr(f.user.Dir, old, "commit", "-q", "-am", "pull request 7"); err != nil {
		t.Fatal(err, out)
	}
	first := gittest.Run(t, f.user.Dir, "rev-parse", "HEAD")
	if out, err := f.user.Git("push", "-q", "origin", "HEAD:refs/pull/7/head"); err != nil {
		t.Fatal(err, out)
	}
	p := f.loop.SyncAt(ctx, now)
	if p.Err != nil || len(p.Previews) != 0 {
		t.Fatalf("untrusted pull request pass = %+v", p)
	}
	want := []PreviewStatus{{Ref: "refs/pull/7/head", Tag: "pr-7", Error: "not run: pull request #7 comes from fork mallory/serving, and it has none of the labels ok-to-preview: not trusted"}}
	if diff := cmp.Diff(want, f.loop.Previews.Problems()); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if got := len(f.target.last(t).Ledgers[0].Revisions); got != 1 {
		t.Errorf("%d revisions with an untrusted pull request, want 1", got)
	}

	// A maintainer labels it: within prRecheck it runs.
	ff.set(7, true, "mallory/serving", "mallory", "ok-to-preview")
	now = now.Add(prRecheck)
	p = f.loop.SyncAt(ctx, now)
	if p.Err != nil || len(p.Previews) != 1 || p.Previews[0].Tag != "pr-7" || p.Previews[0].Commit != first {
		t.Fatalf("labelled pull request pass = %+v, problems %+v", p, f.loop.Previews.Problems())
	}
	calls := ff.count()
	if p := f.loop.SyncAt(ctx, now); p.Err != nil || ff.count() != calls {
		t.Errorf("an unchanged head asked the forge again within %v (%d calls, then %d): %+v", prRecheck, calls, ff.count(), p)
	}

	// A new push to the pull request replaces its revision.
	second := f.user.Commit(t, map[string]string{"service.yaml": helloService("PR2", "")}, "pull request 7, again")
	if out, err := f.user.Git("push", "-q", "origin", "HEAD:refs/pull/7/head"); err != nil {
		t.Fatal(err, out)
	}
	p = f.loop.SyncAt(ctx, now)
	if p.Err != nil || len(p.Previews) != 1 || p.Previews[0].Commit != second {
		t.Fatalf("second pull request pass = %+v", p)
	}
	l := f.target.last(t).Ledgers[0]
	var envs []string
	for _, r := range l.Revisions {
		envs = append(envs, r.Name+"="+r.Template.Spec.Containers[0].Env[0].Value)
	}
	if len(envs) != 2 || !strings.HasSuffix(envs[1], "=PR2") || !strings.HasPrefix(envs[1], "hello-pr-7-") {
		t.Errorf("revisions %v, want hello-00001 and one pr-7 revision running PR2", envs)
	}
	if got := l.Revisions[1].Template.Labels[serving.PreviewLabel]; got != "pr-7" {
		t.Errorf("preview template label %s = %q, want pr-7", serving.PreviewLabel, got)
	}

	// Closing it stops it (the ref stays on the forge).
	ff.set(7, false, "mallory/serving", "mallory", "ok-to-preview")
	now = now.Add(prRecheck)
	if p := f.loop.SyncAt(ctx, now); p.Err != nil || len(p.Previews) != 0 {
		t.Fatalf("closed pull request pass = %+v", p)
	}
	if probs := f.loop.Previews.Problems(); len(probs) != 1 || probs[0].Error != "not run: pull request #7 is closed" {
		t.Errorf("problems = %+v", probs)
	}
	if got := len(f.target.last(t).Ledgers[0].Revisions); got != 1 {
		t.Errorf("%d revisions after the pull request closed, want 1", got)
	}

	// Reopened, it runs again, and expires TTL after ebb fetched it.
	ff.set(7, true, "org/serving", "alice")
	now = now.Add(prRecheck)
	if p := f.loop.SyncAt(ctx, now); len(p.Previews) != 1 {
		t.Fatalf("reopened: %+v, problems %+v", p, f.loop.Previews.Problems())
	}
	now = now.Add(23 * time.Hour)
	f.loop.SyncAt(ctx, now)
	if got := f.loop.Previews.Current(); len(got) != 1 {
		t.Fatalf("23h after the fetch: %+v, problems %+v", got, f.loop.Previews.Problems())
	}
	now = now.Add(2 * time.Hour)
	f.loop.SyncAt(ctx, now)
	if got := f.loop.Previews.Current(); len(got) != 0 {
		t.Fatalf("25h after the fetch: %+v", got)
	}
}

// TestComposeRefusesUntrustedFields: a preview's template may not take an
// identity, secrets, host access, privileges or images main does not run,
// and is checked against the main branch's config-features, not its own.
func TestComposeRefusesUntrustedFields(t *testing.T) {
	l := &Loop{}
	main, _, _, err := l.pipe.plan(commitOf("main", map[string]string{"service.yaml": helloService("World", "")}).Files, serving.Stamp{Commit: "main"}, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	hostile := `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  namespace: default
spec:
  template:
    spec:
      serviceAccountName: admin
      hostNetwork: true
      nodeSelector:
        kubernetes.io/hostname: node-1
      containers:
        - image: docker.io/mallory/miner
          command: ["/bin/sh", "-c", "cat /proc/1/environ"]
          env:
            - name: TOKEN
              valueFrom:
                secretKeyRef: {name: git, key: password}
          securityContext:
            privileged: true
            capabilities:
              add: [SYS_ADMIN]
          volumeMounts:
            - {name: root, mountPath: /host}
      volumes:
        - name: root
          hostPath: {path: /}
`
	features := `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-features
  namespace: knative-serving
data:
  kubernetes.podspec-volumes-hostpath: enabled
  kubernetes.podspec-nodeselector: enabled
  kubernetes.podspec-hostnetwork: enabled
`
	_, sts := Compose(main, []Preview{
		{Ref: "refs/pull/9/head", Tag: "pr-9", Commit: commitOf("c9", map[string]string{"service.yaml": hostile, "features.yaml": features})},
	}, PreviewPolicy{})
	if len(sts) != 1 || len(sts[0].Services) != 0 {
		t.Fatalf("statuses %+v, want the preview refused", sts)
	}
	want := []string{
		"service.yaml:11: spec.template.spec.hostNetwork, spec.template.spec.nodeSelector: must not set the field(s)",
		"service.yaml:21: spec.template.spec.containers[0].securityContext.privileged: must not set the field(s)",
		"service.yaml:23: spec.template.spec.containers[0].securityContext.capabilities.add: must not set the field(s)",
		"service.yaml:28: HostPath volume support is disabled, but found HostPath volume root",
		"service.yaml:28: spec.template.spec.volumes[0].hostPath: must not set the field(s)",
	}
	if diff := cmp.Diff(want, strings.Split(sts[0].Error, "\n")); diff != "" {
		t.Errorf("checked against the preview's own config-features (-want +got):\n%s", diff)
	}

	// Fields Knative allows any revision, refused in a preview.
	hostile = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  namespace: default
spec:
  template:
    spec:
      serviceAccountName: admin
      containers:
        - image: docker.io/mallory/miner
          env:
            - name: TOKEN
              valueFrom:
                secretKeyRef: {name: git, key: password}
          securityContext:
            allowPrivilegeEscalation: true
`
	_, sts = Compose(main, []Preview{{Ref: "refs/pull/9/head", Tag: "pr-9", Commit: commitOf("c9", map[string]string{"service.yaml": hostile})}}, PreviewPolicy{})
	want = []string{
		"service.yaml:9: spec.template.spec.serviceAccountName: must not set the field(s) in a preview",
		`service.yaml:11: spec.template.spec.containers[0].image: image "docker.io/mallory/miner" is not allowed in a preview (allowed: ko://*, ko://example.com/hello)`,
		"service.yaml:15: spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef: must not set the field(s) in a preview",
		"service.yaml:17: spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation: must not set the field(s) in a preview",
	}
	if len(sts) != 1 || len(sts[0].Services) != 0 {
		t.Fatalf("statuses %+v, want the preview refused", sts)
	}
	if diff := cmp.Diff(want, strings.Split(sts[0].Error, "\n")); diff != "" {
		t.Errorf("preview rules (-want +got):\n%s", diff)
	}

	// Configured image patterns replace the default.
	_, sts = Compose(main, []Preview{
		{Ref: "refs/heads/preview/a", Tag: "preview-a", Commit: commitOf("ca", map[string]string{"service.yaml": strings.Replace(helloService("A", ""), "ko://example.com/hello", "registry.example.com/team/hello:v2", 1)})},
	}, PreviewPolicy{Untrusted: serving.Untrusted{Images: []string{"registry.example.com/team/*"}}})
	if len(sts) != 1 || sts[0].Error != "" || len(sts[0].Services) != 1 {
		t.Errorf("allowed image: %+v", sts)
	}
}

// TestComposeIntoPreviewNamespace: with a preview namespace, the preview
// of a Service is a Service of its own there, and the main branch's
// Services and ledgers are left exactly as they are.
func TestComposeIntoPreviewNamespace(t *testing.T) {
	l := &Loop{}
	team := strings.Replace(helloService("Team", ""), "namespace: default", "namespace: team", 1)
	main, _, _, err := l.pipe.plan(commitOf("main", map[string]string{"service.yaml": helloService("World", ""), "team.yaml": team}).Files, serving.Stamp{Commit: "main"}, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	policy := PreviewPolicy{Namespace: "previews"}
	d, sts := Compose(main, []Preview{{Ref: "refs/pull/1/head", Tag: "pr-1", Commit: commitOf("c1", map[string]string{
		"service.yaml": helloService("One", ""), "team.yaml": strings.Replace(team, "Team", "Team One", 1)})}}, policy)
	if len(sts) != 1 {
		t.Fatalf("statuses %+v", sts)
	}
	if diff := cmp.Diff([]string{"previews/hello-pr-1"}, sts[0].Services); diff != "" {
		t.Errorf("previewed Services (-want +got):\n%s", diff)
	}
	if want := "team/hello: its preview previews/hello-pr-1 is already the preview of default/hello"; sts[0].Error != want {
		t.Errorf("error %q, want %q", sts[0].Error, want)
	}
	var got []string
	for _, l := range d.Ledgers {
		got = append(got, l.Namespace+"/"+l.Service+": "+formatTraffic(l))
	}
	if len(got) != 3 || got[0] != "default/hello: hello-00001 at 100% (latestRevision)" || !strings.HasPrefix(got[1], "previews/hello-pr-1: hello-pr-1-") ||
		!strings.HasSuffix(got[1], " at 100% (latestRevision)") || got[2] != "team/hello: hello-00001 at 100% (latestRevision)" {
		t.Errorf("ledgers %q", got)
	}
	if main.Ledgers[0] != d.Ledgers[0] || main.Ledgers[1] != d.Ledgers[2] {
		t.Error("the main branch's ledgers were replaced")
	}
	deployments := 0
	for _, o := range d.Objects {
		if o.GetKind() == "Deployment" && o.GetNamespace() == "previews" {
			deployments++
			if o.GetLabels()[serving.PreviewLabel] != "pr-1" {
				t.Errorf("preview Deployment %s labels %v", o.GetName(), o.GetLabels())
			}
			if auto, found, _ := unstructured.NestedBool(o.Object, "spec", "template", "spec", "automountServiceAccountToken"); !found || auto {
				t.Errorf("preview Deployment %s mounts a ServiceAccount token", o.GetName())
			}
		}
	}
	if deployments != 1 {
		t.Errorf("%d Deployments in the preview namespace, want 1", deployments)
	}
}
