package header

import (
	"net"
	"net/http"
	"strings"
)

// Headers set and read along the request path.
const (
	// Revision and Namespace name the revision a request is for; the
	// gateway appends them per split and the activator reads them.
	Revision  = "Knative-Serving-Revision"
	Namespace = "Knative-Serving-Namespace"
	// Tag and DefaultRoute carry tag-header routing (config-features).
	Tag          = "Knative-Serving-Tag"
	DefaultRoute = "Knative-Serving-Default-Route"
	// Probe marks component probes; they never reach the user container.
	Probe = "K-Network-Probe"
	// ProbeHash is echoed back for ingress probes (K-Network-Probe: probe).
	ProbeHash = "K-Network-Hash"
	// ProxyRequest is "activator" on requests the activator forwarded.
	ProxyRequest = "K-Proxy-Request"
	// OriginalHost keeps the Host while the activator is in between.
	OriginalHost = "K-Original-Host"
	Forwarded    = "Forwarded"
	UserAgent    = "User-Agent"
)

// Values of the headers above.
const (
	ProbeQueue     = "queue"
	ProbeActivator = "activator"
	ProbeIngress   = "probe"
	ProxyActivator = "activator"

	ActivatorProbeUA   = "Knative-Activator-Probe"
	AutoscalingProbeUA = "Knative-Autoscaling-Probe"
	KubeProbeUAPrefix  = "kube-probe/"
)

// servingPrefix starts every Knative-Serving-* header, in canonical form.
const servingPrefix = "Knative-Serving-"

// StripServing deletes every Knative-Serving-* header: they are routing
// facts for ebb's proxies, not for the user container.
func StripServing(h http.Header) {
	for k := range h {
		if len(k) > len(servingPrefix) && strings.EqualFold(k[:len(servingPrefix)], servingPrefix) {
			delete(h, k)
		}
	}
}

// IsKubeletProbe reports whether r comes from the kubelet.
func IsKubeletProbe(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get(UserAgent), KubeProbeUAPrefix)
}

// IsHealthCheck reports whether r is a health check the queue-proxy answers
// itself (kubelet, activator or autoscaler probes, or any K-Network-Probe).
func IsHealthCheck(r *http.Request) bool {
	if r.Header.Get(Probe) != "" {
		return true
	}
	ua := r.Header.Get(UserAgent)
	return strings.HasPrefix(ua, KubeProbeUAPrefix) ||
		strings.HasPrefix(ua, ActivatorProbeUA) ||
		strings.HasPrefix(ua, AutoscalingProbeUA)
}

// SetForwarded adds an RFC 7239 Forwarded header built from the
// X-Forwarded-For/-Host/-Proto headers, unless the request already has one.
// Each X-Forwarded-For hop becomes one element.
func SetForwarded(h http.Header) {
	if h.Get(Forwarded) != "" {
		return
	}
	xff := h.Values("X-Forwarded-For")
	host := h.Get("X-Forwarded-Host")
	proto := h.Get("X-Forwarded-Proto")
	if len(xff) == 0 && host == "" && proto == "" {
		return
	}
	var hops []string
	for _, v := range xff {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				hops = append(hops, f)
			}
		}
	}
	var b strings.Builder
	n := max(len(hops), 1)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		var parts []string
		if i < len(hops) {
			parts = append(parts, "for="+nodeName(hops[i]))
		}
		if i == 0 {
			if host != "" {
				parts = append(parts, "host="+quoteIfNeeded(host))
			}
			if proto != "" {
				parts = append(parts, "proto="+quoteIfNeeded(proto))
			}
		}
		b.WriteString(strings.Join(parts, ";"))
	}
	if v := b.String(); v != "" {
		h.Set(Forwarded, v)
	}
}

// nodeName formats an address as an RFC 7239 node: IPv6 is bracketed and
// quoted, anything that is not a plain token is quoted.
func nodeName(addr string) string {
	if ip := net.ParseIP(addr); ip != nil && ip.To4() == nil {
		return `"[` + addr + `]"`
	}
	return quoteIfNeeded(addr)
}

func quoteIfNeeded(s string) string {
	for _, c := range s {
		if !isTokenChar(c) {
			return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
		}
	}
	return s
}

func isTokenChar(c rune) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.ContainsRune("!#$%&'*+-.^_`|~", c)
}

// SetXForwarded sets out's X-Forwarded-For to in's list plus in's client
// address, and X-Forwarded-Host and -Proto to in's values when in carries
// none, so that a chain of proxies keeps the first hop's host and scheme.
func SetXForwarded(out, in *http.Request) {
	ip, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		ip = in.RemoteAddr
	}
	if prior := in.Header.Values("X-Forwarded-For"); len(prior) > 0 {
		out.Header.Set("X-Forwarded-For", strings.Join(prior, ", ")+", "+ip)
	} else if ip != "" {
		out.Header.Set("X-Forwarded-For", ip)
	}
	if h := in.Header.Get("X-Forwarded-Host"); h != "" {
		out.Header.Set("X-Forwarded-Host", h)
	} else {
		out.Header.Set("X-Forwarded-Host", in.Host)
	}
	if p := in.Header.Get("X-Forwarded-Proto"); p != "" {
		out.Header.Set("X-Forwarded-Proto", p)
	} else if in.TLS != nil {
		out.Header.Set("X-Forwarded-Proto", "https")
	} else {
		out.Header.Set("X-Forwarded-Proto", "http")
	}
}
