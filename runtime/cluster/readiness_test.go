package cluster

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestRevisionFailure(t *testing.T) {
	one, zero := int32(1), int32(0)
	deploy := func(replicas *int32, ready int32, conds ...appsv1.DeploymentCondition) *appsv1.Deployment {
		return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: replicas},
			Status: appsv1.DeploymentStatus{ReadyReplicas: ready, AvailableReplicas: ready, Conditions: conds}}
	}
	timedOut := appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
		Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "hello-00002-deployment-5d8" has timed out progressing.`}
	quota := appsv1.DeploymentCondition{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue,
		Reason: "FailedCreate", Message: `pods "x" is forbidden: exceeded quota`}
	pod := func(statuses ...corev1.ContainerStatus) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: statuses}}
	}
	exited := func(name string, code int32, msg string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Message: msg}}}
	}
	waiting := corev1.ContainerStatus{Name: "user-container", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
		Reason: "ImagePullBackOff", Message: `Back-off pulling image "example.com/nope"`}}}
	unschedulable := &corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled,
		Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available: 1 Insufficient cpu."}}}}
	for _, tc := range []struct {
		name string
		d    *appsv1.Deployment
		pod  *corev1.Pod
		want string // "" when not failed
	}{
		{"no Deployment", nil, nil, ""},
		{"scaled to zero", deploy(&zero, 0, timedOut), pod(exited("user-container", 1, "boom")), ""},
		{"ready", deploy(&one, 1), pod(exited("user-container", 1, "boom")), ""},
		{"starting", deploy(&one, 0), pod(), ""},
		{"exit code", deploy(&one, 0), pod(exited("user-container", 1, "boom")), "ExitCode1: Container failed with: boom"},
		{"exit code 0", deploy(&one, 0), pod(exited("user-container", 0, "")), "ExitCode0: Container failed with: container exited with no error"},
		{"queue-proxy exits", deploy(&one, 0), pod(exited(queueContainer, 2, "x")), ""},
		{"waiting, in time", deploy(&one, 0), pod(waiting), ""},
		{"waiting, timed out", deploy(&one, 0, timedOut), pod(waiting), `ImagePullBackOff: Back-off pulling image "example.com/nope"`},
		{"timed out, no pod", deploy(&one, 0, timedOut), nil, `ProgressDeadlineExceeded: ReplicaSet "hello-00002-deployment-5d8" has timed out progressing.`},
		{"cannot make pods", deploy(&one, 0, quota), nil, `FailedCreate: pods "x" is forbidden: exceeded quota`},
		{"unschedulable, timed out", deploy(&one, 0, timedOut), unschedulable, "Unschedulable: 0/1 nodes are available: 1 Insufficient cpu."},
	} {
		got := ""
		if f, failed := revisionFailure(tc.d, tc.pod); failed {
			got = f.String()
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
