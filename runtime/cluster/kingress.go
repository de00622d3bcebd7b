package cluster

import (
	"fmt"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/ebb-dev/ebb/serving"
)

// kingressStatus is the part of a KIngress a net-* controller writes and
// ebb reads.
type kingressStatus struct {
	Metadata struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Generation  int64             `json:"generation"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Status struct {
		ObservedGeneration int64 `json:"observedGeneration"`
		Conditions         []struct {
			Type    string `json:"type"`
			Status  string `json:"status"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"conditions"`
		PublicLoadBalancer  *loadBalancer `json:"publicLoadBalancer"`
		PrivateLoadBalancer *loadBalancer `json:"privateLoadBalancer"`
	} `json:"status"`
}

type loadBalancer struct {
	Ingress []struct {
		IP             string `json:"ip"`
		Domain         string `json:"domain"`
		DomainInternal string `json:"domainInternal"`
		MeshOnly       bool   `json:"meshOnly"`
	} `json:"ingress"`
}

// address is the first address the load balancer reports: its domain,
// IP or cluster-internal domain ("mesh" when it serves the mesh only).
func (lb *loadBalancer) address() string {
	if lb == nil {
		return ""
	}
	for _, in := range lb.Ingress {
		switch {
		case in.Domain != "":
			return in.Domain
		case in.IP != "":
			return in.IP
		case in.DomainInternal != "":
			return in.DomainInternal
		case in.MeshOnly:
			return "mesh"
		}
	}
	return ""
}

// health reads a KIngress as Knative's Route does: Ready when its Ready
// condition is True for the generation it has; why not from the
// condition's reason and message; the public load balancer's address,
// else the private one's.
func (k *kingressStatus) health() engine.IngressHealth {
	h := engine.IngressHealth{Ready: engine.Unknown, Reason: "no Ready condition reported by its ingress controller"}
	if k.Status.ObservedGeneration != k.Metadata.Generation {
		h.Reason = fmt.Sprintf("its ingress controller has not observed generation %d", k.Metadata.Generation)
		h.LoadBalancer = k.lbAddress()
		return h
	}
	for _, c := range k.Status.Conditions {
		if c.Type != "Ready" {
			continue
		}
		h.Ready, h.Reason = engine.Condition(c.Status), c.Reason
		if c.Message != "" {
			h.Reason += ": " + c.Message
		}
		if h.Ready == "" {
			h.Ready = engine.Unknown
		}
	}
	if h.Ready == engine.True {
		h.Reason = ""
	}
	h.LoadBalancer = k.lbAddress()
	return h
}

// read is what ebb reads of a KIngress: the report of its edge, and its
// health as a Service's status shows it, which is not Ready when its
// route's placeholder Services cannot follow its load balancer (more
// than one entry; Knative only logs that).
func (k *kingressStatus) read() (serving.Edge, engine.IngressHealth) {
	h := k.health()
	e := k.edge(h.Ready == engine.True)
	if _, _, err := render.PlaceholderBalancer(k.Metadata.Name, e.LoadBalancer); err != nil && h.Ready == engine.True {
		h.Ready, h.Reason = engine.False, err.Error()
	}
	return e, h
}

// lbAddress is the public load balancer's address, else the private one's.
func (k *kingressStatus) lbAddress() string {
	if a := k.Status.PublicLoadBalancer.address(); a != "" {
		return a
	}
	return k.Status.PrivateLoadBalancer.address()
}

// loadBalancer is the KIngress's load balancers as serving reads them.
func (k *kingressStatus) loadBalancer() serving.LoadBalancer {
	return serving.LoadBalancer{Public: k.Status.PublicLoadBalancer.entries(), Private: k.Status.PrivateLoadBalancer.entries()}
}

func (lb *loadBalancer) entries() []serving.LoadBalancerIngress {
	if lb == nil || len(lb.Ingress) == 0 {
		return nil
	}
	out := make([]serving.LoadBalancerIngress, len(lb.Ingress))
	for i, in := range lb.Ingress {
		out[i] = serving.LoadBalancerIngress{IP: in.IP, Domain: in.Domain, DomainInternal: in.DomainInternal, MeshOnly: in.MeshOnly}
	}
	return out
}

// edge is what the KIngress reports of its route: its generation, the
// one its controller has programmed (when ready for it, as health reads
// it), the rollout's newest revision and percent it carries, and its
// load balancers.
func (k *kingressStatus) edge(ready bool) serving.Edge {
	e := serving.Edge{Generation: k.Metadata.Generation, LoadBalancer: k.loadBalancer()}
	if ready {
		e.ProgrammedGeneration = k.Status.ObservedGeneration
	}
	e.Revision, e.Percent, _ = render.RolloutNewest(k.Metadata.Annotations[render.AnnotationRollout], k.Metadata.Name)
	return e
}

// refusedKIngresses are the KIngresses whose apply err reports refused
// (by RBAC, admission, a guard rail), by namespace and name, with the
// refusal; nil when there are none.
func refusedKIngresses(err error) map[[2]string]string {
	var out map[[2]string]string
	for _, e := range apply.ObjectErrors(err) {
		if e.Ref.Group != KIngressResource.Group || e.Ref.Kind != render.KIngressKind {
			continue
		}
		if out == nil {
			out = map[[2]string]string{}
		}
		out[[2]string{e.Ref.Namespace, e.Ref.Name}] = e.Err.Error()
	}
	return out
}

// withRefused is ingress, reporting the KIngresses of refused not Ready
// with their refusal (a KIngress applied before keeps its load balancer):
// what its net-* controller says of an older generation does not hide
// that ebb could not write this one.
func withRefused(ingress func(namespace, name string) (engine.IngressHealth, bool), refused map[[2]string]string) func(namespace, name string) (engine.IngressHealth, bool) {
	if len(refused) == 0 {
		return ingress
	}
	return func(namespace, name string) (engine.IngressHealth, bool) {
		h, ok := ingress(namespace, name)
		if why, bad := refused[[2]string{namespace, name}]; bad {
			return engine.IngressHealth{Ready: engine.False, Reason: why, LoadBalancer: h.LoadBalancer}, true
		}
		return h, ok
	}
}
