//go:build linux

package node_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/internal/nodetest"
)

// gatewayPort is the port the gateway's pods take requests on: the
// container port the gateway Service's port 80 targets
// (manifests/gateway.yaml).
const gatewayPort = "8080"

// endpointsOnly is a check for waitFor: the gateway Service's
// EndpointSlices list the pods of want, Ready, and no other endpoint (none
// of a deleted pod, Ready or not).
func (e *ebb) endpointsOnly(want []corev1.Pod) func(context.Context) string {
	var names []string
	for _, p := range want {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	return func(ctx context.Context) string {
		list, err := e.cs.DiscoveryV1().EndpointSlices("ebb-system").List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=ebb-gateway"})
		if err != nil {
			return err.Error()
		}
		var ready, other []string
		for _, s := range list.Items {
			for _, ep := range s.Endpoints {
				name := "(no pod) " + strings.Join(ep.Addresses, ",")
				if ep.TargetRef != nil {
					name = ep.TargetRef.Name
				}
				if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
					ready = append(ready, name)
				} else {
					other = append(other, name)
				}
			}
		}
		slices.Sort(ready)
		if !slices.Equal(ready, names) || len(other) > 0 {
			return fmt.Sprintf("EndpointSlices of ebb-gateway: Ready %v, not Ready %v; want Ready %v and nothing else", ready, other, names)
		}
		return ""
	}
}

// proxiesOnly is a check for waitFor: kube-proxy's rules in the node's
// network send a new connection to the gateway Service's port 80 to the
// pods of want and nowhere else. The rules are what the kernel applies to
// each new connection, read with iptables-save; what kube-proxy has
// received or queued says less.
func (e *ebb) proxiesOnly(want []corev1.Pod) func(context.Context) string {
	var addrs []string
	for _, p := range want {
		addrs = append(addrs, net.JoinHostPort(p.Status.PodIP, gatewayPort))
	}
	slices.Sort(addrs)
	return func(ctx context.Context) string {
		out, err := exec.CommandContext(ctx, "ip", "netns", "exec", nodetest.NodeName, "iptables-save", "-t", "nat").CombinedOutput()
		if err != nil {
			return fmt.Sprintf("iptables-save in %s: %v: %s", nodetest.NodeName, err, out)
		}
		if got := proxiedTo(string(out), e.gateway, "80"); !slices.Equal(got, addrs) {
			return fmt.Sprintf("kube-proxy sends %s:80 to %v, want %v", e.gateway, got, addrs)
		}
		return ""
	}
}

// proxiedTo returns where the nat rules natSave (iptables-save's output)
// send a new TCP connection to clusterIP:port, sorted: the DNAT
// destinations of the endpoint chains (KUBE-SEP-*) that the Service's chain
// jumps to, the chain that KUBE-SERVICES jumps to for that address and
// port. It returns none when the Service has no endpoints: kube-proxy then
// rejects the connection in the filter table. Chains no rule jumps to
// (kube-proxy removes stale ones only now and then) do not count.
func proxiedTo(natSave, clusterIP, port string) []string {
	rules := map[string][][]string{} // by chain
	for line := range strings.Lines(natSave) {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "-A" {
			rules[f[1]] = append(rules[f[1]], f[2:])
		}
	}
	arg := func(rule []string, flag string) string {
		if i := slices.Index(rule, flag); i >= 0 && i+1 < len(rule) {
			return rule[i+1]
		}
		return ""
	}
	var out []string
	for _, r := range rules["KUBE-SERVICES"] {
		if strings.TrimSuffix(arg(r, "-d"), "/32") != clusterIP || arg(r, "--dport") != port {
			continue
		}
		for _, s := range rules[arg(r, "-j")] {
			if sep := arg(s, "-j"); strings.HasPrefix(sep, "KUBE-SEP-") {
				for _, d := range rules[sep] {
					if to := arg(d, "--to-destination"); to != "" {
						out = append(out, to)
					}
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// ended is a check for waitFor: no pod of gone accepts connections on its
// gateway port any more, i.e. its processes have ended. A force-deleted
// pod leaves the API at once, while its containers get SIGTERM and, at
// the kubelet's minimum grace of 2 s, SIGKILL; until then a kept-alive
// connection to it still answers. A dial that gets no answer within a
// second (the sandbox gone, no host at the address) counts as ended, as a
// refused one does. An address that a pod of the cluster holds now is
// skipped: the CNI plugin released it when the gone pod's sandbox
// stopped, after its containers.
func (e *ebb) ended(gone []corev1.Pod) func(context.Context) string {
	return func(ctx context.Context) string {
		pods, err := e.cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err.Error()
		}
		held := map[string]bool{}
		for _, p := range pods.Items {
			held[p.Status.PodIP] = true
		}
		for _, p := range gone {
			if p.Status.PodIP == "" || held[p.Status.PodIP] {
				continue
			}
			addr := net.JoinHostPort(p.Status.PodIP, gatewayPort)
			dial, cancel := context.WithTimeout(ctx, time.Second)
			c, err := e.n.Dial(dial, "tcp", addr)
			cancel()
			if err == nil {
				c.Close()
				return fmt.Sprintf("the deleted pod %s still accepts connections on %s", p.Name, addr)
			}
		}
		return ""
	}
}

// onNewConnections sends n requests for host through the gateway Service
// one after another, each on a connection of its own, so that each is
// proxied by kube-proxy's rules afresh, and returns why those that did not
// answer want failed.
func (e *ebb) onNewConnections(ctx context.Context, host, want string, n int) []string {
	once := &ebb{n: e.n, gateway: e.gateway, client: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{DialContext: e.n.Dial, DisableKeepAlives: true},
	}}
	var failed []string
	for i := range n {
		if why := once.answers(host, want)(ctx); why != "" {
			failed = append(failed, fmt.Sprintf("request %d: %s", i+1, why))
		}
	}
	return failed
}

// TestProxiedTo reads kube-proxy's nat rules as iptables-save prints them
// (the layout of kube-proxy's own proxier tests): only the endpoint chains
// the Service's chain jumps to count, for the Service's address and port.
func TestProxiedTo(t *testing.T) {
	const save = `*nat
:KUBE-SERVICES - [0:0]
:KUBE-SVC-GW80 - [0:0]
:KUBE-SEP-NEWA - [0:0]
:KUBE-SEP-NEWB - [0:0]
:KUBE-SEP-STALE - [0:0]
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.96.0.20/32 -p tcp -m comment --comment "ebb-system/ebb-gateway:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-GW80
-A KUBE-SERVICES -d 10.96.0.20/32 -p tcp -m comment --comment "ebb-system/ebb-gateway:activator cluster IP" -m tcp --dport 8012 -j KUBE-SVC-GW8012
-A KUBE-SERVICES -d 10.96.0.30/32 -p tcp -m comment --comment "faults/f cluster IP" -m tcp --dport 80 -j KUBE-SVC-F
-A KUBE-SVC-GW80 ! -s 10.244.0.0/16 -d 10.96.0.20/32 -p tcp -m comment --comment "ebb-system/ebb-gateway:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-GW80 -m comment --comment "ebb-system/ebb-gateway:http -> 10.244.0.7:8080" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-NEWA
-A KUBE-SVC-GW80 -m comment --comment "ebb-system/ebb-gateway:http -> 10.244.0.9:8080" -j KUBE-SEP-NEWB
-A KUBE-SVC-GW8012 -m comment --comment "ebb-system/ebb-gateway:activator -> 10.244.0.7:8012" -j KUBE-SEP-ACT
-A KUBE-SVC-F -m comment --comment "faults/f -> 10.244.0.5:8080" -j KUBE-SEP-F
-A KUBE-SEP-NEWA -s 10.244.0.7/32 -m comment --comment "ebb-system/ebb-gateway:http" -j KUBE-MARK-MASQ
-A KUBE-SEP-NEWA -p tcp -m comment --comment "ebb-system/ebb-gateway:http" -m tcp -j DNAT --to-destination 10.244.0.7:8080
-A KUBE-SEP-NEWB -p tcp -m comment --comment "ebb-system/ebb-gateway:http" -m tcp -j DNAT --to-destination 10.244.0.9:8080
-A KUBE-SEP-STALE -p tcp -m comment --comment "ebb-system/ebb-gateway:http" -m tcp -j DNAT --to-destination 10.244.0.3:8080
-A KUBE-SEP-ACT -p tcp -m comment --comment "ebb-system/ebb-gateway:activator" -m tcp -j DNAT --to-destination 10.244.0.7:8012
-A KUBE-SEP-F -p tcp -m comment --comment "faults/f" -m tcp -j DNAT --to-destination 10.244.0.5:8080
COMMIT
`
	for _, tc := range []struct {
		name, save, ip, port string
		want                 []string
	}{
		{"two endpoints, a stale chain", save, "10.96.0.20", "80", []string{"10.244.0.7:8080", "10.244.0.9:8080"}},
		{"another port", save, "10.96.0.20", "8012", []string{"10.244.0.7:8012"}},
		{"another Service", save, "10.96.0.30", "80", []string{"10.244.0.5:8080"}},
		{"no endpoints: no nat rule", strings.ReplaceAll(save, "-j KUBE-SVC-GW80\n", "-j KUBE-SVC-ELSE\n"), "10.96.0.20", "80", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, proxiedTo(tc.save, tc.ip, tc.port)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
