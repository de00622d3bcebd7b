package apply

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	nsRef     = Ref{Kind: "Namespace", Name: "shop"}
	crdRef    = Ref{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "widgets.example.com"}
	cmRef     = Ref{Kind: "ConfigMap", Namespace: "shop", Name: "config"}
	saRef     = Ref{Kind: "ServiceAccount", Namespace: "shop", Name: "app"}
	svcRef    = Ref{Kind: "Service", Namespace: "shop", Name: "web"}
	depRef    = Ref{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}
	sliceRef  = Ref{Group: "discovery.k8s.io", Kind: "EndpointSlice", Namespace: "shop", Name: "web-abc"}
	routeRef  = Ref{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute", Namespace: "shop", Name: "web"}
	widgetRef = Ref{Group: "example.com", Kind: "Widget", Namespace: "shop", Name: "w"}
)

func TestRank(t *testing.T) {
	tests := []struct {
		gk   schema.GroupKind
		want int
	}{
		{nsRef.GroupKind(), RankDefinitions},
		{crdRef.GroupKind(), RankDefinitions},
		{cmRef.GroupKind(), RankConfig},
		{saRef.GroupKind(), RankConfig},
		{schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}, RankConfig},
		{svcRef.GroupKind(), RankWorkloads},
		{depRef.GroupKind(), RankWorkloads},
		{widgetRef.GroupKind(), RankWorkloads},
		{sliceRef.GroupKind(), RankRoutes},
		{routeRef.GroupKind(), RankRoutes},
		{schema.GroupKind{Group: "networking.istio.io", Kind: "VirtualService"}, RankRoutes},
	}
	for _, tt := range tests {
		if got := Rank(tt.gk); got != tt.want {
			t.Errorf("Rank(%v) = %d, want %d", tt.gk, got, tt.want)
		}
	}
}

func TestNewInventorySortsAndDeduplicates(t *testing.T) {
	inv := NewInventory(
		Entry{Ref: routeRef, Version: "v1"},
		Entry{Ref: depRef, Version: "v1", Fields: "old"},
		Entry{Ref: cmRef, Version: "v1"},
		Entry{Ref: nsRef, Version: "v1"},
		Entry{Ref: depRef, Version: "v1", Fields: "new"},
		Entry{Ref: svcRef, Version: "v1"},
		Entry{Ref: crdRef, Version: "v1"},
	)
	want := []Ref{nsRef, crdRef, cmRef, svcRef, depRef, routeRef}
	if diff := cmp.Diff(want, inv.Refs()); diff != "" {
		t.Errorf("Refs() (-want +got):\n%s", diff)
	}
	if e, _ := inv.Lookup(depRef); e.Fields != "new" {
		t.Errorf("Lookup(%s).Fields = %q, want the last entry given (new)", depRef, e.Fields)
	}
	if inv.Has(widgetRef) {
		t.Errorf("Has(%s) = true for a ref never added", widgetRef)
	}
}

func TestStaleIsPreviousMinusNextInPruneOrder(t *testing.T) {
	prev := NewInventory(Entry{Ref: nsRef}, Entry{Ref: cmRef}, Entry{Ref: svcRef}, Entry{Ref: depRef}, Entry{Ref: routeRef})
	next := NewInventory(Entry{Ref: nsRef}, Entry{Ref: svcRef}, Entry{Ref: widgetRef})
	var got []Ref
	for _, e := range Stale(prev, next) {
		got = append(got, e.Ref)
	}
	want := []Ref{routeRef, depRef, cmRef}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Stale (-want +got):\n%s", diff)
	}
	if got := Stale(prev, prev); len(got) != 0 {
		t.Errorf("Stale(prev, prev) = %v, want none", got)
	}
}

func TestInventoryJSONRoundTripIsDeterministic(t *testing.T) {
	a := NewInventory(Entry{Ref: depRef, Version: "v1", Fields: "f1"}, Entry{Ref: nsRef, Version: "v1", Fields: "f2"})
	b := NewInventory(Entry{Ref: nsRef, Version: "v1", Fields: "f2"}, Entry{Ref: depRef, Version: "v1", Fields: "f1"})
	if string(a.Marshal()) != string(b.Marshal()) {
		t.Errorf("same inventory, different bytes:\n%s\n%s", a.Marshal(), b.Marshal())
	}
	const want = `{"entries":[{"kind":"Namespace","name":"shop","version":"v1","fields":"f2"},` +
		`{"group":"apps","kind":"Deployment","namespace":"shop","name":"web","version":"v1","fields":"f1"}]}`
	if got := string(a.Marshal()); got != want {
		t.Errorf("Marshal() =\n%s\nwant\n%s", got, want)
	}
	back, err := ParseInventory(a.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if got := string(Inventory{}.Marshal()); got != `{"entries":[]}` {
		t.Errorf("empty inventory = %s", got)
	}
}

func TestParseInventoryRejects(t *testing.T) {
	for _, in := range []string{`{`, `{"entries":[{"kind":"ConfigMap"}]}`, `{"entries":[{"name":"x"}]}`} {
		if _, err := ParseInventory([]byte(in)); err == nil {
			t.Errorf("ParseInventory(%s) succeeded", in)
		}
	}
	inv, err := ParseInventory(nil)
	if err != nil || len(inv.Entries) != 0 {
		t.Errorf("ParseInventory(nil) = %v, %v; want empty", inv, err)
	}
}

func FuzzParseInventory(f *testing.F) {
	f.Add([]byte(`{"entries":[{"kind":"Namespace","name":"shop","version":"v1"}]}`))
	f.Add([]byte(`{"entries":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, err := ParseInventory(b)
		if err != nil {
			return
		}
		again, err := ParseInventory(inv.Marshal())
		if err != nil {
			t.Fatalf("re-parse of %s: %v", inv.Marshal(), err)
		}
		if diff := cmp.Diff(inv, again); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	})
}

func TestCheckSource(t *testing.T) {
	for _, ok := range []string{"default", "apps-1", "a"} {
		if err := checkSource(ok); err != nil {
			t.Errorf("checkSource(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Apps", "a/b", "-a", "a-", string(make([]byte, 64))} {
		if err := checkSource(bad); err == nil {
			t.Errorf("checkSource(%q) succeeded", bad)
		}
	}
}

// TestCompareOrder checks Compare against its definition (rank, then
// namespace, name, group, kind) over every pair of a set of refs that
// differ in each of those.
func TestCompareOrder(t *testing.T) {
	var refs []Ref
	for _, gk := range []Ref{nsRef, cmRef, svcRef, depRef, sliceRef, routeRef, widgetRef, {Group: "apps", Kind: "Service"}} {
		for _, ns := range []string{"", "a", "b"} {
			for _, name := range []string{"web", "web-1", "x"} {
				refs = append(refs, Ref{Group: gk.Group, Kind: gk.Kind, Namespace: ns, Name: name})
			}
		}
	}
	sign := func(n int) int { return min(max(n, -1), 1) }
	key := func(r Ref) []any { return []any{Rank(r.GroupKind()), r.Namespace, r.Name, r.Group, r.Kind} }
	want := func(a, b Ref) int {
		ka, kb := key(a), key(b)
		for i := range ka {
			switch x, y := ka[i], kb[i]; x := x.(type) {
			case int:
				if c := x - y.(int); c != 0 {
					return sign(c)
				}
			case string:
				if x != y.(string) {
					if x < y.(string) {
						return -1
					}
					return 1
				}
			}
		}
		return 0
	}
	for _, a := range refs {
		for _, b := range refs {
			if got, w := sign(Compare(a, b)), want(a, b); got != w {
				t.Errorf("Compare(%v, %v) = %d, want %d", a, b, got, w)
			}
		}
	}
}
