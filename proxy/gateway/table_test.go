package gateway

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/proxy/backend"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/serving/traffic"
)

func helloTable() route.Table {
	split := func(rev string, pct traffic.Percent) route.Split {
		return route.Split{Namespace: "default", Revision: rev, Percent: pct,
			AppendHeaders: map[string]string{"Knative-Serving-Revision": rev, "Knative-Serving-Namespace": "default"}}
	}
	return route.Table{
		Routes: []route.Route{{Namespace: "default", Name: "hello", Rules: []route.Rule{
			{Hosts: []string{"hello.default.example.com", "hello.default.svc.cluster.local"}, Visibility: route.ExternalIP, Paths: []route.Path{
				{Headers: map[string]string{"Knative-Serving-Tag": "canary"}, Splits: []route.Split{split("hello-00002", 100)}},
				{Path: "/v1", Splits: []route.Split{split("hello-00001", 100)}},
				{AppendHeaders: map[string]string{"Knative-Serving-Default-Route": "true"}, Splits: []route.Split{split("hello-00001", 90), split("hello-00002", 10)}},
			}},
			{Hosts: []string{"canary-hello.default.example.com"}, Paths: []route.Path{{Splits: []route.Split{split("hello-00002", 100)}}}},
		}}},
		Revisions: []route.Revision{{Namespace: "default", Name: "hello-00001"}, {Namespace: "default", Name: "hello-00002"}},
	}
}

func newGateway(t testing.TB, tab route.Table) *Gateway {
	g, err := New(Config{Backends: backend.NewStatic(), Activator: http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.SetTable(tab); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestLookup(t *testing.T) {
	g := newGateway(t, helloTable())
	for _, tc := range []struct {
		host, path string
		hdr        http.Header
		want       string
	}{
		{"canary-hello.default.example.com", "/", nil, "hello-00002"},
		{"CANARY-Hello.default.example.com:8080", "/x", nil, "hello-00002"},
		{"hello.default.example.com", "/", http.Header{"Knative-Serving-Tag": {"canary"}}, "hello-00002"},
		{"hello.default.example.com", "/v1", nil, "hello-00001"},
		{"hello.default.example.com", "/v1/x", nil, "hello-00001"},
		{"hello.default.svc.cluster.local.", "/v1", nil, "hello-00001"},
		{"nope.example.com", "/", nil, ""},
	} {
		_, got, _ := g.Lookup(tc.host, tc.path, tc.hdr)
		if got != tc.want {
			t.Errorf("Lookup(%q, %q, %v) = %q, want %q", tc.host, tc.path, tc.hdr, got, tc.want)
		}
	}
}

func TestSplitIsExactPerCycle(t *testing.T) {
	g := newGateway(t, helloTable())
	counts := map[string]int{}
	for i := range 100 {
		_, rev, _ := g.Lookup("hello.default.example.com", "/v2", nil)
		counts[rev]++
		if i == 9 && counts["hello-00002"] != 1 {
			t.Errorf("after 10 requests the 10%% revision got %d, want 1 (spread evenly)", counts["hello-00002"])
		}
	}
	if diff := cmp.Diff(map[string]int{"hello-00001": 90, "hello-00002": 10}, counts); diff != "" {
		t.Errorf("split (-want +got):\n%s", diff)
	}
}

func TestSetTableRejectsBadSplits(t *testing.T) {
	g := newGateway(t, route.Table{})
	for name, percents := range map[string][]traffic.Percent{
		"summing to 0":        {0},
		"out of 0..100":       {-10, 110},
		"summing to over 100": {60, 50},
	} {
		var splits []route.Split
		for i, p := range percents {
			splits = append(splits, route.Split{Namespace: "n", Revision: fmt.Sprintf("r-%d", i), Percent: p})
		}
		bad := route.Table{Routes: []route.Route{{Namespace: "n", Name: "r", Rules: []route.Rule{{Hosts: []string{"h"},
			Paths: []route.Path{{Splits: splits}}}}}}}
		if err := g.SetTable(bad); err == nil {
			t.Errorf("SetTable accepted splits %s: %v", name, percents)
		}
	}
}

func TestModes(t *testing.T) {
	g := newGateway(t, route.Table{})
	if m := g.ModeOf("ns", "r"); m != route.Proxy {
		t.Errorf("default mode = %v, want proxy", m)
	}
	g.SetMode("ns", "r", route.Serve)
	if m := g.ModeOf("ns", "r"); m != route.Serve {
		t.Errorf("mode = %v, want serve", m)
	}
}

// thousandHosts is a table of 1000 Services, each with a main host and a
// tag host, split 90/10.
func thousandHosts() route.Table {
	var tab route.Table
	for i := range 1000 {
		name := fmt.Sprintf("svc-%d", i)
		r1, r2 := name+"-00001", name+"-00002"
		tab.Routes = append(tab.Routes, route.Route{Namespace: "default", Name: name, Rules: []route.Rule{
			{Hosts: []string{name + ".default.example.com"}, Paths: []route.Path{{Splits: []route.Split{
				{Namespace: "default", Revision: r1, Percent: 90}, {Namespace: "default", Revision: r2, Percent: 10}}}}},
			{Hosts: []string{"tag-" + name + ".default.example.com"}, Paths: []route.Path{{Splits: []route.Split{
				{Namespace: "default", Revision: r2, Percent: 100}}}}},
		}})
		tab.Revisions = append(tab.Revisions, route.Revision{Namespace: "default", Name: r1}, route.Revision{Namespace: "default", Name: r2})
	}
	return tab
}

func BenchmarkLookup1000Hosts(b *testing.B) {
	g := newGateway(b, thousandHosts())
	hosts := make([]string, 1000)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("svc-%d.default.example.com:80", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, _, ok := g.Lookup(hosts[i%1000], "/", nil); !ok {
			b.Fatal("no route")
		}
		i++
	}
}

func BenchmarkSwap1000Routes(b *testing.B) {
	g := newGateway(b, route.Table{})
	tab := thousandHosts()
	for b.Loop() {
		if err := g.SetTable(tab); err != nil {
			b.Fatal(err)
		}
	}
}
