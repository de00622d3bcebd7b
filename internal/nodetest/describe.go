//go:build linux

package nodetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Describe says what the pods of namespace ns are doing and what Events
// the namespace has: a test prints it when a pod does not become what it
// waited for.
func (n *Node) Describe(ctx context.Context, ns string) string {
	cs, err := kubernetes.NewForConfig(n.Config())
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(&b, "pods: %v\n", err)
	} else {
		for _, p := range pods.Items {
			fmt.Fprintf(&b, "pod %s: %s %s\n", p.Name, p.Status.Phase, p.Status.Message)
			for _, c := range p.Status.Conditions {
				fmt.Fprintf(&b, "  %s=%s %s %s\n", c.Type, c.Status, c.Reason, c.Message)
			}
			for _, c := range p.Status.ContainerStatuses {
				fmt.Fprintf(&b, "  container %s ready=%v restarts=%d state=%+v last=%+v\n", c.Name, c.Ready, c.RestartCount, c.State, c.LastTerminationState)
				if !c.Ready {
					fmt.Fprintf(&b, "  last lines of its log:\n%s\n", n.containerLog(ns, p.Name, string(p.UID), c.Name, 20))
				}
			}
		}
	}
	events, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(&b, "events: %v\n", err)
	} else {
		for _, e := range events.Items {
			fmt.Fprintf(&b, "event %s %s/%s: %s %s\n", e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
	return b.String()
}

// containerLog returns the last lines of a container's logs, read from the
// kubelet's pod log directory: <ns>_<pod>_<uid>/<container>/<restart>.log.
func (n *Node) containerLog(ns, pod, uid, container string, lines int) string {
	files, _ := filepath.Glob(filepath.Join(n.Dir, "pod-logs", ns+"_"+pod+"_"+uid, container, "*.log"))
	if len(files) == 0 {
		return "(no log)"
	}
	b, err := os.ReadFile(files[len(files)-1])
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

// Logs returns the last lines of the logs of every container of the pods
// of namespace ns that selector selects, for failure messages.
func (n *Node) Logs(ctx context.Context, ns, selector string, lines int) string {
	cs, err := kubernetes.NewForConfig(n.Config())
	if err != nil {
		return err.Error()
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range pods.Items {
		for _, c := range p.Spec.Containers {
			fmt.Fprintf(&b, "pod %s/%s container %s:\n%s\n", ns, p.Name, c.Name, n.containerLog(ns, p.Name, string(p.UID), c.Name, lines))
		}
	}
	return b.String()
}
