package cluster

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-dev/ebb/proxy/route"
)

func eps(ips ...string) []Endpoint {
	var out []Endpoint
	for _, ip := range ips {
		out = append(out, Endpoint{IP: ip})
	}
	return out
}

func TestPublic(t *testing.T) {
	acts := eps("10.2.0.1", "10.2.0.2", "10.2.0.3", "10.2.0.4")
	for _, tc := range []struct {
		name       string
		mode       route.Mode
		activators int32
		pods, acts []Endpoint
		want       PublicSlice
	}{
		{"serve", route.Serve, 2, eps("10.1.0.1", "10.1.0.2"), acts, PublicSlice{Mode: route.Serve, Addresses: []string{"10.1.0.1", "10.1.0.2"}}},
		{"serve without pods is proxied", route.Serve, 4, nil, acts, PublicSlice{Mode: route.Proxy, Addresses: []string{"10.2.0.1", "10.2.0.2", "10.2.0.3", "10.2.0.4"}}},
		{"proxy without activators is served", route.Proxy, 2, eps("10.1.0.1"), nil, PublicSlice{Mode: route.Serve, Addresses: []string{"10.1.0.1"}}},
		{"neither", route.Proxy, 2, nil, nil, PublicSlice{Mode: route.Serve}},
		{"proxy, more activators wanted than exist", route.Proxy, 9, nil, acts[:2], PublicSlice{Mode: route.Proxy, Addresses: []string{"10.2.0.1", "10.2.0.2"}}},
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

func TestRevisionOf(t *testing.T) {
	env := func(kv ...string) []corev1.EnvVar {
		var out []corev1.EnvVar
		for i := 0; i < len(kv); i += 2 {
			out = append(out, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		env  []corev1.EnvVar
		want route.Revision
	}{
		{"defaults", nil, route.Revision{Namespace: "ns", Name: "r", Protocol: route.ProtocolHTTP1, TimeoutSeconds: 300}},
		{"all", env("SERVING_SERVICE", "s", "CONTAINER_CONCURRENCY", "7", "REVISION_TIMEOUT_SECONDS", "30",
			"REVISION_RESPONSE_START_TIMEOUT_SECONDS", "5", "REVISION_IDLE_TIMEOUT_SECONDS", "9", "QUEUE_SERVING_PORT", "8013"),
			route.Revision{Namespace: "ns", Name: "r", Service: "s", Protocol: route.ProtocolH2C, ContainerConcurrency: 7,
				TimeoutSeconds: 30, ResponseStartTimeoutSeconds: 5, IdleTimeoutSeconds: 9}},
		{"http1 port, bad numbers", env("QUEUE_SERVING_PORT", "8012", "CONTAINER_CONCURRENCY", "x", "REVISION_TIMEOUT_SECONDS", "0"),
			route.Revision{Namespace: "ns", Name: "r", Protocol: route.ProtocolHTTP1, TimeoutSeconds: 300}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, RevisionOf("ns", "r", tc.env)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
