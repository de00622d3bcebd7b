package kube

import (
	"slices"
	"strings"
	gosync "sync"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/serving/names"
)

// Peers tells a gateway's activator which activators serve each revision,
// for activator subsetting: the addresses of the revision's public
// EndpointSlice while ebb has it in proxy mode (the subset the Runtime
// chose), and the activator's own address. It implements the activator's
// Peers over an Endpoints index.
type Peers struct {
	eps  *Endpoints
	opts PeersOptions
}

// PeersOptions say who this activator is.
type PeersOptions struct {
	// SelfIP is this activator's pod IP. When empty, it is the address of
	// the pod named PodName among the endpoints of the Activators Service
	// (ready or not, so that a draining activator keeps its place).
	SelfIP     string
	PodName    string
	Activators ServiceRef
}

// NewPeers returns the activators serving each revision as eps sees them;
// the caller runs eps.
func NewPeers(eps *Endpoints, o PeersOptions) *Peers {
	return &Peers{eps: eps, opts: o}
}

// Activators returns the activators of a revision's public EndpointSlice
// in proxy mode, sorted (none in serve mode), and this activator's
// address ("" while unknown).
func (p *Peers) Activators(namespace, revision string) ([]string, string) {
	var acts []string
	if s, ok := p.eps.Public(namespace, revision); ok && s.Mode == route.Proxy {
		acts = s.Addresses
	}
	return acts, p.self()
}

// self is this activator's address.
func (p *Peers) self() string {
	if p.opts.SelfIP != "" || p.opts.PodName == "" {
		return p.opts.SelfIP
	}
	for _, s := range p.eps.slices(p.opts.Activators.Namespace, p.opts.Activators.Name) {
		for _, ep := range s.Endpoints {
			if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" && ep.TargetRef.Name == p.opts.PodName && len(ep.Addresses) > 0 {
				return ep.Addresses[0]
			}
		}
	}
	return ""
}

// Watch calls fn with a revision whenever its public EndpointSlice
// changes, and with every revision in proxy mode when this activator's own
// address changes, until stop is called. It may also call fn with
// Services that are no revision's.
func (p *Peers) Watch(fn func(namespace, revision string)) (stop func()) {
	var mu gosync.Mutex
	last := p.self()
	return p.eps.WatchServices(func(ns, svc, rev string) {
		if ns == p.opts.Activators.Namespace && svc == p.opts.Activators.Name {
			self := p.self()
			mu.Lock()
			changed := self != last
			last = self
			mu.Unlock()
			if changed {
				for _, k := range p.eps.proxied() {
					fn(k[0], k[1])
				}
			}
			return
		}
		if !IsPrivate(svc, rev) {
			fn(ns, svc)
		}
	})
}

// Public returns the public EndpointSlice ebb wrote for a revision: its
// mode and addresses, sorted.
func (e *Endpoints) Public(namespace, revision string) (PublicSlice, bool) {
	svc := names.PublicService(revision)
	for _, s := range e.slices(namespace, svc) {
		if s.Name != svc || s.Labels[discoveryv1.LabelManagedBy] != ManagedBy {
			continue
		}
		mode, err := route.ParseMode(s.Labels[ModeLabel])
		if err != nil {
			return PublicSlice{}, false
		}
		out := PublicSlice{Mode: mode, Failure: s.Annotations[FailureAnnotation]}
		for _, ep := range s.Endpoints {
			out.Addresses = append(out.Addresses, ep.Addresses...)
		}
		slices.Sort(out.Addresses)
		return out, true
	}
	return PublicSlice{}, false
}

// Failure reports why a revision's pods do not come up, as the controller
// wrote it on the revision's public EndpointSlice: the activators' view of
// a revision that cannot serve (activator.Failures).
func (e *Endpoints) Failure(namespace, revision string) (string, bool) {
	p, ok := e.Public(namespace, revision)
	return p.Failure, ok && p.Failure != ""
}

// proxied lists the revisions (namespace, name) whose public EndpointSlice
// is in proxy mode.
func (e *Endpoints) proxied() [][2]string {
	var out [][2]string
	for _, obj := range e.informer.GetStore().List() {
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok || s.Labels[discoveryv1.LabelManagedBy] != ManagedBy || s.Labels[ModeLabel] != route.Proxy.String() {
			continue
		}
		if rev := s.Labels[discoveryv1.LabelServiceName]; rev == s.Name {
			out = append(out, [2]string{s.Namespace, rev})
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0]+"/"+a[1], b[0]+"/"+b[1]) })
	return out
}

// ServiceRef names a Service.
type ServiceRef struct{ Namespace, Name string }

// PublicSlice is what a revision's public EndpointSlice holds: the wire
// contract from the controller, which writes it, to the gateways.
type PublicSlice struct {
	Mode      route.Mode
	Addresses []string
	// Failure says why the revision's pods do not come up ("" while
	// nothing says they will not): the activators answer its requests
	// 503 with it at once instead of holding them.
	Failure string
}

// FailureAnnotation on a revision's public EndpointSlice says why its
// pods do not come up.
const FailureAnnotation = "ebb.dev/failure"
