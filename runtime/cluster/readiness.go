package cluster

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/ebb-dev/ebb/internal/kube"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/names"
)

// Why a revision's pods do not come up, in Knative's words (its revision
// reconciler's ExitCodeReason, RevisionContainerExitingMessage and
// ProgressDeadlineExceeded).
const (
	reasonProgressDeadline = "ProgressDeadlineExceeded"
	queueContainer         = "queue-proxy"
)

// Failure is why a revision's pods do not come up.
type Failure struct {
	Reason, Message string
}

func (f Failure) String() string {
	if f.Message == "" {
		return f.Reason
	}
	return f.Reason + ": " + f.Message
}

// revisionFailure reads, as Knative's revision reconciler does, why a
// revision that wants pods has none available: its Deployment past its
// progress deadline or unable to make pods, or its first pod's user
// container exiting (ExitCode<N>) or, past the deadline, waiting
// (ImagePullBackOff, CrashLoopBackOff…). pod is nil when none is known.
func revisionFailure(d *appsv1.Deployment, pod *corev1.Pod) (Failure, bool) {
	if d == nil || d.Spec.Replicas == nil || *d.Spec.Replicas == 0 || d.Status.AvailableReplicas > 0 || d.Status.ReadyReplicas > 0 {
		return Failure{}, false
	}
	timedOut := false
	var f Failure
	for _, c := range d.Status.Conditions {
		switch {
		case c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == reasonProgressDeadline:
			timedOut = true
			f = Failure{Reason: reasonProgressDeadline, Message: c.Message}
		case c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue && f.Reason == "":
			f = Failure{Reason: c.Reason, Message: c.Message}
		}
	}
	if pod != nil {
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && timedOut {
				f = Failure{Reason: c.Reason, Message: c.Message}
			}
		}
		for _, s := range pod.Status.ContainerStatuses {
			if s.Name == queueContainer {
				continue
			}
			if t := s.LastTerminationState.Terminated; t != nil {
				msg := t.Message
				if t.ExitCode == 0 && msg == "" {
					msg = "container exited with no error"
				}
				return Failure{Reason: fmt.Sprint("ExitCode", t.ExitCode), Message: "Container failed with: " + msg}, true
			}
			if w := s.State.Waiting; w != nil && timedOut {
				return Failure{Reason: w.Reason, Message: w.Message}, true
			}
		}
	}
	return f, f.Reason != ""
}

// newPods follows the revisions' pods, keeping of each only what
// revisionFailure reads.
func newPods(k *kube.Clients) cache.SharedIndexInformer {
	pods := kube.Informer(k.Core, "pods", "", &corev1.Pod{},
		func(lo *metav1.ListOptions) { lo.LabelSelector = route.RevisionLabel })
	_ = pods.AddIndexers(cache.Indexers{byRevision: func(obj any) ([]string, error) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return nil, nil
		}
		return []string{p.Namespace + "/" + p.Labels[route.RevisionLabel]}, nil
	}})
	_ = pods.SetTransform(func(obj any) (any, error) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return obj, nil
		}
		slim := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, ResourceVersion: p.ResourceVersion,
			CreationTimestamp: p.CreationTimestamp, Labels: map[string]string{route.RevisionLabel: p.Labels[route.RevisionLabel]}}}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled {
				slim.Status.Conditions = append(slim.Status.Conditions, corev1.PodCondition{Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message})
			}
		}
		for _, s := range p.Status.ContainerStatuses {
			slim.Status.ContainerStatuses = append(slim.Status.ContainerStatuses, corev1.ContainerStatus{Name: s.Name,
				State: corev1.ContainerState{Waiting: s.State.Waiting}, LastTerminationState: corev1.ContainerState{Terminated: s.LastTerminationState.Terminated}})
		}
		return slim, nil
	})
	return pods
}

// byRevision indexes pods by namespace/revision.
const byRevision = "revision"

// Failure reports why a revision's pods do not come up, if they do not.
func (r *Runtime) Failure(namespace, revision string) (Failure, bool) {
	d, ok := r.deployment(namespace, revision)
	if !ok {
		return Failure{}, false
	}
	var first *corev1.Pod
	pods, _ := r.pods.GetIndexer().ByIndex(byRevision, namespace+"/"+revision)
	for _, o := range pods {
		if p, ok := o.(*corev1.Pod); ok && (first == nil || p.CreationTimestamp.Before(&first.CreationTimestamp) ||
			(p.CreationTimestamp.Equal(&first.CreationTimestamp) && p.Name < first.Name)) {
			first = p
		}
	}
	return revisionFailure(d, first)
}

// Observed is what the cluster has shown of the revisions since this
// Runtime started: which have become ready (see readyNow).
func (r *Runtime) Observed() serving.Observed {
	return serving.Observed{Ready: func(namespace, revision string) bool {
		key := scaler.RevisionKey{Namespace: namespace, Name: revision}
		r.mu.Lock()
		ready := r.everReady[key]
		r.mu.Unlock()
		return ready || r.readyNow(key)
	}}
}

// readyNow reports whether the revision may be routed now: a pod of it is
// ready (by its Deployment or its private Service's endpoints) and its
// public Service has endpoints. The public Service is what every ingress
// names (a KIngress split, an HTTPRoute's backendRef, a VirtualService's
// destination), and its EndpointSlice is written after the pod is ready:
// a revision routed before then would meet a Service without endpoints.
// It is Knative's rule: a Revision is Ready only once its
// ServerlessService is, its public endpoints written.
func (r *Runtime) readyNow(key scaler.RevisionKey) bool {
	return r.podReady(key) && r.publicReady(key)
}

// podReady reports whether a pod of the revision passed its readiness
// probe.
func (r *Runtime) podReady(key scaler.RevisionKey) bool {
	if len(r.endpoints.Private(key.Namespace, key.Name)) > 0 {
		return true
	}
	d, ok := r.deployment(key.Namespace, key.Name)
	return ok && d.Status.ReadyReplicas > 0
}

// publicReady reports whether the revision's public EndpointSlice, as ebb
// wrote it, lists addresses (every address ebb writes is ready): its pods
// in serve mode, activators in proxy mode.
func (r *Runtime) publicReady(key scaler.RevisionKey) bool {
	p, ok := r.endpoints.Public(key.Namespace, key.Name)
	return ok && len(p.Addresses) > 0
}

// publicChanged notes the revision whose public EndpointSlice s is: its
// addresses written may make it ready.
func (r *Runtime) publicChanged(s *discoveryv1.EndpointSlice, deleted bool) {
	rev := s.Labels[route.RevisionLabel]
	if deleted || rev == "" || s.Name != names.PublicService(rev) {
		return
	}
	r.noteReady(scaler.RevisionKey{Namespace: s.Namespace, Name: rev})
}

// noteReady records that a revision has become ready, if it has, and
// tells OnReady the first time. A revision whose pod is ready but whose
// public EndpointSlice is not written yet, because the autoscaler has set
// no mode for it yet, is prompted (RuntimeOptions.Prompt).
func (r *Runtime) noteReady(key scaler.RevisionKey) {
	if !r.podReady(key) {
		return
	}
	if !r.publicReady(key) {
		r.mu.Lock()
		_, moded := r.modes[key]
		r.mu.Unlock()
		if !moded && r.prompt != nil {
			r.prompt(key)
		}
		return
	}
	r.mu.Lock()
	first := !r.everReady[key]
	r.everReady[key] = true
	r.mu.Unlock()
	if first && r.onReady != nil {
		r.onReady(key)
	}
}
