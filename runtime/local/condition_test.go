package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/scaler"
)

// shDeployment is a revision Deployment whose user container runs script
// with sh, with a grace period of grace seconds.
func shDeployment(t *testing.T, rev, script string, grace int64) *unstructured.Unstructured {
	t.Helper()
	d := deployment(t, rev, "registry.example/unused", []string{"sh", "-c", script})
	if err := unstructured.SetNestedField(d.Object, grace, "spec", "template", "spec", "terminationGracePeriodSeconds"); err != nil {
		t.Fatal(err)
	}
	return d
}

// waitCondition waits, boundedly, until Watch tells of the revision's
// Readiness having status, and returns it.
func waitCondition(t *testing.T, r *Runtime, rev string, status corev1.ConditionStatus) Readiness {
	t.Helper()
	key := scaler.RevisionKey{Namespace: "default", Name: rev}
	changed, stop := changes(r, rev)
	defer stop()
	deadline := time.After(2 * time.Minute)
	for {
		if c, ok := r.Readiness(key); ok && c.Ready == status {
			return c
		}
		select {
		case <-changed:
		case <-deadline:
			c, _ := r.Readiness(key)
			t.Fatalf("%s: Ready %s, want %s; status %+v", rev, c.Ready, status, r.Status())
		}
	}
}

// TestRuntimeSaysWhyARevisionIsNotReady: a revision that cannot serve is
// False with Knative's reason at its first failure, before any restart,
// and Status says the same.
func TestRuntimeSaysWhyARevisionIsNotReady(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes and the Go toolchain")
	}
	broken := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":          "module example.test/broken\n\ngo 1.26\n",
		"cmd/app/main.go": "package main\n\nfunc main() { nope() }\n",
	} {
		p := filepath.Join(broken, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		obj    *unstructured.Unstructured
		reason string
		// message holds these, in order.
		message []string
	}{
		{"exits 1", shDeployment(t, "a-00001", "echo starting; echo boom >&2; exit 1", 5),
			"ExitCode1", []string{"Container failed with: starting\nboom"}},
		// $$ is an escaped $ in a container's command.
		{"killed", shDeployment(t, "a-00001", "kill -KILL $$$$", 5),
			"ExitCode137", []string{"Container failed with: signal: killed"}},
		{"exits 0", shDeployment(t, "a-00001", "true", 5),
			"ExitCode0", []string{"Container failed with: container exited with no error"}},
		{"missing program", deployment(t, "a-00001", "registry.example/unused", []string{"no-such-program-ebb"}),
			"ExitCode128", []string{"Container failed with: ", `"no-such-program-ebb": executable file not found in $PATH`}},
		{"missing file", deployment(t, "a-00001", "registry.example/unused", []string{"/nonexistent/ebb-app"}),
			"ExitCode128", []string{"Container failed with: start /nonexistent/ebb-app: ", "no such file or directory"}},
		{"build fails", deployment(t, "a-00001", "ko://example.test/broken/cmd/app", nil),
			ReasonBuildFailed, []string{"build ko://example.test/broken/cmd/app: ", "undefined: nope"}},
		{"missing secret", deployment(t, "a-00001", "registry.example/unused", []string{"true"},
			corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Key: "k"}}}),
			ReasonCreateContainerConfigError, []string{`Secret default/nope key "k" not found`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// No restart within the test: what it sees comes from the first
			// failure.
			r := newTestRuntime(t, nil, func(o *Options) {
				o.Backoff = Backoff{Initial: time.Hour, Max: time.Hour, Reset: time.Hour}
				o.Source = func(scaler.RevisionKey) string { return broken }
			})
			_ = r.Apply([]*unstructured.Unstructured{tc.obj})
			c := waitCondition(t, r, "a-00001", corev1.ConditionFalse)
			if c.Reason != tc.reason || !inOrder(c.Message, tc.message) {
				t.Errorf("Readiness %+v, want reason %s and a message with %q", c, tc.reason, tc.message)
			}
			st := r.Status()
			if len(st) == 1 {
				if st[0].Readiness != c {
					t.Errorf("Status says %+v, Readiness %+v", st[0].Readiness, c)
				}
				for _, p := range st[0].Pods {
					if p.Restarts != 0 {
						t.Errorf("pod %s restarted %d times before the revision was False", p.Name, p.Restarts)
					}
				}
				// At zero pods it stays False, as in Knative.
				if err := r.SetScale(context.Background(), st[0].Key, 0); err != nil {
					t.Fatal(err)
				}
				if after, _ := r.Readiness(st[0].Key); after != c {
					t.Errorf("at zero pods: %+v, want %+v", after, c)
				}
			}
		})
	}
}

// inOrder reports whether s holds each of parts, one after the other.
func inOrder(s string, parts []string) bool {
	for _, p := range parts {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}

// TestRuntimeCrashLoopBackOff: a revision that served and then keeps
// crashing is False, CrashLoopBackOff, and True again once a restart is
// ready.
func TestRuntimeCrashLoopBackOff(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hello example")
	}
	r := newTestRuntime(t, nil)
	hello, err := r.opts.Builder.Build(context.Background(), "ko://github.com/ebb-dev/ebb/examples/hello/app")
	if err != nil {
		t.Fatal(err)
	}
	flag := filepath.Join(t.TempDir(), "crash")
	d := shDeployment(t, "hello-00001", `if [ -e `+flag+` ]; then echo crashed >&2; exit 2; fi; exec `+hello, 5)
	if err := r.Apply([]*unstructured.Unstructured{d}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, r, "hello-00001", 1)
	waitCondition(t, r, "hello-00001", corev1.ConditionTrue)

	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(r.Status()[0].Pods[0].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c := waitCondition(t, r, "hello-00001", corev1.ConditionFalse)
	if want := []string{"restarting failed container=user-container pod=hello-00001-1", "; last exit: ExitCode2: Container failed with: crashed"}; c.Reason != ReasonCrashLoopBackOff || !inOrder(c.Message, want) {
		t.Errorf("Readiness %+v, want CrashLoopBackOff and a message with %q", c, want)
	}

	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, r, "hello-00001", corev1.ConditionTrue)
	waitReady(t, r, "hello-00001", 1)
}

// TestRuntimeDoesNotRestartRetiredRevisions: a revision no route reaches
// starts with no pods, and its containers that exit stay down until it is
// reachable again.
func TestRuntimeDoesNotRestartRetiredRevisions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	var reachable atomic.Bool
	reachable.Store(true)
	r := newTestRuntime(t, nil, func(o *Options) {
		o.Reachable = func(key scaler.RevisionKey) bool { return key.Name == "a-00001" && reachable.Load() }
	})
	objs := []*unstructured.Unstructured{shDeployment(t, "a-00001", "exec sleep 600", 5), shDeployment(t, "b-00001", "exec sleep 600", 5)}
	if err := r.Apply(objs); err != nil {
		t.Fatal(err)
	}
	first := waitPod(t, r, "")
	if st := r.Status(); len(st) != 2 || st[1].Key.Name != "b-00001" || st[1].Desired != 0 || len(st[1].Pods) != 0 {
		t.Errorf("a revision no route reaches runs %+v, want no pod", st[1])
	}

	reachable.Store(false)
	if err := syscall.Kill(first.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		r.mu.Lock()
		ended := r.revisions[scaler.RevisionKey{Namespace: "default", Name: "a-00001"}].pods[0].ended()
		r.mu.Unlock()
		if ended {
			break
		}
		if i == 1000 {
			t.Fatalf("the retired revision's container is still supervised: %+v", r.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if p := r.Status()[0].Pods[0]; p.PID != 0 || p.Restarts != 0 {
		t.Errorf("retired pod %+v, want it down and never restarted", p)
	}

	// In use again: the pod is replaced.
	reachable.Store(true)
	if err := r.Apply(objs); err != nil {
		t.Fatal(err)
	}
	if second := waitPod(t, r, first.Name); second.PID == first.PID {
		t.Errorf("the new pod runs the old process %d", first.PID)
	}
}

// waitPod waits, boundedly, until a-00001 runs one pod, not named old,
// with a process.
func waitPod(t *testing.T, r *Runtime, old string) PodStatus {
	t.Helper()
	for range 1000 {
		for _, st := range r.Status() {
			if st.Key.Name == "a-00001" && len(st.Pods) == 1 && st.Pods[0].Name != old && st.Pods[0].PID > 0 {
				return st.Pods[0]
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("a-00001 runs no new process: %+v", r.Status())
	return PodStatus{}
}
