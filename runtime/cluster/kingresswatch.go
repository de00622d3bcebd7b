package cluster

import (
	"context"
	"log/slog"
	"sync"
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
	log      *slog.Logger
	onChange func()

	mu  sync.Mutex
	inf cache.SharedIndexInformer // the running Run's; nil between runs
}

// crdRetry is how often KIngresses looks again for the KIngress CRD while
// it is not installed.
const crdRetry = time.Minute

// NewKIngresses returns a follower of the KIngresses dyn reaches; Run
// follows them. onChange, if set, is called (on the watch's goroutine)
// when one is added or changes.
func NewKIngresses(dyn dynamic.Interface, log *slog.Logger, onChange func()) *KIngresses {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &KIngresses{res: dyn.Resource(KIngressResource), log: log, onChange: onChange}
}

// Run follows the KIngresses until ctx ends, each run with a watch of its
// own (a replica may lead again). While the KIngress CRD is not installed
// it looks for it again every minute, quietly.
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
	inf := k.informer()
	k.mu.Lock()
	k.inf = inf
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		k.inf = nil
		k.mu.Unlock()
	}()
	inf.RunWithContext(ctx)
}

// informer is a watch of the KIngresses keeping only what an edge report
// reads (not the rules), telling onChange of every addition and change.
func (k *KIngresses) informer() cache.SharedIndexInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return k.res.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return k.res.Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(lw, &unstructured.Unstructured{}, 0, cache.Indexers{})
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
	changed := func() {
		if k.onChange != nil {
			k.onChange()
		}
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { changed() },
		UpdateFunc: func(any, any) { changed() },
	})
	return inf
}

// Programmed are the reports of every KIngress followed, by
// namespace/name; none while Run does not run.
func (k *KIngresses) Programmed() serving.Programmed {
	k.mu.Lock()
	inf := k.inf
	k.mu.Unlock()
	if inf == nil {
		return nil
	}
	items := inf.GetStore().List()
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
