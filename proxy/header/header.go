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
	if len(h[Forwarded]) != 0 && h[Forwarded][0] != "" {
		return
	}
	xff := h["X-Forwarded-For"]
	host := first(h["X-Forwarded-Host"])
	proto := first(h["X-Forwarded-Proto"])
	if len(xff) == 0 && host == "" && proto == "" {
		return
	}
	// One element per hop; host and proto go with the first. Built in one
	// buffer: this runs on every proxied request.
	b := make([]byte, 0, 64)
	hops := 0
	for _, v := range xff {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			if hops > 0 {
				b = append(b, ", "...)
			}
			b = append(b, "for="...)
			b = appendNode(b, f)
			if hops == 0 {
				b = appendHostProto(b, host, proto, true)
			}
			hops++
		}
	}
	if hops == 0 {
		b = appendHostProto(b, host, proto, false)
	}
	if len(b) != 0 {
		h[Forwarded] = []string{string(b)}
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// appendHostProto appends the host= and proto= pairs of the first element,
// after a ';' when something precedes them in the element.
func appendHostProto(b []byte, host, proto string, sep bool) []byte {
	if host != "" {
		if sep {
			b = append(b, ';')
		}
		b = append(b, "host="...)
		b = appendQuoted(b, host)
		sep = true
	}
	if proto != "" {
		if sep {
			b = append(b, ';')
		}
		b = append(b, "proto="...)
		b = appendQuoted(b, proto)
	}
	return b
}

// appendNode appends addr as an RFC 7239 node: IPv6 is bracketed and
// quoted, anything that is not a plain token is quoted.
func appendNode(b []byte, addr string) []byte {
	if isToken(addr) {
		// No ':' in a token, so it is no IPv6 address.
		return append(b, addr...)
	}
	return append(b, nodeName(addr)...)
}

// appendQuoted appends s, quoted when it is not a token.
func appendQuoted(b []byte, s string) []byte {
	if isToken(s) {
		return append(b, s...)
	}
	return append(b, quoteIfNeeded(s)...)
}

func isToken(s string) bool {
	for _, c := range s {
		if !isTokenChar(c) {
			return false
		}
	}
	return true
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
