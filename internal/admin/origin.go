package admin

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// NewLocalServer is an admin server on this machine, listening at
// listen: NewServer's settings, and every request must name the server
// in its Host header (see hostAllowed), so that a web page whose name
// resolves to this machine (DNS rebinding) is refused with 403 "forbidden
// host"; a browser's cross-origin request is refused with 403 too.
func NewLocalServer(listen net.Addr, h http.Handler) *http.Server {
	ap, _ := netip.ParseAddrPort(listen.String())
	h = SameOrigin(h)
	return server(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r.Host, ap) {
			http.Error(w, "forbidden host", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	}))
}

// hostAllowed reports whether host, a request's Host header, names the
// server listening at listen: the port must be listen's, and the name
// localhost, listen's own address, a loopback address when listen is on
// loopback or every interface, or any address when listen is on every
// interface. A DNS name other than localhost never is: only a name can
// be rebound to this machine.
func hostAllowed(host string, listen netip.AddrPort) bool {
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		name, port = host, "80"
	}
	if p, err := strconv.Atoi(port); err != nil || p != int(listen.Port()) {
		return false
	}
	if strings.EqualFold(name, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]"))
	if err != nil {
		return false
	}
	l := listen.Addr().Unmap()
	ip = ip.Unmap()
	switch {
	case ip == l, l.IsUnspecified():
		return true
	case l.IsLoopback():
		return ip.IsLoopback()
	}
	return false
}

// SameOrigin refuses, with 403, a request a browser sent from a page of
// another origin (see crossOrigin). Clients that are not browsers send
// neither Origin nor Sec-Fetch-Site and pass.
func SameOrigin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := crossOrigin(r.Header, r.Host); why != "" {
			http.Error(w, "cross-origin request refused: "+why, http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// crossOrigin says why a request with header h to host comes from
// another origin than the server's own, "" when it does not: a
// Sec-Fetch-Site other than same-origin or none (a user typing the URL),
// or an Origin whose host is not host. Any method: a page may neither
// change nor read what an admin server holds.
func crossOrigin(h http.Header, host string) string {
	if site := h.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return "Sec-Fetch-Site: " + site
	}
	origin := h.Get("Origin")
	if origin == "" {
		return ""
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, host) {
		return "Origin: " + origin
	}
	return ""
}
