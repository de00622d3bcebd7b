//go:build unix

package cluster_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/internal/kubetest"
	proxykube "github.com/ebb-dev/ebb/proxy/kube"
	"github.com/ebb-dev/ebb/runtime/cluster"
)

// ApplySlice owns exactly the fields it sets: a port or address it no
// longer lists goes away, and the slice it returns is the one stored.
func TestApplySlice(t *testing.T) {
	c := kubetest.Shared(t)
	k := kubetest.Clients(t, c.Config())
	ctx := t.Context()
	_, cs := counted(t, c, &writes{})
	mustNamespace(t, cs, "slices")
	type view struct {
		Labels    map[string]string
		Ports     []string
		Addresses []string
	}
	look := func(es *discoveryv1.EndpointSlice) view {
		v := view{Labels: es.Labels}
		for _, p := range es.Ports {
			v.Ports = append(v.Ports, *p.Name)
		}
		for _, e := range es.Endpoints {
			if e.Conditions.Ready == nil || !*e.Conditions.Ready {
				t.Errorf("endpoint %v not ready", e.Addresses)
			}
			v.Addresses = append(v.Addresses, e.Addresses...)
		}
		return v
	}
	labels := map[string]string{discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: proxykube.ManagedBy}
	s := cluster.Slice{Namespace: "slices", Name: "web", Labels: labels,
		Ports:     []cluster.SlicePort{{Name: "http", Port: 8012}, {Name: "https", Port: 8112}},
		Addresses: []string{"10.4.0.1", "10.4.0.2"}}
	got, err := cluster.ApplySlice(ctx, k, s, "slice-test")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(view{labels, []string{"http", "https"}, []string{"10.4.0.1", "10.4.0.2"}}, look(got)); diff != "" {
		t.Errorf("first apply (-want +got):\n%s", diff)
	}
	if got.AddressType != discoveryv1.AddressTypeIPv4 || *got.Ports[0].Port != 8012 || got.ResourceVersion == "" {
		t.Errorf("first apply: %+v", got)
	}

	s.Ports, s.Addresses = s.Ports[:1], nil
	got, err = cluster.ApplySlice(ctx, k, s, "slice-test")
	if err != nil {
		t.Fatal(err)
	}
	var live discoveryv1.EndpointSlice
	if err := k.Discovery.Get().Namespace("slices").Resource("endpointslices").Name("web").Do(ctx).Into(&live); err != nil {
		t.Fatal(err)
	}
	if live.ResourceVersion != got.ResourceVersion {
		t.Errorf("returned resourceVersion %s, stored %s", got.ResourceVersion, live.ResourceVersion)
	}
	if diff := cmp.Diff(view{labels, []string{"http"}, nil}, look(&live)); diff != "" {
		t.Errorf("second apply (-want +got):\n%s", diff)
	}
	if m := live.ManagedFields; len(m) != 1 || m[0].Manager != "slice-test" || m[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("managed fields = %+v, want one apply by slice-test", m)
	}
}
