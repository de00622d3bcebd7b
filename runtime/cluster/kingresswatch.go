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
	"github.com/ebb-dev/ebb/serving"
)

// KIngressResource is Knative's KIngress in the API.
var KIngressResource = schema.GroupVersionResource{Group: "networking.internal.knative.dev", Version: "v1alpha1", Resource: "ingresses"}

// KIngresses follows the KIngress objects with a watch: a gradual
// rollout moves on as soon as a net-* controller reports a share
// programmed (see serving.Programmed), placeholder Services follow the
// load balancers they report, and the Services' status reads their
// health, all from one cache. Each object is read once, when the watch
// delivers it.
type KIngresses struct {
	res      dynamic.NamespaceableResourceInterface
	log      *slog.Logger
	onChange func()

	mu  sync.Mutex
	inf cache.SharedIndexInformer // the running Run's; nil between runs
	// absent is set while the KIngress CRD is not installed (or ebb may
	// not list KIngresses), synced once the running Run's watch has
	// listed them; wake is closed when either changes.
	absent, synced bool
	wake           chan struct{}
}

// kingressReport is what the watch keeps of a KIngress: its name, and
// what ebb reads of it, read once.
type kingressReport struct {
	metav1.ObjectMeta // namespace, name and resourceVersion: the cache's keys
	edge              serving.Edge
	health            engine.IngressHealth
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
	return &KIngresses{res: dyn.Resource(KIngressResource), log: log, onChange: onChange, wake: make(chan struct{})}
}

// Run follows the KIngresses until ctx ends, each run with a watch of its
// own (a replica may lead again). While the KIngress CRD is not installed
// (or ebb may not list KIngresses) it looks again every minute, quietly.
func (k *KIngresses) Run(ctx context.Context) {
	for {
		_, err := k.res.List(ctx, metav1.ListOptions{Limit: 1})
		if !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) {
			break
		}
		k.setState(nil, true, false)
		select {
		case <-ctx.Done():
			k.setState(nil, false, false)
			return
		case <-time.After(crdRetry):
		}
	}
	inf := k.informer()
	k.setState(inf, false, false)
	defer k.setState(nil, false, false)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		if cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
			k.setState(inf, false, true)
		}
	})
	inf.RunWithContext(ctx)
}

func (k *KIngresses) setState(inf cache.SharedIndexInformer, absent, synced bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.inf, k.absent, k.synced = inf, absent, synced
	close(k.wake)
	k.wake = make(chan struct{})
}

// WaitForSync waits until what KIngresses reports is complete: the
// running watch has listed every KIngress, or the KIngress CRD is not
// installed (or ebb may not list KIngresses). It returns false when ctx
// ends first.
func (k *KIngresses) WaitForSync(ctx context.Context) bool {
	for {
		k.mu.Lock()
		done, wake := k.absent || k.synced, k.wake
		k.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-wake:
		}
	}
}

// informer is a watch of the KIngresses keeping what ebb reads of each
// (a kingressReport), telling onChange of every addition and change.
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
	_ = inf.SetTransform(k.report)
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

// report reads a KIngress the watch delivers into the kingressReport the
// cache keeps; anything else (a report already) passes unchanged.
func (k *KIngresses) report(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	var st kingressStatus
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &st); err != nil {
		k.log.Warn("read KIngress", "namespace", u.GetNamespace(), "name", u.GetName(), "error", err)
		st = kingressStatus{} // reported as not programmed, its health unknown
		st.Metadata.Generation = u.GetGeneration()
	}
	r := &kingressReport{ObjectMeta: metav1.ObjectMeta{Namespace: u.GetNamespace(), Name: u.GetName(), ResourceVersion: u.GetResourceVersion()}}
	r.edge, r.health = st.read()
	return r, nil
}

// reports are the reports the running watch holds; none while Run does
// not run.
func (k *KIngresses) reports() []any {
	k.mu.Lock()
	inf := k.inf
	k.mu.Unlock()
	if inf == nil {
		return nil
	}
	return inf.GetStore().List()
}

// Programmed are the reports of every KIngress followed, by
// namespace/name; none while Run does not run.
func (k *KIngresses) Programmed() serving.Programmed {
	items := k.reports()
	if items == nil {
		return nil
	}
	out := make(serving.Programmed, len(items))
	for _, o := range items {
		if r, ok := o.(*kingressReport); ok {
			out[r.Namespace+"/"+r.Name] = r.edge
		}
	}
	return out
}

// Health is the health of the KIngress namespace/name as the Services'
// status shows it; !ok when the watch does not hold it (or does not run).
func (k *KIngresses) Health(namespace, name string) (engine.IngressHealth, bool) {
	k.mu.Lock()
	inf := k.inf
	k.mu.Unlock()
	if inf == nil {
		return engine.IngressHealth{}, false
	}
	o, ok, err := inf.GetStore().GetByKey(namespace + "/" + name)
	r, isReport := o.(*kingressReport)
	if err != nil || !ok || !isReport {
		return engine.IngressHealth{}, false
	}
	return r.health, true
}
