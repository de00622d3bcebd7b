package cluster

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	proxykube "github.com/ebb-dev/ebb/proxy/kube"
	"github.com/ebb-dev/ebb/proxy/route"
)

func eps(ips ...string) []proxykube.Endpoint {
	var out []proxykube.Endpoint
	for _, ip := range ips {
		out = append(out, proxykube.Endpoint{IP: ip})
	}
	return out
}

func TestPublic(t *testing.T) {
	acts := eps("10.2.0.1", "10.2.0.2", "10.2.0.3", "10.2.0.4")
	for _, tc := range []struct {
		name       string
		mode       route.Mode
		activators int32
		pods, acts []proxykube.Endpoint
		want       proxykube.PublicSlice
	}{
		{"serve", route.Serve, 2, eps("10.1.0.1", "10.1.0.2"), acts, proxykube.PublicSlice{Mode: route.Serve, Addresses: []string{"10.1.0.1", "10.1.0.2"}}},
		{"serve without pods is proxied", route.Serve, 4, nil, acts, proxykube.PublicSlice{Mode: route.Proxy, Addresses: []string{"10.2.0.1", "10.2.0.2", "10.2.0.3", "10.2.0.4"}}},
		{"proxy without activators is served", route.Proxy, 2, eps("10.1.0.1"), nil, proxykube.PublicSlice{Mode: route.Serve, Addresses: []string{"10.1.0.1"}}},
		{"neither", route.Proxy, 2, nil, nil, proxykube.PublicSlice{Mode: route.Serve}},
		{"proxy, more activators wanted than exist", route.Proxy, 9, nil, acts[:2], proxykube.PublicSlice{Mode: route.Proxy, Addresses: []string{"10.2.0.1", "10.2.0.2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Public("hello-00001", tc.mode, tc.activators, tc.pods, tc.acts)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestSubsetStable: a revision's activators are a function of its name
// and the activator set, and mostly stay when one activator goes.
func TestSubsetStable(t *testing.T) {
	all := eps("10.2.0.1", "10.2.0.2", "10.2.0.3", "10.2.0.4", "10.2.0.5", "10.2.0.6")
	moved, counts := 0, map[string]int{}
	for i := range 200 {
		rev := "svc-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		a := subset(rev, all, 2)
		if d := cmp.Diff(a, subset(rev, all, 2)); d != "" {
			t.Fatalf("subset of %s is not deterministic:\n%s", rev, d)
		}
		for _, ip := range a {
			counts[ip]++
		}
		b := subset(rev, all[1:], 2) // 10.2.0.1 went away
		keep := 0
		for _, ip := range b {
			for _, x := range a {
				if ip == x {
					keep++
				}
			}
		}
		if keep < 2 && a[0] != "10.2.0.1" && a[1] != "10.2.0.1" {
			moved++
		}
	}
	if moved != 0 {
		t.Errorf("%d revisions changed activators they did not lose", moved)
	}
	for ip, n := range counts {
		if n < 30 {
			t.Errorf("activator %s got %d of 400 slots: badly spread %v", ip, n, counts)
		}
	}
}
