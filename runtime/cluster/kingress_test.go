package cluster

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/serving"
)

// A KIngress is read as Knative's Route reads it: Ready only for the
// generation it has, the reason from its Ready condition, the public
// load balancer's address before the private one's.
func TestKIngressHealth(t *testing.T) {
	tests := []struct {
		name, obj string
		want      engine.IngressHealth
	}{
		{"no status", `{"metadata": {"generation": 1}}`,
			engine.IngressHealth{Ready: engine.Unknown, Reason: "its ingress controller has not observed generation 1"}},
		{"an older generation ready", `{"metadata": {"generation": 2}, "status": {"observedGeneration": 1,
			"conditions": [{"type": "Ready", "status": "True"}], "publicLoadBalancer": {"ingress": [{"ip": "10.0.0.9"}]}}}`,
			engine.IngressHealth{Ready: engine.Unknown, Reason: "its ingress controller has not observed generation 2", LoadBalancer: "10.0.0.9"}},
		{"not ready", `{"metadata": {"generation": 2}, "status": {"observedGeneration": 2,
			"conditions": [{"type": "LoadBalancerReady", "status": "True"}, {"type": "Ready", "status": "False", "reason": "IngressNotConfigured", "message": "bad"}],
			"privateLoadBalancer": {"ingress": [{"domainInternal": "envoy.contour-internal.svc.cluster.local"}]}}}`,
			engine.IngressHealth{Ready: engine.False, Reason: "IngressNotConfigured: bad", LoadBalancer: "envoy.contour-internal.svc.cluster.local"}},
		{"ready", `{"metadata": {"generation": 3}, "status": {"observedGeneration": 3,
			"conditions": [{"type": "Ready", "status": "True", "reason": "Done"}],
			"publicLoadBalancer": {"ingress": [{"domain": "lb.example.com"}]},
			"privateLoadBalancer": {"ingress": [{"domainInternal": "kourier-internal.kourier-system.svc.cluster.local"}]}}}`,
			engine.IngressHealth{Ready: engine.True, LoadBalancer: "lb.example.com"}},
		{"mesh only", `{"metadata": {"generation": 1}, "status": {"observedGeneration": 1,
			"conditions": [{"type": "Ready", "status": "True"}], "publicLoadBalancer": {"ingress": [{"meshOnly": true}]}}}`,
			engine.IngressHealth{Ready: engine.True, LoadBalancer: "mesh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var k kingressStatus
			if err := json.Unmarshal([]byte(tt.obj), &k); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, k.health()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// What the watch keeps of a KIngress: its edge's report with the load
// balancers as serving reads them, and its health, not Ready when the
// placeholder Services cannot follow a load balancer of several entries
// (while the edge still counts as programmed).
func TestKIngressRead(t *testing.T) {
	obj := `{"metadata": {"name": "hello", "generation": 2}, "status": {"observedGeneration": 2,
		"conditions": [{"type": "Ready", "status": "True"}],
		"publicLoadBalancer": {"ingress": [{"domain": "lb.example.com"}]},
		"privateLoadBalancer": {"ingress": [{"ip": "10.0.0.7"}, {"ip": "10.0.0.8"}]}}}`
	var k kingressStatus
	if err := json.Unmarshal([]byte(obj), &k); err != nil {
		t.Fatal(err)
	}
	e, h := k.read()
	wantEdge := serving.Edge{Generation: 2, ProgrammedGeneration: 2, LoadBalancer: serving.LoadBalancer{
		Public:  []serving.LoadBalancerIngress{{Domain: "lb.example.com"}},
		Private: []serving.LoadBalancerIngress{{IP: "10.0.0.7"}, {IP: "10.0.0.8"}}}}
	if d := cmp.Diff(wantEdge, e); d != "" {
		t.Errorf("edge (-want +got):\n%s", d)
	}
	wantHealth := engine.IngressHealth{Ready: engine.False, LoadBalancer: "lb.example.com",
		Reason: "more than one ingress are specified in status(LoadBalancer) of Ingress hello"}
	if d := cmp.Diff(wantHealth, h); d != "" {
		t.Errorf("health (-want +got):\n%s", d)
	}
}
