package kube

import (
	"cmp"
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	gosync "sync"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	kubeapi "github.com/ebb-dev/ebb/internal/kube"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/serving/names"
)

// Ports and labels of the revision Services ebb renders, as Knative names
// them.
const (
	// ServingPort is the queue-proxy's (and the activator's) HTTP port.
	ServingPort = 8012
	// TLSPort is the queue-proxy's HTTPS port.
	TLSPort = 8112
	// StatsPort is the queue-proxy's load-stat port.
	StatsPort = 9090

	// ManagedBy is the endpointslice.kubernetes.io/managed-by value of the
	// EndpointSlices ebb writes.
	ManagedBy = "controller.ebb.dev"
	// ModeLabel on a public Service's EndpointSlice says whether it points
	// at the activators ("proxy") or at the revision's pods ("serve").
	ModeLabel = "ebb.dev/mode"
)

// Endpoint is one ready address of a Service.
type Endpoint struct {
	Pod string // the pod's name, "" when the slice does not say
	IP  string
}

// Endpoints follows every EndpointSlice of the cluster through an informer
// and answers who is ready behind a Service. It is the activator's and the
// gateway's Backends: a revision's addresses are the ready endpoints of its
// private Service (names.PrivateService), at the serving port.
type Endpoints struct {
	informer cache.SharedIndexInformer

	mu       gosync.Mutex
	next     int
	watchers map[int]func(namespace, service, revision string)
	sliceFns []func(s *discoveryv1.EndpointSlice, deleted bool)
}

const byService = "service"

// NewEndpoints returns an index of the EndpointSlices the clients see in
// namespace ("" for all); Run fills it.
func NewEndpoints(k *kubeapi.Clients, namespace string) *Endpoints {
	inf := kubeapi.Informer(k.Discovery, "endpointslices", namespace, &discoveryv1.EndpointSlice{}, nil)
	_ = inf.SetTransform(stripManagedFields)
	e := &Endpoints{informer: inf, watchers: map[int]func(string, string, string){}}
	_ = inf.AddIndexers(cache.Indexers{byService: func(obj any) ([]string, error) {
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok {
			return nil, nil
		}
		svc := s.Labels[discoveryv1.LabelServiceName]
		if svc == "" {
			return nil, nil
		}
		return []string{s.Namespace + "/" + svc}, nil
	}})
	notify := func(obj any, deleted bool) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok {
			return
		}
		e.mu.Lock()
		fns := make([]func(string, string, string), 0, len(e.watchers))
		for _, fn := range e.watchers {
			fns = append(fns, fn)
		}
		sfns := slices.Clone(e.sliceFns)
		e.mu.Unlock()
		for _, fn := range sfns {
			fn(s, deleted)
		}
		svc := s.Labels[discoveryv1.LabelServiceName]
		if svc == "" {
			return
		}
		rev := s.Labels[route.RevisionLabel]
		for _, fn := range fns {
			fn(s.Namespace, svc, rev)
		}
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { notify(obj, false) },
		UpdateFunc: func(_, obj any) { notify(obj, false) },
		DeleteFunc: func(obj any) { notify(obj, true) },
	})
	return e
}

// Run follows the EndpointSlices until ctx ends.
func (e *Endpoints) Run(ctx context.Context) { e.informer.RunWithContext(ctx) }

// WaitForSync waits until the first list has been read, or ctx ends.
func (e *Endpoints) WaitForSync(ctx context.Context) bool {
	return cache.WaitForCacheSync(ctx.Done(), e.informer.HasSynced)
}

// HasSynced reports whether the first list has been read.
func (e *Endpoints) HasSynced() bool { return e.informer.HasSynced() }

// slices returns the EndpointSlices of a Service.
func (e *Endpoints) slices(namespace, service string) []*discoveryv1.EndpointSlice {
	objs, _ := e.informer.GetIndexer().ByIndex(byService, namespace+"/"+service)
	out := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *discoveryv1.EndpointSlice) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Ready returns the ready endpoints of a Service, one per address, sorted
// by address.
func (e *Endpoints) Ready(namespace, service string) []Endpoint {
	seen := map[string]bool{}
	var out []Endpoint
	for _, s := range e.slices(namespace, service) {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			if ep.Conditions.Terminating != nil && *ep.Conditions.Terminating {
				continue
			}
			pod := ""
			if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
				pod = ep.TargetRef.Name
			}
			for _, ip := range ep.Addresses {
				if !seen[ip] {
					seen[ip] = true
					out = append(out, Endpoint{Pod: pod, IP: ip})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return strings.Compare(a.IP, b.IP) })
	return out
}

// Private returns the ready endpoints of a revision's private Service,
// named by names.PrivateService (shortened past 63 characters as the
// renderer shortens it): the revision's ready pods.
func (e *Endpoints) Private(namespace, revision string) []Endpoint {
	return e.Ready(namespace, names.PrivateService(revision))
}

// IsPrivate reports whether service, whose EndpointSlices carry the
// revision label revision ("" for none), is that revision's private
// Service (whose slices list its pods) rather than its public one or a
// Service that is no revision's.
func IsPrivate(service, revision string) bool {
	return revision != "" && service == names.PrivateService(revision)
}

// Addresses returns host:port of a revision's ready queue-proxies: the
// ready endpoints of its private Service at the serving port.
func (e *Endpoints) Addresses(namespace, revision string) []string {
	ready := e.Private(namespace, revision)
	out := make([]string, len(ready))
	for i, ep := range ready {
		out[i] = net.JoinHostPort(ep.IP, strconv.Itoa(ServingPort))
	}
	return out
}

// Watch calls fn with the revision whenever the EndpointSlices of its
// private or public Service change, until stop is called (and, for other
// Services, with the Service's name). The revision is the slice's
// route.RevisionLabel: ebb writes it on the public slice, and Kubernetes'
// EndpointSlice controller copies it from the private Service, which the
// renderer labels.
func (e *Endpoints) Watch(fn func(namespace, revision string)) (stop func()) {
	return e.WatchServices(func(ns, svc, rev string) {
		// The public Service's slice carries the revision's failure.
		fn(ns, cmp.Or(rev, svc))
	})
}

// WatchServices calls fn with the Service, and the revision its slices
// are labelled with ("" for a Service that is no revision's), whenever
// one of its EndpointSlices changes, until stop is called.
func (e *Endpoints) WatchServices(fn func(namespace, service, revision string)) (stop func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := e.next
	e.next++
	e.watchers[id] = fn
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		delete(e.watchers, id)
	}
}

// WatchSlices calls fn with every EndpointSlice added, changed or deleted,
// for as long as the Endpoints run (the controller's runtime puts back
// public EndpointSlices edited by others).
func (e *Endpoints) WatchSlices(fn func(s *discoveryv1.EndpointSlice, deleted bool)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sliceFns = append(e.sliceFns, fn)
}

// Mode returns the mode ebb last wrote on a public Service's
// EndpointSlice; false when there is none (or it names no mode).
func (e *Endpoints) Mode(namespace, revision string) (route.Mode, bool) {
	for _, s := range e.slices(namespace, names.PublicService(revision)) {
		if s.Labels[discoveryv1.LabelManagedBy] == ManagedBy {
			m, err := route.ParseMode(s.Labels[ModeLabel])
			return m, err == nil
		}
	}
	return route.Proxy, false
}

// stripManagedFields drops what an informer's cache never reads.
func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
		if a := m.GetAnnotations(); a != nil {
			delete(a, "kubectl.kubernetes.io/last-applied-configuration")
		}
	}
	return obj, nil
}
