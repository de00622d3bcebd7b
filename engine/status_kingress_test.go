package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A Service of a KIngress class is as ready as its KIngress says; one of
// a class ebb serves itself does not read KIngresses.
func TestStatusWithIngress(t *testing.T) {
	tree, ledgers := planned(t, `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: edge, namespace: team, annotations: {networking.knative.dev/ingress.class: kourier}}
spec: {template: {spec: {containers: [{image: registry.example.com/edge:1}]}}}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: own, namespace: team}
spec: {template: {spec: {containers: [{image: registry.example.com/own:1}]}}}
`)
	d := &Desired{Tree: tree, Ledgers: ledgers}
	ready := func(string, string) (RevisionHealth, bool) { return RevisionHealth{Ready: True}, true }
	type got struct {
		Ready                Condition
		Reason, LoadBalancer string
	}
	tests := []struct {
		name    string
		ingress map[string]IngressHealth
		want    map[string]got
	}{
		{"not reported", nil, map[string]got{
			"edge": {Unknown, "ingress edge: not yet reported by its ingress controller", ""},
			"own":  {True, "", ""},
		}},
		{"not configured", map[string]IngressHealth{"team/edge": {Ready: False, Reason: "IngressNotConfigured: no route", LoadBalancer: "10.0.0.9"}}, map[string]got{
			"edge": {False, "ingress edge: IngressNotConfigured: no route", "10.0.0.9"},
			"own":  {True, "", ""},
		}},
		{"ready", map[string]IngressHealth{"team/edge": {Ready: True, LoadBalancer: "lb.example.com"}, "team/own": {Ready: False}}, map[string]got{
			"edge": {True, "", "lb.example.com"},
			"own":  {True, "", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := map[string]got{}
			for _, s := range StatusWithIngress(d, ready, func(ns, name string) (IngressHealth, bool) {
				h, ok := tt.ingress[ns+"/"+name]
				return h, ok
			}) {
				out[s.Name] = got{s.Ready, s.Reason, s.LoadBalancer}
			}
			if diff := cmp.Diff(tt.want, out); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
