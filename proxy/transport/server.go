package transport

import (
	"net/http"
	"time"
)

// Settings of every data-plane server: the gateway, the activator and
// the queue-proxy. There is deliberately no ReadTimeout or WriteTimeout:
// a request body or a response may stream (uploads, server-sent events,
// gRPC, WebSockets) for as long as the revision's timeoutSeconds allow,
// which the activator and the queue-proxy enforce per request.
const (
	// ServerReadHeaderTimeout bounds how long a client may take to send a
	// request's header.
	ServerReadHeaderTimeout = 30 * time.Second
	// ServerIdleTimeout closes a kept-alive connection idle for longer:
	// longer than the keep-alive of ebb's own proxies (90 s) and of
	// common load balancers (Google Cloud's 600 s), so a server never
	// closes a connection its client is about to reuse.
	ServerIdleTimeout = 15 * time.Minute
	// ServerMaxHeaderBytes bounds a request's header (HTTP/1) and header
	// list (HTTP/2), as Envoy's default of 60 KiB does.
	ServerMaxHeaderBytes = 64 << 10
)

// NewServer returns a data-plane server of h with the settings above,
// speaking ServerProtocols: HTTP/1.1 and h2c with prior knowledge, so
// that gRPC and other HTTP/2 clients reach every gateway, activator and
// queue-proxy without TLS. `ebb up` and `ebb gateway` serve through it
// alike.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		Protocols:         ServerProtocols(),
		ReadHeaderTimeout: ServerReadHeaderTimeout,
		IdleTimeout:       ServerIdleTimeout,
		MaxHeaderBytes:    ServerMaxHeaderBytes,
	}
}
