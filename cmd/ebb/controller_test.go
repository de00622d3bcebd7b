//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/internal/syncbuf"
	"github.com/ebb-dev/ebb/runtime/cluster"
)

// runGit runs the git CLI in dir as a fixed test author, ignoring the
// machine's global git configuration.
func runGit(tb testing.TB, dir string, args ...string) {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("git %v: %v: %s", args, err, out)
	}
}

// gitRepo makes a bare repository on disk whose main branch holds the
// hello example.
func gitRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	bare, work := filepath.Join(root, "repo.git"), filepath.Join(root, "work")
	run := func(dir string, args ...string) { runGit(t, dir, args...) }
	run(root, "init", "-q", "--bare", "-b", "main", bare)
	if out, err := exec.Command("cp", "-R", filepath.Join("..", "..", "examples", "hello"), work).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	run(work, "init", "-q", "-b", "main")
	run(work, "add", "service.yaml", ".ebb")
	run(work, "commit", "-q", "-m", "hello")
	run(work, "push", "-q", bare, "main")
	return bare
}

// TestControllers runs two `ebb controller` processes' worth of wiring
// against a real apiserver and a Git repository on disk: one leads (the
// Lease names it) and applies the repository, the other only stands by;
// when the leader stops, the other takes over and its resync writes no
// object.
func TestControllers(t *testing.T) {
	c, cs := installedCluster(t)
	kc := c.Kubeconfig
	repo := gitRepo(t)
	podIPs := map[string]string{"ctl-a": "10.3.0.1", "ctl-b": "10.3.0.2"}
	type proc struct {
		cancel context.CancelFunc
		done   chan int
		out    *syncbuf.Buffer
	}
	start := func(name string) *proc {
		ctx, cancel := context.WithCancel(t.Context())
		p := &proc{cancel: cancel, done: make(chan int, 1), out: &syncbuf.Buffer{}}
		e := &env{stdout: p.out, stderr: p.out, getenv: func(k string) string {
			switch k {
			case "POD_NAME":
				return name
			case "POD_IP":
				return podIPs[name]
			case "EBB_REPO_URL":
				return repo
			}
			return ""
		}}
		go func() {
			p.done <- run(ctx, []string{"controller", "--kubeconfig", kc, "--listen", "127.0.0.1:0",
				"--cache-dir", filepath.Join(t.TempDir(), "cache"), "--read-only", "--poll", "1h", "--preview", "none"}, e)
		}()
		t.Cleanup(func() {
			cancel()
			<-p.done
			if t.Failed() {
				t.Logf("%s:\n%s", name, p.out.String())
			}
		})
		return p
	}
	procs := map[string]*proc{"ctl-a": start("ctl-a"), "ctl-b": start("ctl-b")}

	holder := func() string {
		l, err := cs.CoordinationV1().Leases("ebb-system").Get(t.Context(), "ebb-controller", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	wait := func(what string, f func() string) { t.Helper(); waitFor(t, what, f) }
	var first string
	wait("a leader applies the repository", func() string {
		first = holder()
		doc, err := cluster.ReadStatus(t.Context(), cs, "ebb-system", "main")
		if err != nil || doc.Condition != cluster.Ready {
			return fmt.Sprintf("leader %q, status %+v %v", first, doc, err)
		}
		if _, err := cs.AppsV1().Deployments("default").Get(t.Context(), "hello-00001-deployment", metav1.GetOptions{}); err != nil {
			return err.Error()
		}
		return ""
	})
	if procs[first] == nil {
		t.Fatalf("lease holder %q is neither controller", first)
	}
	other := "ctl-a"
	if first == "ctl-a" {
		other = "ctl-b"
	}
	if strings.Contains(procs[other].out.String(), "msg=applied") {
		t.Errorf("%s applied while %s led:\n%s", other, first, procs[other].out.String())
	}
	leaderIP := func() string {
		es, err := cs.DiscoveryV1().EndpointSlices("ebb-system").Get(t.Context(), "ebb-controller", metav1.GetOptions{})
		if err != nil || len(es.Endpoints) != 1 || len(es.Endpoints[0].Addresses) != 1 {
			return fmt.Sprintf("leader Service EndpointSlice: %v", err)
		}
		return es.Endpoints[0].Addresses[0]
	}
	if got := leaderIP(); got != podIPs[first] {
		t.Errorf("the leader Service points at %s, want the leader %s", got, podIPs[first])
	}
	// The leader stops; the other takes over and finds nothing to write.
	procs[first].cancel()
	if code := <-procs[first].done; code != exitOK {
		t.Errorf("%s exited %d", first, code)
	}
	procs[first].done <- exitOK
	wait("the other controller takes over", func() string {
		if h := holder(); h != other {
			return "lease holder " + h
		}
		if !strings.Contains(procs[other].out.String(), "msg=applied") {
			return other + " has not applied yet"
		}
		if got := leaderIP(); got != podIPs[other] {
			return "the leader Service points at " + got
		}
		return ""
	})
	if !strings.Contains(procs[other].out.String(), "created=0 configured=0") {
		t.Errorf("%s's first apply after taking over changed objects:\n%s", other, procs[other].out.String())
	}
}

// installedCluster starts an apiserver with ebb's namespace, as the
// install creates it (manifests/namespace.yaml).
func installedCluster(t *testing.T) (*kubetest.Cluster, *kubernetes.Clientset) {
	t.Helper()
	return installedClusterWith(t, kubetest.Options{})
}

// installedClusterWith is installedCluster started with o.
func installedClusterWith(t *testing.T, o kubetest.Options) (*kubetest.Cluster, *kubernetes.Clientset) {
	t.Helper()
	c := kubetest.Start(t, o)
	cs, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ebb-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return c, cs
}

// startController runs `ebb controller` (pod ctl) on repo until the test
// ends, with flags; its output is logged when the test fails. done
// receives run's exit code.
func startController(t *testing.T, kubeconfig, repo string, flags ...string) (out *syncbuf.Buffer, done chan int) {
	t.Helper()
	return startControllerUntil(t, t.Context(), kubeconfig, repo, flags...)
}

// startControllerUntil is startController, the controller stopping when
// ctx ends.
func startControllerUntil(t *testing.T, ctx context.Context, kubeconfig, repo string, flags ...string) (out *syncbuf.Buffer, done chan int) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	out, done = &syncbuf.Buffer{}, make(chan int, 1)
	e := &env{stdout: out, stderr: out, getenv: func(k string) string {
		return map[string]string{"POD_NAME": "ctl", "POD_IP": "10.3.0.1", "EBB_REPO_URL": repo}[k]
	}}
	args := append([]string{"controller", "--kubeconfig", kubeconfig, "--listen", "127.0.0.1:0",
		"--cache-dir", filepath.Join(t.TempDir(), "cache")}, flags...)
	go func() { done <- run(ctx, args, e) }()
	t.Cleanup(func() {
		cancel()
		done <- <-done // left for a caller that reads it after the test
		if t.Failed() {
			t.Logf("controller:\n%s", out.String())
		}
	})
	return out, done
}

// pushEdit clones repo, commits edit's change to service.yaml with
// message msg, pushes it to main and returns the clone.
func pushEdit(t *testing.T, repo, msg string, edit func(string) string) string {
	t.Helper()
	work := filepath.Join(t.TempDir(), "work")
	runGit(t, t.TempDir(), "clone", "-q", repo, work)
	svc := filepath.Join(work, "service.yaml")
	b, err := os.ReadFile(svc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(svc, []byte(edit(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
	runGit(t, work, "commit", "-q", "-am", msg)
	runGit(t, work, "push", "-q", "origin", "main")
	return work
}

// readOnly is flags for a controller that writes nothing to Git, polls
// every 200 ms and renders no previews, with more.
func readOnly(more ...string) []string {
	return append([]string{"--read-only", "--poll", "200ms", "--preview", "none"}, more...)
}

// waitFor retries f (bounded, 90 s) until it returns "", then fails with
// what and f's last answer. It bounds waits on a controller; it never
// asserts on how long it took.
func waitFor(t *testing.T, what string, f func() string) {
	t.Helper()
	var last string
	for range 900 {
		if last = f(); last == "" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %s", what, last)
}

// The binary stays small: none of client-go's generated clients
// (clientset, informers, listers, discovery, apply configurations) is
// linked, each of which registers every built-in API group, and only the
// API groups ebb reads, writes or renders are. The examples' apps and
// their dependencies (grpc-go) share ebb's module, never its binary.
func TestNoGeneratedClients(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	out, err := exec.Command(goBin, "list", "-deps", "github.com/ebb-dev/ebb/cmd/ebb").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "k8s.io/client-go/rest") {
		t.Fatalf("go list returned %d packages without k8s.io/client-go/rest; want the binary's dependency tree", len(deps))
	}
	groups := []string{"k8s.io/api/apidiscovery/v2", "k8s.io/api/apps/v1", "k8s.io/api/authentication/v1", "k8s.io/api/authorization/v1", "k8s.io/api/coordination/v1", "k8s.io/api/core/v1", "k8s.io/api/discovery/v1"}
	for _, d := range deps {
		for _, p := range []string{"kubernetes", "informers", "listers", "discovery", "restmapper", "applyconfigurations"} {
			if d == "k8s.io/client-go/"+p || strings.HasPrefix(d, "k8s.io/client-go/"+p+"/") {
				t.Errorf("ebb depends on %s", d)
			}
		}
		if strings.HasPrefix(d, "k8s.io/api/") && !slices.Contains(groups, d) {
			t.Errorf("ebb depends on %s, not among the API groups it uses (%v)", d, groups)
		}
		if strings.HasPrefix(d, "github.com/ebb-dev/ebb/examples/") || strings.HasPrefix(d, "google.golang.org/grpc") {
			t.Errorf("ebb depends on %s, a dependency of the examples only", d)
		}
	}
}

// TestControllerKeepsAnInvalidHeadStalled: a pushed commit that does not
// validate leaves the source Stalled with its error, through resyncs that
// apply the last good commit again, until the branch goes back to the
// commit that runs.
func TestControllerKeepsAnInvalidHeadStalled(t *testing.T) {
	c, cs := installedCluster(t)
	repo := gitRepo(t)
	out, _ := startController(t, c.Kubeconfig, repo, readOnly("--resync", "1s")...)
	status := func() cluster.StatusDoc {
		doc, _ := cluster.ReadStatus(t.Context(), cs, "ebb-system", "main")
		return doc
	}
	waitFor(t, "the repository applied", func() string {
		if doc := status(); doc.Condition != cluster.Ready {
			return fmt.Sprintf("%+v", doc)
		}
		return ""
	})
	good := status().Commit

	work := pushEdit(t, repo, "90%", func(svc string) string {
		return svc + "  traffic:\n    - latestRevision: true\n      percent: 90\n"
	})
	stalled := func() string {
		doc := status()
		if doc.Condition != cluster.Stalled || doc.Commit != good || !strings.Contains(doc.Message, "Traffic targets sum to 90, want 100") {
			return fmt.Sprintf("%+v", doc)
		}
		return ""
	}
	staysStalled(t, out, "the invalid", stalled)

	// The branch reset to the commit that runs: Ready again.
	runGit(t, work, "push", "-q", "-f", "origin", good+":main")
	waitFor(t, "Ready after the reset", func() string {
		if doc := status(); doc.Condition != cluster.Ready || doc.Commit != good {
			return fmt.Sprintf("%+v", doc)
		}
		return ""
	})
}

// staysStalled waits until stalled reports nothing (the source Stalled on
// the what head), then for two resyncs of the commit that runs in the
// controller's log out, and checks that the source is still Stalled.
func staysStalled(t *testing.T, out *syncbuf.Buffer, what string, stalled func() string) {
	t.Helper()
	waitFor(t, what+" head Stalled", stalled)
	applies := strings.Count(out.String(), "msg=applied")
	waitFor(t, "two resyncs of the commit that runs", func() string {
		if n := strings.Count(out.String(), "msg=applied"); n < applies+2 {
			return fmt.Sprintf("%d applies since %s head", n-applies, what)
		}
		return ""
	})
	if s := stalled(); s != "" {
		t.Errorf("after resyncs over %s head: %s, want it Stalled", what, s)
	}
}
