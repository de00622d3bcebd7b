package kube

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/proxy/gateway"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/serving/traffic"
)

// table is a one-route table of namespace ns: one rule per entry of
// hosts (visibility from the host's form), every rule splitting to
// revisions rev at percent each.
func table(ns, name string, hosts []string, percent traffic.Percent, revs ...string) route.Table {
	t := route.Table{Routes: []route.Route{{Namespace: ns, Name: name}}}
	var splits []route.Split
	for _, r := range revs {
		rns, rname, _ := strings.Cut(r, "/")
		splits = append(splits, route.Split{Namespace: rns, Revision: rname, Percent: percent})
		t.Revisions = append(t.Revisions, route.Revision{Namespace: rns, Name: rname, Service: name, Protocol: route.ProtocolHTTP1, TimeoutSeconds: 300})
	}
	for _, h := range hosts {
		vis := route.ExternalIP
		if route.IsLocalName(h, ns) {
			vis = route.ClusterLocal
		}
		t.Routes[0].Rules = append(t.Routes[0].Rules, route.Rule{Hosts: []string{h}, Visibility: vis, Paths: []route.Path{{Splits: splits}}})
	}
	return t
}

func tableMap(t *testing.T, ns, name string, ebb bool, data string) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{route.LabelKey: route.LabelValue}},
		Data: map[string]string{route.DataKey: data}}
	if ebb {
		cm.Labels[route.ManagedByKey] = route.ManagedByValue
	}
	return cm
}

func tableJSON(t *testing.T, tb route.Table) string {
	t.Helper()
	b, err := json.Marshal(tb)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// served lists host → namespace/revision of every host the table routes.
func served(tb route.Table) []string {
	var out []string
	for _, rt := range tb.Routes {
		for _, rule := range rt.Rules {
			for _, h := range rule.Hosts {
				for _, p := range rule.Paths {
					for _, s := range p.Splits {
						out = append(out, h+" → "+s.Namespace+"/"+s.Revision)
					}
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestChooseTables(t *testing.T) {
	hello := table("default", "hello", []string{"hello.default", "hello.default.svc", "hello.default.svc.cluster.local", "hello.default.example.com"},
		100, "default/hello-00001")
	api := table("default", "api.example.com", []string{"api.example.com"}, 100, "default/hello-00001")
	// A tenant's table taking default's hosts, routing its own claimed
	// host to default's revision, and its own host to its own revision.
	hijack := table("tenant-x", "evil", []string{"api.example.com", "hello.default.svc.cluster.local", "hello.default", "hello.default.example.com"},
		100, "tenant-x/evil-00001")
	foreign := table("tenant-x", "foreign", []string{"shop.example.com"}, 100, "default/hello-00001")
	own := table("tenant-x", "own", []string{"own.example.com", "own.tenant-x.svc.cluster.local"}, 100, "tenant-x/own-00001")
	bad := table("tenant-x", "bad", []string{"bad.tenant-x.svc.cluster.local"}, 101, "tenant-x/bad-00001")
	claims := []route.Claim{
		{Host: "api.example.com", Namespace: "default"}, {Host: "hello.default.example.com", Namespace: "default"},
		{Host: "own.example.com", Namespace: "tenant-x"}, {Host: "shop.example.com", Namespace: "tenant-x"},
		// A claim of a cluster-local name of default does not count.
		{Host: "hello.default", Namespace: "tenant-x"},
	}
	defaultHosts := []string{
		"api.example.com → default/hello-00001",
		"hello.default → default/hello-00001",
		"hello.default.example.com → default/hello-00001",
		"hello.default.svc → default/hello-00001",
		"hello.default.svc.cluster.local → default/hello-00001",
	}
	for _, tc := range []struct {
		name    string
		cms     []*corev1.ConfigMap
		good    map[string]route.Table
		want    []string
		reports []TableReport
	}{{
		name: "tenant tables take nothing of default's",
		cms: []*corev1.ConfigMap{
			tableMap(t, "default", "hello-routes", true, tableJSON(t, hello)),
			tableMap(t, "default", "api.example.com-routes", true, tableJSON(t, api)),
			tableMap(t, "tenant-x", "evil-routes", true, tableJSON(t, hijack)),
			tableMap(t, "tenant-x", "by-hand", false, tableJSON(t, hijack)),
			tableMap(t, "tenant-x", "foreign-routes", true, tableJSON(t, foreign)),
			tableMap(t, "tenant-x", "own-routes", true, tableJSON(t, own)),
		},
		want: append(slices.Clone(defaultHosts), "own.example.com → tenant-x/own-00001", "own.tenant-x.svc.cluster.local → tenant-x/own-00001"),
		reports: []TableReport{
			{Namespace: "default", Name: "api.example.com-routes", State: TableServed},
			{Namespace: "default", Name: "hello-routes", State: TableServed},
			{Namespace: "tenant-x", Name: "by-hand", State: TableIgnored, Problems: []string{"not rendered by ebb: no label app.kubernetes.io/managed-by=ebb"}},
			{Namespace: "tenant-x", Name: "evil-routes", State: TablePartial, Problems: []string{
				"host api.example.com: owned by another namespace",
				"host hello.default.svc.cluster.local: owned by another namespace",
				"host hello.default: owned by another namespace",
				"host hello.default.example.com: owned by another namespace",
			}},
			{Namespace: "tenant-x", Name: "foreign-routes", State: TablePartial, Problems: []string{
				"route tenant-x/foreign rule 0 path 0: splits to default/hello-00001, not in namespace tenant-x",
				"revision default/hello-00001: not in namespace tenant-x",
			}},
			{Namespace: "tenant-x", Name: "own-routes", State: TableServed},
		},
	}, {
		name: "a bad table is refused alone",
		cms: []*corev1.ConfigMap{
			tableMap(t, "default", "hello-routes", true, tableJSON(t, hello)),
			tableMap(t, "default", "api.example.com-routes", true, tableJSON(t, api)),
			tableMap(t, "tenant-x", "bad-routes", true, tableJSON(t, bad)),
			tableMap(t, "tenant-x", "garbled-routes", true, `{"routes":`),
		},
		want: defaultHosts,
		reports: []TableReport{
			{Namespace: "default", Name: "api.example.com-routes", State: TableServed},
			{Namespace: "default", Name: "hello-routes", State: TableServed},
			{Namespace: "tenant-x", Name: "bad-routes", State: TableRefused, Problems: []string{
				"gateway: route tenant-x/bad rule 0 path 0: split tenant-x/bad-00001: percent 101 out of 0..100"}},
			{Namespace: "tenant-x", Name: "garbled-routes", State: TableRefused, Problems: []string{
				"routes.json: unexpected end of JSON input"}},
		},
	}, {
		name: "a table that turns bad keeps its last good version",
		cms: []*corev1.ConfigMap{
			tableMap(t, "default", "hello-routes", true, `{"routes":`),
			tableMap(t, "tenant-x", "own-routes", true, tableJSON(t, bad)),
		},
		good: map[string]route.Table{"default/hello-routes": hello, "tenant-x/own-routes": own, "tenant-x/gone-routes": bad},
		want: []string{
			"hello.default → default/hello-00001",
			"hello.default.example.com → default/hello-00001",
			"hello.default.svc → default/hello-00001",
			"hello.default.svc.cluster.local → default/hello-00001",
			"own.example.com → tenant-x/own-00001",
			"own.tenant-x.svc.cluster.local → tenant-x/own-00001",
		},
		reports: []TableReport{
			{Namespace: "default", Name: "hello-routes", State: TableStale, Problems: []string{
				"routes.json: unexpected end of JSON input; serving its last good version"}},
			{Namespace: "tenant-x", Name: "own-routes", State: TableStale, Problems: []string{
				"gateway: route tenant-x/bad rule 0 path 0: split tenant-x/bad-00001: percent 101 out of 0..100; serving its last good version"}},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ch := ChooseTables(tc.cms, claims, tc.good, gateway.Check)
			if d := cmp.Diff(tc.want, served(ch.Table)); d != "" {
				t.Errorf("served hosts (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.reports, ch.Reports); d != "" {
				t.Errorf("reports (-want +got):\n%s", d)
			}
			if err := gateway.Check(ch.Table); err != nil {
				t.Errorf("the merged table does not compile: %v", err)
			}
			for _, r := range ch.Table.Revisions {
				if r.Namespace == "default" && r.Service == "foreign" {
					t.Errorf("a tenant's facts of default's revision are served: %+v", r)
				}
			}
		})
	}
}

// TestChooseTablesKeepsGood checks what ChooseTables hands on to the next
// choice: this version when it is good, the last good one while it is
// not, and nothing of a table that is gone.
func TestChooseTablesKeepsGood(t *testing.T) {
	hello := table("default", "hello", []string{"hello.default.svc.cluster.local"}, 100, "default/hello-00001")
	bad := table("default", "hello", []string{"hello.default.svc.cluster.local"}, 101, "default/hello-00002")
	next := table("default", "hello", []string{"hello.default.svc.cluster.local"}, 100, "default/hello-00003")
	good := map[string]route.Table{}
	for i, step := range []struct {
		data string
		want route.Table
	}{
		{tableJSON(t, bad), route.Table{}},
		{tableJSON(t, hello), hello},
		{tableJSON(t, bad), hello},
		{`{`, hello},
		{tableJSON(t, next), next},
	} {
		ch := ChooseTables([]*corev1.ConfigMap{tableMap(t, "default", "hello-routes", true, step.data)}, nil, good, gateway.Check)
		if d := cmp.Diff(step.want, ch.Good["default/hello-routes"]); d != "" {
			t.Errorf("step %d: kept (-want +got):\n%s", i, d)
		}
		good = ch.Good
	}
	if ch := ChooseTables(nil, nil, good, gateway.Check); len(ch.Good) != 0 {
		t.Errorf("a deleted table is kept: %v", ch.Good)
	}
}
