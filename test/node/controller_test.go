//go:build linux

package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/internal/gittest"
)

// controllerSelector selects the controller's pods.
const controllerSelector = "app.kubernetes.io/name=ebb-controller"

// leader returns the holder of the controller's Lease, ebb-system/ebb-controller
// (the leading pod's name), or "" with why there is none.
func (e *ebb) leader(ctx context.Context) (string, string) {
	l, err := e.cs.CoordinationV1().Leases("ebb-system").Get(ctx, "ebb-controller", metav1.GetOptions{})
	if err != nil {
		return "", err.Error()
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return "", "Lease ebb-controller has no holder"
	}
	return *l.Spec.HolderIdentity, ""
}

// podRestarts maps each pod of ebb-system that selector selects, and that
// is not being deleted, to its containers' restarts.
func (e *ebb) podRestarts(t *testing.T, selector string) map[string]int32 {
	t.Helper()
	pods, err := e.cs.CoreV1().Pods("ebb-system").List(t.Context(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int32{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		out[p.Name] = 0
		for _, c := range p.Status.ContainerStatuses {
			out[p.Name] += c.RestartCount
		}
	}
	return out
}

// workloads lists every Deployment and Service of the cluster outside
// kube-system and default, as "Deployment ns/name": what must still be
// there after a fault.
func (e *ebb) workloads(t *testing.T) []string {
	t.Helper()
	var out []string
	ds, err := e.cs.AppsV1().Deployments("").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds.Items {
		out = append(out, "Deployment "+d.Namespace+"/"+d.Name)
	}
	ss, err := e.cs.CoreV1().Services("").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss.Items {
		out = append(out, "Service "+s.Namespace+"/"+s.Name)
	}
	out = slices.DeleteFunc(out, func(s string) bool {
		return strings.Contains(s, " kube-system/") || strings.Contains(s, " default/")
	})
	slices.Sort(out)
	return out
}

// missingFrom returns what of before is not in after.
func missingFrom(before, after []string) []string {
	var out []string
	for _, s := range before {
		if !slices.Contains(after, s) {
			out = append(out, s)
		}
	}
	return out
}

// ledger returns the subjects of the serving repository's commits, newest
// first, as `git log --format=%s` prints them after a pull.
func (e *ebb) ledger(t *testing.T) []string {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.work.Git("pull", "-q", "--rebase", "origin", gittest.Branch); err != nil {
		t.Fatal(err)
	}
	out, err := e.work.Git("log", "--format=%s")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(out), "\n")
}

// serviceStatus is what the controller publishes of a Service in its
// status ConfigMap, ebb-system/ebb-status-main (key status.json), as
// `kubectl -n ebb-system get configmap ebb-status-main` shows it.
type serviceStatus struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Ready     string `json:"ready"`
	Reason    string `json:"reason"`
	// LoadBalancer is the address of the net-* ingress programming the
	// Service's KIngress, as the KIngress's status gives it.
	LoadBalancer string `json:"loadBalancer"`
	Revisions    []struct {
		Name    string `json:"name"`
		Percent int64  `json:"percent"`
		Ready   string `json:"ready"`
		Reason  string `json:"reason"`
	} `json:"revisions"`
}

// status returns Service ns/name's published status, or why there is none.
func (e *ebb) status(ctx context.Context, ns, name string) (serviceStatus, string) {
	cm, err := e.cs.CoreV1().ConfigMaps("ebb-system").Get(ctx, "ebb-status-main", metav1.GetOptions{})
	if err != nil {
		return serviceStatus{}, err.Error()
	}
	var doc struct {
		Services []serviceStatus `json:"services"`
	}
	if err := json.Unmarshal([]byte(cm.Data["status.json"]), &doc); err != nil {
		return serviceStatus{}, fmt.Sprintf("ebb-status-main: status.json: %v", err)
	}
	for _, s := range doc.Services {
		if s.Namespace == ns && s.Name == name {
			return s, ""
		}
	}
	return serviceStatus{}, fmt.Sprintf("ebb-status-main: no Service %s/%s", ns, name)
}

// source returns the source's condition and message in its published
// status (e.g. why an apply failed), or why there is none.
func (e *ebb) source(ctx context.Context) string {
	cm, err := e.cs.CoreV1().ConfigMaps("ebb-system").Get(ctx, "ebb-status-main", metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	var doc struct {
		Condition string `json:"condition"`
		Message   string `json:"message"`
	}
	if err := json.Unmarshal([]byte(cm.Data["status.json"]), &doc); err != nil {
		return fmt.Sprintf("ebb-status-main: status.json: %v", err)
	}
	return doc.Condition + ": " + doc.Message
}
