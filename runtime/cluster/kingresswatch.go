package cluster

import (
	"context"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/serving"
)

// KIngressResource is Knative's KIngress in the API.
var KIngressResource = schema.GroupVersionResource{Group: "networking.internal.knative.dev", Version: "v1alpha1", Resource: "ingresses"}

// KIngresses follows the KIngress objects with a watch, so that a
// gradual rollout moves on as soon as a net-* controller reports a share
// programmed (see serving.Programmed), not at the status refresh.
type KIngresses struct {
	res      dynamic.NamespaceableResourceInterface
	inf      cache.SharedIndexInformer
	log      *slog.Logger
	onChange func()
}

// crdRetry is how often KIngresses looks again for the KIngress CRD while
// it is not installed.
const crdRetry = time.Minute

// NewKIngresses returns a follower of the KIngresses dyn reaches; Run
// starts it. onChange, if set, is called (on the informer's goroutine)
// when one is added or changes.
func NewKIngresses(dyn dynamic.Interface, log *slog.Logger, onChange func()) *KIngresses {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	res := dyn.Resource(KIngressResource)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return res.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return res.Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(lw, &unstructured.Unstructured{}, 0, cache.Indexers{})
	// Only what an edge report reads is kept: not the rules.
	_ = inf.SetTransform(func(obj any) (any, error) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return obj, nil
		}
		slim := &unstructured.Unstructured{Object: map[string]any{"status": u.Object["status"]}}
		slim.SetGroupVersionKind(u.GroupVersionKind())
		slim.SetName(u.GetName())
		slim.SetNamespace(u.GetNamespace())
		slim.SetGeneration(u.GetGeneration())
		slim.SetResourceVersion(u.GetResourceVersion())
		if v, ok := u.GetAnnotations()[render.AnnotationRollout]; ok {
			slim.SetAnnotations(map[string]string{render.AnnotationRollout: v})
		}
		return slim, nil
	})
	k := &KIngresses{res: res, inf: inf, log: log, onChange: onChange}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { k.changed() },
		UpdateFunc: func(any, any) { k.changed() },
	})
	return k
}

func (k *KIngresses) changed() {
	if k.onChange != nil {
		k.onChange()
	}
}

// Run follows the KIngresses until ctx ends. While the KIngress CRD is not
// installed it looks for it again every minute, quietly.
func (k *KIngresses) Run(ctx context.Context) {
	for {
		_, err := k.res.List(ctx, metav1.ListOptions{Limit: 1})
		if !apierrors.IsNotFound(err) {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(crdRetry):
		}
	}
	k.inf.RunWithContext(ctx)
}

// HasSynced reports whether the first list has been read.
func (k *KIngresses) HasSynced() bool { return k.inf.HasSynced() }

// Programmed are the reports of every KIngress followed, by
// namespace/name.
func (k *KIngresses) Programmed() serving.Programmed {
	items := k.inf.GetStore().List()
	out := make(serving.Programmed, len(items))
	for _, o := range items {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		var st kingressStatus
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &st); err != nil {
			k.log.Warn("read KIngress", "namespace", u.GetNamespace(), "name", u.GetName(), "error", err)
			continue
		}
		out[st.Metadata.Namespace+"/"+st.Metadata.Name] = st.edge()
	}
	return out
}

// edge is what the KIngress reports of its route: its generation, the
// one its controller has programmed (when Ready for it, as health reads
// it), and the rollout's newest revision and percent it carries.
func (k *kingressStatus) edge() serving.Edge {
	e := serving.Edge{Generation: k.Metadata.Generation}
	if k.health().Ready == engine.True {
		e.ProgrammedGeneration = k.Status.ObservedGeneration
	}
	e.Revision, e.Percent, _ = render.RolloutNewest(k.Metadata.Annotations[render.AnnotationRollout], k.Metadata.Name)
	return e
}
