//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-dev/ebb/internal/admin"
	"github.com/ebb-dev/ebb/internal/gittest"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/internal/syncbuf"
)

// canaryService is the Service web, analysed every 2 s with a threshold
// of 2, steps of 20 % up to 40 % and at least 5 requests a period, its
// template carrying version.
func canaryService(version string) string {
	return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: web
  namespace: default
  annotations:
    canary.ebb.dev/interval: 2s
    canary.ebb.dev/threshold: "2"
    canary.ebb.dev/step-weight: "20"
    canary.ebb.dev/max-weight: "40"
    canary.ebb.dev/min-requests: "5"
spec:
  template:
    spec:
      containers:
        - image: registry.example/web
          env:
            - name: VERSION
              value: ` + version + "\n"
}

// TestControllerCanary runs two controllers (leader-elected) against a
// real apiserver and a Git server on loopback, and plays the gateway's
// activator: every second it reads web's applied route table and pushes
// the answers of the second that ended to the leader, as the gateway
// does (its ServiceAccount token, the leader Service's EndpointSlice),
// 100 requests split by the table's percents. A healthy canary goes
// 0 → 20 → 40 % and is promoted, each step a commit with its figures on
// the server's branch and the route table following; its leader stops
// at 20 % and the other resumes there, judging only a whole interval
// after it took over. A canary failing half its requests is held, then
// rolled back with its failing figure, and the stable revision has all
// the traffic back. The leader's metrics show the rollout; a replica
// that does not lead exports none.
func TestControllerCanary(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{ControllerManager: true})
	ctx := t.Context()
	cs, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ebb-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ServiceAccounts("ebb-system").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "ebb-gateway"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts("ebb-system").CreateToken(ctx, "ebb-gateway",
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{Audiences: []string{admin.Audience}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(tr.Status.Token), 0o600); err != nil {
		t.Fatal(err)
	}

	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"service.yaml": canaryService("v1")})
	bare := filepath.Join(root, "repo.git")
	repo := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{}).RepoURL("repo.git")
	user := gittest.Clone(t, repo, "alice")

	ctls := map[string]*canaryController{}
	ctls["ctl-a"] = startCanaryController(t, c.Kubeconfig, repo, "ctl-a", "10.3.0.1")
	ctls["ctl-a"].waitLeading(t, cs)
	ctls["ctl-b"] = startCanaryController(t, c.Kubeconfig, repo, "ctl-b", "10.3.0.2")

	act := playActivator(t, cs, ctls, tokenFile)
	wait := func(what string, f func() string) { t.Helper(); waitFor(t, what, f) }
	// split waits until the activator routes web as want.
	split := func(want string) {
		t.Helper()
		wait("web routed "+want, func() string {
			if got := act.last(); got != want {
				return got
			}
			return ""
		})
	}
	// ended waits for the commit that promotes or rolls back rev.
	ended := func(rev string) {
		t.Helper()
		wait(rev+" promoted or rolled back", func() string {
			commits := ledgerCommits(t, bare)
			if len(commits) == 0 {
				return "no commit by ebb"
			}
			if s := commits[len(commits)-1].subject; !strings.Contains(s, "rollback "+rev) && !strings.Contains(s, "promote "+rev) {
				return s
			}
			return ""
		})
	}
	runPod := func(rev, ip string) {
		t.Helper()
		var pod string
		wait("a pod of "+rev, func() string {
			pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "serving.knative.dev/revision=" + rev})
			if err != nil || len(pods.Items) == 0 {
				return fmt.Sprintf("none yet (%v)", err)
			}
			pod = pods.Items[0].Name
			return ""
		})
		if _, err := kubetest.RunPod(ctx, cs, "default", pod, "node-1", ip); err != nil {
			t.Fatal(err)
		}
	}
	push := func(version string) {
		t.Helper()
		user.Commit(t, map[string]string{"service.yaml": canaryService(version)}, "web "+version)
		// ebb's ledger commits move the branch too.
		if err := user.PushRebasing(10); err != nil {
			t.Fatal(err)
		}
	}

	runPod("web-00001", "10.4.0.1")
	split("web-00001 100")

	// A healthy canary. Its first step is ctl-a's; the activator stops
	// answering before the next, so that ctl-a cannot judge it.
	act.pauseAt("web-00001 80, web-00002 20")
	push("v2")
	runPod("web-00002", "10.4.0.2")
	split("web-00001 80, web-00002 20")
	select {
	case <-act.paused:
	case <-time.After(30 * time.Second):
		t.Fatal("the activator did not see web routed 80/20")
	}
	if m := grepLines(ctls["ctl-b"].get(t, "/metrics"), "ebb_rollout_"); m != "" {
		t.Errorf("ctl-b, not leading, exports rollout metrics:\n%s", m)
	}
	ctls["ctl-a"].stop(t)
	took := ctls["ctl-b"].waitLeading(t, cs)
	wait("ctl-b's rollout in force at 20%", func() string {
		m := ctls["ctl-b"].get(t, "/metrics")
		if !strings.Contains(m, `ebb_rollout_weight{canary="web-00002",namespace="default",service="web",source="main",stable="web-00001"} 20`+"\n") {
			return grepLines(m, "ebb_rollout_weight")
		}
		return ""
	})
	act.resume()
	ended("web-00002")
	commits := ledgerCommits(t, bare)
	want := []string{
		`ebb: default/web: canary web-00002 waits to be ready \(stable web-00001\)`,
		`ebb: default/web: canary web-00002 0% -> 20% \(ready\)`,
		`ebb: default/web: canary web-00002 20% -> 40% \(success 100\.0%, p99 \S+ms, \d+ req; stable 100\.0%\)`,
		`ebb: default/web: promote web-00002 \(success 100\.0%, p99 \S+ms, \d+ req; stable 100\.0%\)`,
	}
	matchCommits(t, commits, want)
	split("web-00002 100")
	// ctl-b judged only a whole interval after it took over. The step's
	// nextCheck keeps the cadence of ctl-a's period, so it does not say
	// when ctl-b judged; the commit's time (whole seconds) does.
	for _, cm := range commits {
		if !strings.Contains(cm.subject, "20% -> 40%") {
			continue
		}
		unix, err := strconv.ParseInt(gittest.Run(t, bare, "show", "-s", "--format=%ct", cm.hash), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if stepped, earliest := time.Unix(unix, 0), took.Add(2*time.Second).Truncate(time.Second); stepped.Before(earliest) {
			t.Errorf("ctl-b, leading since %s, stepped at %s", took.Format(time.RFC3339Nano), stepped.Format(time.RFC3339))
		}
	}

	// A canary failing half its requests.
	act.fail("web-00003", 2)
	push("v3")
	runPod("web-00003", "10.4.0.3")
	ended("web-00003")
	want = append(want,
		`ebb: default/web: canary web-00003 waits to be ready \(stable web-00002\)`,
		`ebb: default/web: canary web-00003 0% -> 20% \(ready\)`,
		`ebb: default/web: canary web-00003 held at 20% \(success 50\.0%, p99 \S+ms, \d+ req; stable 100\.0%; failed 1 of 2 checks\)`,
		`ebb: default/web: rollback web-00003 at 20%: success 50\.0% < 99%, 2 of 2 checks; web-00002 back to its full share`,
	)
	matchCommits(t, ledgerCommits(t, bare), want)
	split("web-00002 100")
	if got := act.stop(); got != "web-00001 100 | web-00001 80, web-00002 20 | web-00001 60, web-00002 40 | web-00002 100 | web-00002 80, web-00003 20 | web-00002 100" {
		t.Errorf("the route tables the activator saw: %s", got)
	}

	// The leader's metrics: its own steps, and the rollout in force.
	metrics := ctls["ctl-b"].get(t, "/metrics")
	for _, line := range []string{
		`ebb_rollout_steps_total{kind="canary",namespace="default",service="web",source="main"} 4`,
		`ebb_rollout_steps_total{kind="promote",namespace="default",service="web",source="main"} 1`,
		`ebb_rollout_steps_total{kind="rolled-back",namespace="default",service="web",source="main"} 1`,
		`ebb_rollout_weight{canary="web-00003",namespace="default",service="web",source="main",stable="web-00002"} 0`,
		`ebb_rollout_phase{canary="web-00003",namespace="default",phase="RolledBack",service="web",source="main"} 1`,
		`ebb_rollout_phase{canary="web-00003",namespace="default",phase="Progressing",service="web",source="main"} 0`,
	} {
		if !strings.Contains(metrics, line+"\n") {
			t.Errorf("metrics lack %s", line)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", grepLines(metrics, "ebb_rollout_"))
	}
}

// canaryController is one `ebb controller` of TestControllerCanary.
type canaryController struct {
	name, podIP string
	cancel      context.CancelFunc
	done        chan int
	out         *syncbuf.Buffer
}

// startCanaryController runs `ebb controller` for repo as the pod name
// with podIP, campaigning for the Lease, stopped when the test ends.
func startCanaryController(t *testing.T, kubeconfig, repo, name, podIP string) *canaryController {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	p := &canaryController{name: name, podIP: podIP, cancel: cancel, done: make(chan int, 1), out: &syncbuf.Buffer{}}
	e := &env{stdout: p.out, stderr: p.out, getenv: func(k string) string {
		return map[string]string{"POD_NAME": name, "POD_IP": podIP, "EBB_REPO_URL": repo}[k]
	}}
	go func() {
		p.done <- run(ctx, []string{"controller", "--kubeconfig", kubeconfig, "--listen", "127.0.0.1:0",
			"--cache-dir", filepath.Join(t.TempDir(), "cache"), "--poll", "500ms", "--preview", "none"}, e)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("%s:\n%s", name, p.out.String())
		}
	})
	return p
}

var adminListening = regexp.MustCompile(`admin=(127\.0\.0\.1:\d+)`)

// addr is the controller's admin address, "" until it listens.
func (p *canaryController) addr() string {
	if m := adminListening.FindStringSubmatch(p.out.String()); m != nil {
		return m[1]
	}
	return ""
}

// stop ends the controller and waits for it; stopping it again does
// nothing.
func (p *canaryController) stop(t *testing.T) {
	t.Helper()
	p.cancel()
	if code := <-p.done; code != exitOK {
		t.Errorf("%s exited %d", p.name, code)
	}
	p.done <- exitOK
}

// waitLeading waits until the controller holds the Lease and the leader
// Service points at it, and returns when it acquired the Lease.
func (p *canaryController) waitLeading(t *testing.T, cs kubernetes.Interface) time.Time {
	t.Helper()
	var since time.Time
	waitFor(t, p.name+" leads", func() string {
		l, err := cs.CoordinationV1().Leases("ebb-system").Get(t.Context(), "ebb-controller", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != p.name || l.Spec.AcquireTime == nil {
			return fmt.Sprintf("lease %v", err)
		}
		since = l.Spec.AcquireTime.Time
		if got := leaderIP(t, cs); got != p.podIP {
			return "the leader Service points at " + got
		}
		return ""
	})
	return since
}

// get returns the body of GET path on the controller's admin address.
func (p *canaryController) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + p.addr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// leaderIP is the address the leader Service's EndpointSlice points at,
// as the gateway reads it, or "".
func leaderIP(t *testing.T, cs kubernetes.Interface) string {
	es, err := cs.DiscoveryV1().EndpointSlices("ebb-system").Get(t.Context(), "ebb-controller", metav1.GetOptions{})
	if err != nil || len(es.Endpoints) != 1 || len(es.Endpoints[0].Addresses) != 1 {
		return ""
	}
	return es.Endpoints[0].Addresses[0]
}

// ledgerCommit is one of ebb's commits on the branch.
type ledgerCommit struct {
	hash, subject string
}

// ledgerCommits are ebb's commits on the bare repository's branch,
// oldest first.
func ledgerCommits(t *testing.T, bare string) []ledgerCommit {
	t.Helper()
	var out []ledgerCommit
	for line := range strings.SplitSeq(gittest.Run(t, bare, "log", "--reverse", "--author=ebb", "--format=%H %s", gittest.Branch), "\n") {
		if hash, subject, ok := strings.Cut(line, " "); ok {
			out = append(out, ledgerCommit{hash, subject})
		}
	}
	return out
}

// matchCommits checks that commits hold, in order, one commit matching
// each of want (regular expressions), and between them only commits of
// no rollout of web.
func matchCommits(t *testing.T, commits []ledgerCommit, want []string) {
	t.Helper()
	var rollout []string
	for _, c := range commits {
		if strings.Contains(c.subject, "canary") || strings.Contains(c.subject, "promote") || strings.Contains(c.subject, "rollback") {
			rollout = append(rollout, c.subject)
		}
	}
	ok := len(rollout) == len(want)
	for i := range want {
		// A commit that also records other changes says how many.
		ok = ok && i < len(rollout) && regexp.MustCompile(`^`+want[i]+`( \(and \d+ more\))?$`).MatchString(rollout[i])
	}
	if !ok {
		var all []string
		for _, c := range commits {
			all = append(all, c.hash[:7]+" "+c.subject)
		}
		t.Fatalf("ebb's commits:\n%s\nwant the rollout's:\n%s", strings.Join(all, "\n"), strings.Join(want, "\n"))
	}
}

// grepLines are the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
