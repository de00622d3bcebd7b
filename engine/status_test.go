package engine

import (
	"fmt"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/scaler/metric"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/canary"
)

// planned loads a tree of one file and plans it at commit c1.
func planned(t *testing.T, yaml string) (*serving.Tree, []*serving.Ledger) {
	t.Helper()
	tree, err := serving.Load(fstest.MapFS{"svc.yaml": {Data: []byte(yaml)}})
	if err != nil {
		t.Fatal(err)
	}
	ledgers, _, err := tree.Plan(serving.Stamp{Commit: "c1"}, serving.Observed{})
	if err != nil {
		t.Fatal(err)
	}
	return tree, ledgers
}

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
	tree, ledgers := planned(t, `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: hello, namespace: default}
spec: {template: {spec: {containers: [{image: registry.example.com/hello:1}]}}}
`)
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

// TestStatusShares: a revision's percent is its share of the main host,
// a tagged target's percent counted with an untagged one's; its tags are
// listed whatever their percent.
func TestStatusShares(t *testing.T) {
	tree, ledgers := planned(t, `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: hello, namespace: default}
spec: {template: {spec: {containers: [{image: registry.example.com/hello:1}]}}}
`)
	rev := ledgers[0].Latest
	ledgers[0].Traffic = []serving.Target{
		{RevisionName: rev, LatestRevision: true, Percent: 60},
		{RevisionName: rev, Tag: "canary", Percent: 40},
		{RevisionName: rev, Tag: "next"},
	}
	svcs := Status(&Desired{Tree: tree, Ledgers: ledgers}, func(string, string) (RevisionHealth, bool) {
		return RevisionHealth{Ready: True}, true
	})
	if len(svcs) != 1 || len(svcs[0].Revisions) != 1 {
		t.Fatalf("status = %+v, want one Service with one revision", svcs)
	}
	r := svcs[0].Revisions[0]
	if r.Percent != 100 || !slices.Equal(r.Tags, []string{"canary", "next"}) {
		t.Errorf("revision %s: %d%%, tags %v; want 100%%, tags [canary next]", r.Name, r.Percent, r.Tags)
	}
}

// TestStatusRollout: a Service's status carries its rollout, with the
// threshold of its analysis, summed up on one line; each revision says
// the part it plays.
func TestStatusRollout(t *testing.T) {
	const service = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: web
  annotations: {canary.ebb.dev/interval: 2s, canary.ebb.dev/step-weight: "20", canary.ebb.dev/max-weight: "40", canary.ebb.dev/threshold: "2"}
spec: {template: {spec: {containers: [{image: registry.example.com/web:%d}]}}}
`
	load := func(v int) *serving.Tree {
		tree, err := serving.Load(fstest.MapFS{"web.yaml": {Data: fmt.Appendf(nil, service, v)}})
		if err != nil {
			t.Fatal(err)
		}
		return tree
	}
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	at := serving.Stamp{Commit: "c1", Time: metav1.NewTime(t0)}
	ready := serving.Observed{Ready: func(string, string) bool { return true }, Now: t0, Since: t0}
	v1, _, err := load(1).Plan(at, ready)
	if err != nil {
		t.Fatal(err)
	}
	v2 := load(2)
	canaryAt20, _, err := serving.Plan(v2.Services, v1, at, ready)
	if err != nil {
		t.Fatal(err)
	}
	progressing := func(mut func(*canary.State, *serving.Ledger)) []*serving.Ledger {
		l := canaryAt20[0].DeepCopy()
		mut(l.Rollout, l)
		return []*serving.Ledger{l}
	}
	health := func(string, string) (RevisionHealth, bool) { return RevisionHealth{Ready: True}, true }
	for _, tc := range []struct {
		name    string
		ledgers []*serving.Ledger
		summary string
		roles   map[string]string
	}{
		{"no rollout", v1, "", map[string]string{"web-00001": ""}},
		{"progressing", canaryAt20, "web-00002 20% Progressing", map[string]string{"web-00002": "canary", "web-00001": "stable"}},
		{"a failed check", progressing(func(r *canary.State, _ *serving.Ledger) { r.FailedChecks = 1 }),
			"web-00002 20% Progressing, 1 of 2 checks failed", map[string]string{"web-00002": "canary", "web-00001": "stable"}},
		{"waiting to be ready", progressing(func(r *canary.State, _ *serving.Ledger) { r.Weight = 0 }),
			"web-00002 Progressing: waiting to be ready", map[string]string{"web-00002": "canary", "web-00001": "stable"}},
		{"rolled back", progressing(func(r *canary.State, l *serving.Ledger) {
			r.Phase, r.Weight, r.Reason = canary.RolledBack, 0, "success 50.0% < 99%, 2 of 2 checks"
			l.Revisions[1].Failed = &at
		}), "web-00002 RolledBack: success 50.0% < 99%, 2 of 2 checks", map[string]string{"web-00002": "failed", "web-00001": "stable"}},
		{"promoted", progressing(func(r *canary.State, _ *serving.Ledger) { r.Phase = canary.Promoted }),
			"web-00002 Promoted", map[string]string{"web-00002": "promoted", "web-00001": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := Status(&Desired{Tree: v2, Ledgers: tc.ledgers}, health)
			if len(st) != 1 {
				t.Fatalf("%d services", len(st))
			}
			roles := map[string]string{}
			for _, r := range st[0].Revisions {
				roles[r.Name] = r.Rollout
			}
			if diff := cmp.Diff(tc.roles, roles); diff != "" {
				t.Errorf("revisions' parts (-want +got):\n%s", diff)
			}
			if got := st[0].Rollout.Summary(); got != tc.summary {
				t.Errorf("summary %q, want %q", got, tc.summary)
			}
			if r := st[0].Rollout; r != nil && (r.Threshold != 2 || r.Interval != "2s" || r.Canary != "web-00002" || r.Stable != "web-00001") {
				t.Errorf("rollout %+v", r)
			}
		})
	}
}
