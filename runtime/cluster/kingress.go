package cluster

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/ebb-dev/ebb/engine"
)

// kingressPath is where the API serves Knative's KIngress, once its CRD
// (manifests/kingress) is installed.
const kingressPath = "/apis/networking.internal.knative.dev/v1alpha1"

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

// lbAddress is the public load balancer's address, else the private one's.
func (k *kingressStatus) lbAddress() string {
	if a := k.Status.PublicLoadBalancer.address(); a != "" {
		return a
	}
	return k.Status.PrivateLoadBalancer.address()
}

// Ingresses reads the health of every KIngress the client may list, by
// namespace/name; none when the KIngress CRD is not installed.
func Ingresses(ctx context.Context, c APIClient) (map[string]engine.IngressHealth, error) {
	b, err := c.RESTClient().Get().AbsPath(kingressPath, "ingresses").SetHeader("Accept", "application/json").DoRaw(ctx)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list KIngresses: %w", err)
	}
	var list struct {
		Items []kingressStatus `json:"items"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("list KIngresses: %w", err)
	}
	out := make(map[string]engine.IngressHealth, len(list.Items))
	for i := range list.Items {
		k := &list.Items[i]
		out[k.Metadata.Namespace+"/"+k.Metadata.Name] = k.health()
	}
	return out, nil
}
