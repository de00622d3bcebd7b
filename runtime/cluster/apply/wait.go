package apply

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// waitEstablished waits, at most EstablishTimeout, until the named
// CustomResourceDefinitions are established, then refreshes discovery so
// that their kinds map. Objects of a kind still unknown after that fail on
// their own.
func (s *SSA) waitEstablished(ctx context.Context, names []string) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.EstablishTimeout)
	defer cancel()
	defer s.mapper.Reset()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for _, name := range names {
		for !s.established(ctx, name) {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}
}

func (s *SSA) established(ctx context.Context, name string) bool {
	c, err := s.clientsFor(Ref{Group: crdKind.Group, Kind: crdKind.Kind, Name: name})
	if err != nil {
		return false
	}
	crd, err := c.dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false
	}
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		c, _ := c.(map[string]any)
		if c["type"] == "Established" && c["status"] == "True" {
			return true
		}
	}
	return false
}
