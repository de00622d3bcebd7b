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

// ServingPrefix starts every Knative-Serving-* header, in canonical form.
const ServingPrefix = "Knative-Serving-"

// StripServing deletes every Knative-Serving-* header: they are routing
// facts for ebb's proxies, not for the user container.
func StripServing(h http.Header) {
	for k := range h {
		if len(k) > len(ServingPrefix) && strings.EqualFold(k[:len(ServingPrefix)], ServingPrefix) {
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
	if v := ForwardedValue(h["X-Forwarded-For"], first(h["X-Forwarded-Host"]), first(h["X-Forwarded-Proto"])); v != "" {
		h[Forwarded] = []string{v}
	}
}

// ForwardedValue is the RFC 7239 Forwarded value for the X-Forwarded-For
// values xff and the X-Forwarded-Host and -Proto values host and proto;
// empty when all three are.
func ForwardedValue(xff []string, host, proto string) string {
	if len(xff) == 0 && host == "" && proto == "" {
		return ""
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
	return string(b)
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
	xff, host, proto := XForwarded(in)
	if xff != "" {
		out.Header.Set("X-Forwarded-For", xff)
	}
	out.Header.Set("X-Forwarded-Host", host)
	out.Header.Set("X-Forwarded-Proto", proto)
}

// XForwarded returns the X-Forwarded-For, -Host and -Proto values a proxy
// sends for in (see SetXForwarded); xff is empty when in has neither a
// list nor a client address.
func XForwarded(in *http.Request) (xff, host, proto string) {
	ip, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		ip = in.RemoteAddr
	}
	if prior := in.Header["X-Forwarded-For"]; len(prior) == 1 {
		xff = prior[0] + ", " + ip
	} else if len(prior) > 1 {
		xff = strings.Join(prior, ", ") + ", " + ip
	} else {
		xff = ip
	}
	if host = first(in.Header["X-Forwarded-Host"]); host == "" {
		host = in.Host
	}
	if proto = first(in.Header["X-Forwarded-Proto"]); proto == "" {
		if in.TLS != nil {
			proto = "https"
		} else {
			proto = "http"
		}
	}
	return xff, host, proto
}
