package serving

import "slices"

// LoadBalancer is where an edge receives a route's traffic, as the
// object it programs reports it (a KIngress's status.publicLoadBalancer
// and status.privateLoadBalancer): the entries of each.
type LoadBalancer struct {
	Public, Private []LoadBalancerIngress
}

// LoadBalancerIngress is one entry of a load balancer: an IP, a domain
// (reachable from outside the cluster), a cluster-internal domain, or a
// mesh that serves the route without an address of its own.
type LoadBalancerIngress struct {
	IP             string
	Domain         string
	DomainInternal string
	MeshOnly       bool
}

// Equal reports whether two load balancers have the same entries in the
// same order.
func (lb LoadBalancer) Equal(o LoadBalancer) bool {
	return slices.Equal(lb.Public, o.Public) && slices.Equal(lb.Private, o.Private)
}

// Rebalanced reports whether a route's load balancer in p differs from
// the one in was: a route whose placeholder Services follow it renders
// differently.
func (p Programmed) Rebalanced(was Programmed) bool {
	for k, e := range p {
		if !e.LoadBalancer.Equal(was[k].LoadBalancer) {
			return true
		}
	}
	for k, e := range was {
		if _, ok := p[k]; !ok && !e.LoadBalancer.Equal(LoadBalancer{}) {
			return true
		}
	}
	return false
}
