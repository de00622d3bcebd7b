package kube

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// ListWatch lists and watches resource in namespace ("" for all) through
// c, a client of the resource's group version; tweak, when not nil,
// changes the options of every request (a label selector). A request's
// TimeoutSeconds bounds it on the client too, as in client-go's typed
// clients.
func ListWatch(c rest.Interface, resource, namespace string, tweak func(*metav1.ListOptions)) *cache.ListWatch {
	req := func(opts metav1.ListOptions) *rest.Request {
		if tweak != nil {
			tweak(&opts)
		}
		var timeout time.Duration
		if opts.TimeoutSeconds != nil {
			timeout = time.Duration(*opts.TimeoutSeconds) * time.Second
		}
		return c.Get().Namespace(namespace).Resource(resource).
			VersionedParams(&opts, metav1.ParameterCodec).Timeout(timeout)
	}
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return req(opts).Do(ctx).Get()
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.Watch = true
			return req(opts).Watch(ctx)
		},
	}
}

// Informer returns an informer of resource in namespace ("" for all)
// holding objects of obj's type, as client-go's informer factories make
// them: no periodic resync, indexed by namespace. Run starts it.
func Informer(c rest.Interface, resource, namespace string, obj runtime.Object, tweak func(*metav1.ListOptions)) cache.SharedIndexInformer {
	return cache.NewSharedIndexInformer(ListWatch(c, resource, namespace, tweak), obj, 0,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
}
