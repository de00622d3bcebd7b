//go:build linux

package node_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-dev/ebb/internal/gittest"
	"github.com/ebb-dev/ebb/internal/nodetest"
)

// ebb is ebb installed on the package's node, following a serving
// repository the tests push to.
type ebb struct {
	n  *nodetest.Node
	cs kubernetes.Interface
	// gateway is the ebb-gateway Service's ClusterIP.
	gateway string
	client  *http.Client
	// git is the git server's listener on the node's address, which the
	// pods reach; a test may take it down.
	git *gitSwitch

	mu   sync.Mutex // one push at a time
	work *gittest.Client
}

// shared is the package's one install (see sharedEbb).
var shared struct {
	mu  sync.Mutex
	e   *ebb
	err string
}

// sharedEbb installs ebb on the package's node on first use, as a user
// installs it: the images built from this checkout and imported;
// manifests/ with the local image (see overlay), RBAC and admission as
// shipped; the controller and gateway as pods, following a git server on
// the node's address. The serving repository starts with
// manifests/repository/config-deployment.yaml (the sidecar image resolved
// as `ko resolve` would), a config-domain (example.com) and the hello
// example's config-autoscaler (scale to zero after about 8 s idle). Tests
// push their Services there, each in a namespace of its own.
func sharedEbb(t *testing.T) *ebb {
	t.Helper()
	n := nodetest.Shared(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.err != "" {
		t.Fatalf("install: %s", shared.err)
	}
	if shared.e == nil {
		shared.err = "failed in an earlier test"
		shared.e = installEbb(t, n)
		shared.err = ""
	}
	return shared.e
}

func installEbb(t *testing.T, n *nodetest.Node) *ebb {
	t.Helper()
	buildImages(t, n)
	cs, err := kubernetes.NewForConfig(n.Config())
	if err != nil {
		t.Fatal(err)
	}
	l, err := n.Listen("tcp", nodetest.NodeIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	// The server outlives the test that starts it: it is the package's.
	pkg := packageTB{t}
	root := pkg.TempDir()
	git := newGitSwitch(n, l)
	srv := gittest.NewHTTPServer(pkg, root, gittest.HTTPOptions{Also: git})
	cd, err := os.ReadFile(filepath.Join("..", "..", "manifests", "repository", "config-deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(filepath.Join("..", "..", "examples", "hello", "config-autoscaler.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	gittest.NewBare(pkg, root, "serving", map[string]string{
		"config-deployment.yaml": strings.ReplaceAll(string(cd), "ko://github.com/ebb-dev/ebb/cmd/ebb/sidecar", sidecarImage.Ref),
		"config-autoscaler.yaml": string(ca),
		"config-domain.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-domain
  namespace: ebb-system
data:
  example.com: ""
`,
	})
	install(t, n, srv.AlsoURL+"/serving")
	waitFor(t, n, "the gateway available", 3*time.Minute, func(ctx context.Context) string {
		return available(ctx, cs, "ebb-system", "ebb-gateway")
	}, "ebb-system")
	gw, err := cs.CoreV1().Services("ebb-system").Get(t.Context(), "ebb-gateway", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &ebb{n: n, cs: cs, gateway: gw.Spec.ClusterIP, client: n.HTTPClient(), git: git,
		work: gittest.Clone(pkg, srv.RepoURL("serving"), "Dev")}
}

// push commits files to the serving repository and pushes, rebasing on
// the controller's ledger commits.
func (e *ebb) push(t *testing.T, files map[string]string, msg string) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.work.Git("pull", "-q", "--rebase", "origin", gittest.Branch); err != nil {
		t.Fatal(err)
	}
	e.work.Commit(t, files, msg)
	if err := e.work.PushRebasing(5); err != nil {
		t.Fatal(err)
	}
}

// get sends GET / for host through the gateway and returns the answer's
// body, or why there is none.
func (e *ebb) get(ctx context.Context, host string) (string, error) {
	return e.getAt(ctx, e.gateway, host)
}

// getAt sends GET / for host to addr (host or host:port) inside the node's
// network, e.g. one gateway pod.
func (e *ebb) getAt(ctx context.Context, addr, host string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return "", err
	}
	req.Host = host
	resp, err := e.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: status %d: %s", host, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return strings.TrimSpace(string(b)), nil
}

// answers is a check for waitFor: host answers want through the gateway.
func (e *ebb) answers(host, want string) func(context.Context) string {
	return func(ctx context.Context) string {
		got, err := e.get(ctx, host)
		if err != nil {
			return err.Error()
		}
		if got != want {
			return fmt.Sprintf("%s answers %q, want %q", host, got, want)
		}
		return ""
	}
}

// packageTB is a test's testing.TB whose Cleanup and TempDir belong to the
// package run, not the test: what the install starts stays up for the
// package's other tests, and goes after them (packageRun), before the node.
type packageTB struct{ testing.TB }

// cleanups are the package run's, run last first by packageRun.
var cleanups []func()

func (packageTB) Cleanup(f func()) { cleanups = append(cleanups, f) }

func (p packageTB) TempDir() string {
	dir, err := os.MkdirTemp("", "ebb-node-test-")
	if err != nil {
		p.Fatal(err)
	}
	cleanups = append(cleanups, func() { os.RemoveAll(dir) })
	return dir
}

// packageRun runs the package's tests, then its cleanups.
type packageRun struct{ m *testing.M }

func (r packageRun) Run() int {
	code := r.m.Run()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	return code
}
