package kubetest

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// EnsureNode creates a Node named name whose status says Ready, if there is
// none. No kubelet stands behind it: it is a place to bind Pods to.
func EnsureNode(ctx context.Context, cs kubernetes.Interface, name string) (*corev1.Node, error) {
	node, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, err = cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", name, err)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		now := metav1.Now()
		node.Status.Conditions = append(node.Status.Conditions, corev1.NodeCondition{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			LastHeartbeatTime: now, LastTransitionTime: now,
		})
		updated, err := cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		if err == nil {
			node = updated
			return nil
		}
		// The controller-manager updates new Nodes too; retry on the latest.
		if latest, getErr := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); getErr == nil {
			node = latest
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("node %s: status: %w", name, err)
	}
	return node, nil
}

// RunPod makes the existing Pod namespace/name look like a kubelet runs it:
// it binds the Pod to node (created by EnsureNode if missing) through the
// pods/binding subresource, then sets its status to Running and Ready with
// podIP and every container started and ready. EndpointSlices refuse
// loopback addresses, so podIP should not be one (10.x.y.z is fine).
func RunPod(ctx context.Context, cs kubernetes.Interface, namespace, name, node, podIP string) (*corev1.Pod, error) {
	if _, err := EnsureNode(ctx, cs, node); err != nil {
		return nil, err
	}
	pods := cs.CoreV1().Pods(namespace)
	pod, err := pods.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s: %w", namespace, name, err)
	}
	if pod.Spec.NodeName == "" {
		binding := &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
			Target:     corev1.ObjectReference{Kind: "Node", Name: node},
		}
		if err := pods.Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("pod %s/%s: bind to %s: %w", namespace, name, node, err)
		}
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		latest, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		setRunning(latest, podIP)
		pod, err = pods.UpdateStatus(ctx, latest, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s: status: %w", namespace, name, err)
	}
	return pod, nil
}

// setRunning sets pod's status to what a kubelet reports for a pod whose
// containers all started and are ready.
func setRunning(pod *corev1.Pod, podIP string) {
	now := metav1.Now()
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP = podIP
	pod.Status.PodIPs = []corev1.PodIP{{IP: podIP}}
	pod.Status.HostIP = "10.255.0.1"
	pod.Status.StartTime = &now
	pod.Status.Conditions = nil
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{
			Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now,
		})
	}
	pod.Status.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		started := true
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, Ready: true, Started: &started,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
}
