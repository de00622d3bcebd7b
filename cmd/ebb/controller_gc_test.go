//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/internal/gittest"
	"github.com/ebb-dev/ebb/internal/syncbuf"
	"github.com/ebb-dev/ebb/serving"
)

// gcEveryRevision collects every second, keeping no retired revision
// whatever its age: only what the routes name may stay.
const gcEveryRevision = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-gc
  namespace: ebb-system
data:
  schedule: "@every 1s"
  min-non-active-revisions: "0"
  max-non-active-revisions: "0"
  retain-since-create-time: disabled
  retain-since-last-active-time: disabled
`

// pinnedService is hello at version with traffic entries (none: Knative's
// default, all to the latest).
func pinnedService(version, traffic string) string {
	s := `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  namespace: default
spec:
  template:
    spec:
      containers:
        - image: registry.example/hello:` + version + "\n"
	if traffic != "" {
		s += "  traffic:\n" + traffic
	}
	return s
}

// TestControllerGCKeepsWhatIsRouted runs a controller against a real
// apiserver and a Git server on loopback, over a Service with three
// revisions: hello-00001 pinned at 0 % without a tag, hello-00002
// retired, hello-00003 taking all the traffic. config-gc keeps no
// retired revision at all and runs every second. The collection commit
// on the server's branch removes hello-00002 alone, whose Deployment is
// pruned; the pinned revision stays in the ledger, in its traffic and in
// the cluster.
func TestControllerGCKeepsWhatIsRouted(t *testing.T) {
	c, cs := installedCluster(t)
	ctx := t.Context()

	// The ledger as ebb plans the three commits, an hour apart.
	plan := t.TempDir()
	writeFile(t, plan, "config-gc.yaml", gcEveryRevision)
	base := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	for i, svc := range []string{
		pinnedService("v1", ""),
		pinnedService("v2", ""),
		pinnedService("v3", "    - revisionName: hello-00001\n      percent: 0\n    - latestRevision: true\n      percent: 100\n"),
	} {
		writeFile(t, plan, "service.yaml", svc)
		at := base.Add(time.Duration(i) * time.Hour).Format(time.RFC3339)
		if code, _, stderr := runCmd(t, "plan", plan, "--write", "--commit", fmt.Sprintf("c%d", i+1), "--time", at); code != exitOK {
			t.Fatalf("plan v%d: exit %d: %s", i+1, code, stderr)
		}
	}
	files := map[string]string{}
	for _, name := range []string{"config-gc.yaml", "service.yaml", ".ebb/default/hello.yaml"} {
		b, err := os.ReadFile(filepath.Join(plan, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(b)
	}
	before, err := serving.UnmarshalLedger("hello.yaml", []byte(files[".ebb/default/hello.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := serving.FormatTraffic(before.Traffic), "hello-00001 at 0%, hello-00003 at 100% (latestRevision)"; got != want {
		t.Fatalf("planned traffic %q, want %q", got, want)
	}

	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", files)
	bare := filepath.Join(root, "repo.git")
	repo := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{}).RepoURL("repo.git")

	runCtx, cancel := context.WithCancel(ctx)
	out, done := &syncbuf.Buffer{}, make(chan int, 1)
	e := &env{stdout: out, stderr: out, getenv: func(k string) string {
		return map[string]string{"POD_NAME": "ctl", "POD_IP": "10.3.0.1", "EBB_REPO_URL": repo}[k]
	}}
	go func() {
		done <- run(runCtx, []string{"controller", "--kubeconfig", c.Kubeconfig, "--listen", "127.0.0.1:0",
			"--cache-dir", filepath.Join(t.TempDir(), "cache"), "--poll", "500ms", "--preview", "none"}, e)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("controller:\n%s", out.String())
		}
	})

	deployment := func(rev string) error {
		_, err := cs.AppsV1().Deployments("default").Get(ctx, rev+"-deployment", metav1.GetOptions{})
		return err
	}
	waitFor(t, "the three revisions applied", func() string {
		for _, rev := range []string{"hello-00001", "hello-00002", "hello-00003"} {
			if err := deployment(rev); err != nil {
				return err.Error()
			}
		}
		return ""
	})
	var gc []string
	waitFor(t, "a collection committed and hello-00002's Deployment pruned", func() string {
		gc = nil
		for _, c := range ledgerCommits(t, bare) {
			if !strings.HasPrefix(c.subject, "ebb gc:") {
				continue
			}
			if strings.Contains(c.subject, "hello-00001") || strings.Contains(c.subject, "hello-00003") {
				t.Fatalf("a collection removed a routed revision: %s", c.subject)
			}
			gc = append(gc, c.subject)
		}
		if len(gc) == 0 {
			return "no collection commit"
		}
		if err := deployment("hello-00002"); !apierrors.IsNotFound(err) {
			return fmt.Sprintf("hello-00002's Deployment: %v", err)
		}
		return ""
	})
	if diff := cmp.Diff([]string{"ebb gc: removed hello-00002 (over max-non-active-revisions (0))"}, gc); diff != "" {
		t.Errorf("collection commits (-want +got):\n%s", diff)
	}
	for _, rev := range []string{"hello-00001", "hello-00003"} {
		if err := deployment(rev); err != nil {
			t.Errorf("%s's Deployment after the collection: %v", rev, err)
		}
	}
	after, err := serving.UnmarshalLedger("hello.yaml", []byte(gittest.Run(t, bare, "show", gittest.Branch+":.ebb/default/hello.yaml")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, r := range after.Revisions {
		kept = append(kept, r.Name)
	}
	if diff := cmp.Diff([]string{"hello-00001", "hello-00003"}, kept); diff != "" {
		t.Errorf("revisions in the ledger on the branch (-want +got):\n%s", diff)
	}
	if got, want := serving.FormatTraffic(after.Traffic), serving.FormatTraffic(before.Traffic); got != want {
		t.Errorf("traffic on the branch %q, want %q", got, want)
	}
}
