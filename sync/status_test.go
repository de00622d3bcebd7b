package sync

import (
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/scaler/metric"
	"github.com/ebb-dev/ebb/serving"
)

// TestStatusRefusedHosts: a Service or DomainMapping refused a host that
// another namespace owns is not Ready, and says why without naming the
// owner; the others are untouched.
func TestStatusRefusedHosts(t *testing.T) {
	fsys := fstest.MapFS{
		"svc.yaml": {Data: []byte(`apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: hello, namespace: tenant-x}
spec: {template: {spec: {containers: [{image: registry.example.com/hello:1}]}}}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: other, namespace: tenant-x}
spec: {template: {spec: {containers: [{image: registry.example.com/other:1}]}}}
---
apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata: {name: api.example.com, namespace: tenant-x}
spec: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: hello}}
---
apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata: {name: own.example.com, namespace: tenant-x}
spec: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: hello}}
---
apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata: {name: nowhere.example.com, namespace: tenant-x}
spec: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: other}}
`)},
	}
	tree, err := serving.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	ledgers, _, err := tree.Plan(serving.Stamp{Commit: "c1"}, serving.Observed{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ledgers {
		if l.Service == "other" {
			l.Traffic = nil // routes nothing
		}
	}
	d := &Desired{Tree: tree, Ledgers: ledgers, Refused: []render.HostRefusal{
		{HostUse: render.HostUse{Host: "api.example.com", Namespace: "tenant-x", Kind: serving.KindDomainMapping, Name: "api.example.com"}, Owner: "default"},
		{HostUse: render.HostUse{Host: "hello.example.com", Namespace: "tenant-x", Kind: serving.KindService, Name: "hello"}, Owner: "default"},
	}}
	ready := map[string]string{}
	for _, s := range Status(d, func(string, string) (RevisionHealth, bool) { return RevisionHealth{Ready: True}, true }) {
		ready[s.Name] = string(s.Ready) + " " + s.Reason
	}
	if d := cmp.Diff(map[string]string{
		"hello": "False host hello.example.com is already in use by another namespace",
		"other": "True ",
	}, ready); d != "" {
		t.Errorf("Services (-want +got):\n%s", d)
	}
	want := []DomainMappingStatus{
		{Namespace: "tenant-x", Name: "api.example.com", URL: "http://api.example.com", Service: "hello", Ready: False, Reason: "host api.example.com is already in use by another namespace"},
		{Namespace: "tenant-x", Name: "nowhere.example.com", URL: "http://nowhere.example.com", Service: "other", Ready: False, Reason: `Service "other" has no routed revision`},
		{Namespace: "tenant-x", Name: "own.example.com", URL: "http://own.example.com", Service: "hello", Ready: True},
	}
	if d := cmp.Diff(want, DomainMappingStatuses(d)); d != "" {
		t.Errorf("DomainMappings (-want +got):\n%s", d)
	}
}

// TestStatusFigures: a revision's figures from the runtime are shown with
// it, rounded for people; a revision without requests shows none.
func TestStatusFigures(t *testing.T) {
	tree, err := serving.Load(fstest.MapFS{"svc.yaml": {Data: []byte(`apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: hello, namespace: default}
spec: {template: {spec: {containers: [{image: registry.example.com/hello:1}]}}}
`)}})
	if err != nil {
		t.Fatal(err)
	}
	ledgers, _, err := tree.Plan(serving.Stamp{Commit: "c1"}, serving.Observed{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    metric.Figures
		want *Figures
	}{
		{"none", metric.Figures{}, nil},
		{"some", metric.Figures{Requests: 3, Failures: 1, P99: 12345678 * time.Nanosecond},
			&Figures{Requests: 3, Failures: 1, SuccessRate: 66.67, P99: "12.35ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svcs := Status(&Desired{Tree: tree, Ledgers: ledgers}, func(string, string) (RevisionHealth, bool) {
				return RevisionHealth{Ready: True, Figures: FiguresOf(tc.f)}, true
			})
			if len(svcs) != 1 || len(svcs[0].Revisions) != 1 {
				t.Fatalf("status = %+v, want one Service with one revision", svcs)
			}
			if diff := cmp.Diff(tc.want, svcs[0].Revisions[0].Figures); diff != "" {
				t.Errorf("figures (-want +got):\n%s", diff)
			}
		})
	}
}
