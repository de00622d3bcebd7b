//go:build linux

package node_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// gitOutage is how long the git server stays down in TestFaults: the
// minute the issue of record asks for; the controller polls every second
// (EBB_POLL in the overlay), so a minute is some sixty failed fetches.
const gitOutage = time.Minute

// renewDeadline is how long the leading controller keeps trying to renew
// its Lease before it stops leading and campaigns again
// (runtime/cluster/leader's default).
const renewDeadline = 10 * time.Second

// gatewaySelector selects the gateway's pods.
const gatewaySelector = "app.kubernetes.io/name=ebb-gateway"

// TestFaults is must-show 4, three faults in turn, each under a bounded
// load through the gateway on Service faults/f:
//
//   - the apiserver restarted (etcd and the certificates kept; SIGTERM,
//     SIGKILL after 10 s, started again on the same address): no request
//     fails, a change pushed after it is applied, and no pod restarts:
//     neither the gateway's nor the controller's, even when the apiserver
//     was away longer than the leader's renew deadline (the leader stops
//     leading then, and campaigns again in the same process);
//   - the git server the pods reach down for gitOutage, a change pushed
//     meanwhile: no request fails, the change is applied once the server
//     is back, its ledger commit follows it in the repository, and no pod
//     restarts;
//   - a gateway pod deleted, then every gateway pod, then every gateway
//     pod force-deleted (no drain): requests may fail only between the
//     delete and the data plane's convergence (as many new pods Ready, the
//     deleted ones gone and their processes ended, the Service's
//     EndpointSlices and kube-proxy's rules leading only to the pods
//     serving); they are counted, and then requests on new connections
//     through the Service, and each new pod, answer.
func TestFaults(t *testing.T) {
	e := sharedEbb(t)
	tenant(t, e.n, "faults")
	const host = "f.faults.example.com"
	// serving is what f answers once the last push is applied: each push
	// makes a revision.
	revisions, serving := 0, ""
	push := func(t *testing.T, msg string) {
		revisions++
		version := fmt.Sprintf("v%d", revisions)
		serving = fmt.Sprintf("f-%05d (%s)", revisions, version)
		e.push(t, map[string]string{"faults/service.yaml": appService("faults", "f", appImage, "", map[string]string{"VERSION": version})}, "faults: "+version+", "+msg)
	}
	push(t, "the first")
	waitFor(t, e.n, serving, 3*time.Minute, e.answers(host, serving), "faults", "ebb-system")
	waitFor(t, e.n, "both controller replicas available", 2*time.Minute, func(ctx context.Context) string {
		return available(ctx, e.cs, "ebb-system", "ebb-controller")
	}, "ebb-system")

	t.Run("apiserver restarted", func(t *testing.T) {
		pods := e.podRestarts(t, controllerSelector)
		gateways := e.podRestarts(t, gatewaySelector)
		leading, why := e.leader(t.Context())
		if why != "" {
			t.Fatal(why)
		}
		l := e.startLoad(t, host, 4, 10*time.Millisecond, 3*time.Minute, 50000)
		e.loadUnderWay(t, l, 100)
		start := time.Now()
		if err := e.n.RestartAPIServer(t.Context()); err != nil {
			t.Fatalf("restart the apiserver: %v", err)
		}
		outage := time.Since(start)
		push(t, "after the apiserver restarted")
		waitFor(t, e.n, serving, 3*time.Minute, e.answers(host, serving), "faults", "ebb-system")
		applied := time.Since(start)
		e.loadUnderWay(t, l, l.seen()+200)
		r := l.stop()
		after := e.podRestarts(t, controllerSelector)
		t.Logf("apiserver down and back in %v; %s %v after the restart began; controller restarts %v -> %v (%s led); load: %v",
			outage.Round(time.Millisecond), serving, applied.Round(time.Millisecond), pods, after, leading, r)
		if len(r.failed) > 0 {
			t.Errorf("requests failed across the apiserver's restart: %v", r)
		}
		// A leader that cannot renew its Lease for renewDeadline stops
		// leading (it cannot know that no one else took the Lease) and
		// campaigns again: its container does not restart.
		if outage <= renewDeadline {
			t.Logf("the apiserver was away %v, within the renew deadline %v: the leader kept its Lease", outage.Round(time.Millisecond), renewDeadline)
		}
		if diff := cmp.Diff(pods, after); diff != "" {
			t.Errorf("controller pods and their restarts, the apiserver down %v (-want +got):\n%s", outage.Round(time.Millisecond), diff)
		}
		if diff := cmp.Diff(gateways, e.podRestarts(t, gatewaySelector)); diff != "" {
			t.Errorf("gateway pods and their restarts (-want +got):\n%s", diff)
		}
	})

	t.Run("git server down", func(t *testing.T) {
		pods := e.podRestarts(t, controllerSelector)
		l := e.startLoad(t, host, 4, 10*time.Millisecond, gitOutage+3*time.Minute, 100000)
		e.loadUnderWay(t, l, 100)
		e.git.down()
		down := time.Now()
		t.Cleanup(func() { _ = e.git.up() })
		if c, err := e.n.Dial(t.Context(), "tcp", e.git.Addr().String()); err == nil {
			c.Close()
			t.Fatalf("the git server is down, but %s accepts connections", e.git.Addr())
		}
		before := serving
		push(t, "pushed while the git server is down")
		// The outage itself: the load keeps running against the revision
		// before.
		select {
		case <-time.After(gitOutage):
		case <-t.Context().Done():
		}
		if got := e.answers(host, before)(t.Context()); got != "" {
			t.Errorf("after %v without the git server: %s", gitOutage, got)
		}
		if err := e.git.up(); err != nil {
			t.Fatalf("git server back: %v", err)
		}
		back := time.Now()
		waitFor(t, e.n, serving+" once the git server is back", 3*time.Minute, e.answers(host, serving), "faults", "ebb-system")
		applied := time.Since(back)
		r := l.stop()
		t.Logf("git server down %v; %s %v after it came back; load: %v", back.Sub(down).Round(time.Millisecond), serving, applied.Round(time.Millisecond), r)
		if len(r.failed) > 0 {
			t.Errorf("requests failed while the git server was down: %v", r)
		}
		// The ledger commit recording the new revision follows the push.
		rev, version, _ := strings.Cut(serving, " ")
		version = "faults: " + strings.Trim(version, "()") + ","
		var pushed, recorded int = -1, -1
		log := e.ledger(t)
		for i, s := range log {
			if pushed < 0 && strings.HasPrefix(s, version) {
				pushed = i
			}
			if recorded < 0 && strings.Contains(s, rev) {
				recorded = i
			}
		}
		if pushed < 0 || recorded < 0 || recorded > pushed {
			t.Errorf("git log: want a ledger commit naming %s after %q; log (newest first):\n%s", rev, version, strings.Join(log[:min(len(log), 15)], "\n"))
		}
		if diff := cmp.Diff(pods, e.podRestarts(t, controllerSelector)); diff != "" {
			t.Errorf("controller pods and their restarts (-want +got):\n%s", diff)
		}
	})

	for _, tc := range []struct {
		name string
		pods int // how many of the gateway's pods go; 0 for all
		// force deletes with grace period 0, as `kubectl delete pod
		// --force --grace-period=0` does: no drain.
		force bool
	}{
		{"a gateway pod deleted", 1, false},
		{"every gateway pod deleted", 0, false},
		{"every gateway pod force-deleted", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) { e.deleteGateways(t, host, serving, tc.pods, tc.force) })
	}
}

// convergenceProbes is how many requests, each on a new connection, must
// answer through the gateway Service once the data plane has converged.
// kube-proxy picks an endpoint at random for each new connection: were one
// of the gateway's two endpoints stale, 20 answers in a row would have a
// chance of 2^-20, about one in a million.
const convergenceProbes = 20

// deleteGateways deletes count of the gateway's Ready pods (all for 0), as
// `kubectl delete pod` does (with force, at once and without a drain),
// while a bounded load runs on host. Requests may fail only from the
// delete until the data plane has converged, which the test observes in
// turn: as many new pods Ready; the deleted pods gone from the API; their
// processes ended (their addresses accept no connection); the gateway
// Service's EndpointSlices listing only the pods serving now, Ready; and
// kube-proxy's rules in the node sending the Service's connections to
// those pods and nowhere else. The failures are counted and logged. Then
// convergenceProbes requests on new connections through the Service, and
// each new pod asked directly, answer want for host.
func (e *ebb) deleteGateways(t *testing.T, host, want string, count int, force bool) {
	t.Helper()
	old := e.readyPods(t, gatewaySelector)
	if count == 0 {
		count = len(old)
	}
	if len(old) < count {
		t.Fatalf("%d gateway pods Ready, want %d", len(old), count)
	}
	victims := old[:count]
	l := e.startLoad(t, host, 4, 10*time.Millisecond, 4*time.Minute, 100000)
	e.loadUnderWay(t, l, 100)
	deleted := time.Since(l.start)
	var names []string
	var opts metav1.DeleteOptions
	if force {
		opts.GracePeriodSeconds = new(int64(0))
	}
	for _, v := range victims {
		if err := e.cs.CoreV1().Pods("ebb-system").Delete(t.Context(), v.Name, opts); err != nil {
			t.Fatal(err)
		}
		names = append(names, v.Name)
	}
	isOld := func(p corev1.Pod) bool {
		return slices.ContainsFunc(old, func(o corev1.Pod) bool { return o.Name == p.Name })
	}
	var fresh []corev1.Pod
	waitFor(t, e.n, fmt.Sprintf("%d new gateway pods Ready", count), 3*time.Minute, func(ctx context.Context) string {
		fresh = slices.DeleteFunc(e.readyPods(t, gatewaySelector), isOld)
		if len(fresh) < count {
			return fmt.Sprintf("%d new gateway pods Ready", len(fresh))
		}
		return ""
	}, "ebb-system")
	readyAt := time.Since(l.start)
	waitFor(t, e.n, "the deleted gateway pods gone", 3*time.Minute, func(ctx context.Context) string {
		for _, v := range victims {
			if _, err := e.cs.CoreV1().Pods("ebb-system").Get(ctx, v.Name, metav1.GetOptions{}); err == nil {
				return v.Name + " still there"
			}
		}
		return ""
	}, "ebb-system")
	goneAt := time.Since(l.start)
	waitFor(t, e.n, "the deleted gateway pods' processes ended", time.Minute, e.ended(victims), "ebb-system")
	endedAt := time.Since(l.start)
	serving := e.readyPods(t, gatewaySelector)
	waitFor(t, e.n, "the gateway's EndpointSlices listing only the pods serving", time.Minute, e.endpointsOnly(serving), "ebb-system")
	listedAt := time.Since(l.start)
	waitFor(t, e.n, "kube-proxy's rules leading only to the pods serving", time.Minute, e.proxiesOnly(serving), "ebb-system")
	end := time.Since(l.start)
	probes := e.onNewConnections(t.Context(), host, want, convergenceProbes)
	e.loadUnderWay(t, l, l.seen()+200)
	r := l.stop()
	t.Logf("gateway pods %v deleted (force %v) at %v; %d new Ready at %v; the old gone from the API at %v, their processes ended at %v; EndpointSlices converged at %v, kube-proxy's rules at %v; load: %v",
		names, force, deleted.Round(time.Millisecond), count, readyAt.Round(time.Millisecond), goneAt.Round(time.Millisecond),
		endedAt.Round(time.Millisecond), listedAt.Round(time.Millisecond), end.Round(time.Millisecond), r)
	for _, f := range r.failed {
		if f.at < deleted || f.at > end {
			t.Errorf("a request failed at %v, outside the gateway's change (%v to %v): %s", f.at, deleted, end, f.err)
		}
	}
	if len(probes) > 0 {
		t.Errorf("%d of %d requests on new connections through the gateway Service failed once the data plane had converged:\n%s",
			len(probes), convergenceProbes, strings.Join(probes, "\n"))
	}
	for _, p := range fresh {
		got, err := e.getAt(t.Context(), net.JoinHostPort(p.Status.PodIP, gatewayPort), host)
		if err != nil || got != want {
			t.Errorf("the new gateway pod %s answers %q, %v; want %q", p.Name, got, err, want)
		}
	}
}

// loadUnderWay waits until l has sent at least n requests.
func (e *ebb) loadUnderWay(t *testing.T, l *load, n int) {
	t.Helper()
	waitFor(t, e.n, fmt.Sprintf("%d requests sent", n), 2*time.Minute, func(context.Context) string {
		if got := l.seen(); got < n {
			return fmt.Sprintf("%d requests sent", got)
		}
		return ""
	})
}

// readyPods lists the pods of ebb-system that selector selects, Ready and
// not being deleted, by name.
func (e *ebb) readyPods(t *testing.T, selector string) []corev1.Pod {
	t.Helper()
	pods, err := e.cs.CoreV1().Pods("ebb-system").List(t.Context(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				out = append(out, p)
			}
		}
	}
	slices.SortFunc(out, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return out
}
