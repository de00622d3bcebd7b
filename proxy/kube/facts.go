package kube

import (
	"context"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	kubeapi "github.com/ebb-dev/ebb/internal/kube"
	"github.com/ebb-dev/ebb/proxy/route"
)

// RevisionFacts reads what the activator must know of a revision
// (container concurrency, timeouts, protocol) from its Deployment's
// queue-proxy environment. The route table carries these facts for the
// "ebb" ingress class; revisions routed by HTTPRoutes, VirtualServices or
// KIngresses have no route table, and reach the activator with only their
// name.
type RevisionFacts struct {
	informer cache.SharedIndexInformer
}

// NewRevisionFacts follows the revision Deployments in namespace ("" for
// all), keeping only their queue-proxy's environment.
func NewRevisionFacts(k *kubeapi.Clients, namespace string) *RevisionFacts {
	inf := kubeapi.Informer(k.Apps, "deployments", namespace, &appsv1.Deployment{},
		func(lo *metav1.ListOptions) { lo.LabelSelector = route.RevisionLabel })
	_ = inf.SetTransform(func(obj any) (any, error) {
		d, ok := obj.(*appsv1.Deployment)
		if !ok {
			return obj, nil
		}
		out := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: d.Name, Namespace: d.Namespace,
			ResourceVersion: d.ResourceVersion, Labels: map[string]string{route.RevisionLabel: d.Labels[route.RevisionLabel]}}}
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name == "queue-proxy" {
				var env []corev1.EnvVar
				for _, e := range c.Env {
					if e.ValueFrom == nil {
						env = append(env, corev1.EnvVar{Name: e.Name, Value: e.Value})
					}
				}
				out.Spec.Template.Spec.Containers = []corev1.Container{{Name: c.Name, Env: env}}
			}
		}
		return out, nil
	})
	_ = inf.AddIndexers(cache.Indexers{byRevision: func(obj any) ([]string, error) {
		d, ok := obj.(*appsv1.Deployment)
		if !ok || d.Labels[route.RevisionLabel] == "" {
			return nil, nil
		}
		return []string{d.Namespace + "/" + d.Labels[route.RevisionLabel]}, nil
	}})
	return &RevisionFacts{informer: inf}
}

// Run follows the Deployments until ctx ends.
func (f *RevisionFacts) Run(ctx context.Context) { f.informer.RunWithContext(ctx) }

// HasSynced reports whether the first list has been read.
func (f *RevisionFacts) HasSynced() bool { return f.informer.HasSynced() }

// byRevision indexes the Deployments by namespace and revision label.
const byRevision = "revision"

// Revision returns the facts of a revision, from its Deployment (the one
// labelled with the revision's name).
func (f *RevisionFacts) Revision(namespace, name string) (route.Revision, bool) {
	objs, _ := f.informer.GetIndexer().ByIndex(byRevision, namespace+"/"+name)
	if len(objs) == 0 {
		return route.Revision{}, false
	}
	d := objs[0].(*appsv1.Deployment)
	if len(d.Spec.Template.Spec.Containers) == 0 {
		return route.Revision{}, false
	}
	return RevisionOf(namespace, name, d.Spec.Template.Spec.Containers[0].Env), true
}

// RevisionOf reads a revision's facts from its queue-proxy's environment
// (the variables Knative's queue-proxy takes).
func RevisionOf(namespace, name string, env []corev1.EnvVar) route.Revision {
	r := route.Revision{Namespace: namespace, Name: name, Protocol: route.ProtocolHTTP1, TimeoutSeconds: 300}
	num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	for _, e := range env {
		switch e.Name {
		case "SERVING_SERVICE":
			r.Service = e.Value
		case "CONTAINER_CONCURRENCY":
			r.ContainerConcurrency = int(num(e.Value))
		case "REVISION_TIMEOUT_SECONDS":
			if n := num(e.Value); n > 0 {
				r.TimeoutSeconds = n
			}
		case "REVISION_RESPONSE_START_TIMEOUT_SECONDS":
			r.ResponseStartTimeoutSeconds = num(e.Value)
		case "REVISION_IDLE_TIMEOUT_SECONDS":
			r.IdleTimeoutSeconds = num(e.Value)
		case "QUEUE_SERVING_PORT":
			if e.Value == "8013" {
				r.Protocol = route.ProtocolH2C
			}
		}
	}
	return r
}
