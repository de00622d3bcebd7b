package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/ebb-dev/ebb/proxy/header"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/proxy/transport"
)

// Backends tells which queue-proxies of a revision are ready.
type Backends interface {
	Addresses(namespace, revision string) []string
}

// Config is a gateway.
type Config struct {
	// Backends gives a revision's pods for serve mode.
	Backends Backends
	// Activator handles proxy-mode requests (and serve-mode ones whose
	// revision has no pod). It receives the request with the
	// Knative-Serving-Revision and -Namespace headers set.
	Activator http.Handler
	// DefaultMode applies to revisions SetMode was not called for.
	DefaultMode route.Mode
	// Transport reaches the queue-proxies; nil means an h1/h2c transport.
	Transport http.RoundTripper
	Logger    *slog.Logger
}

// Gateway routes requests by the current route table. It is an
// http.Handler; SetTable and SetMode may be called at any time.
type Gateway struct {
	cfg    Config
	table  atomic.Pointer[compiled]
	proxy  *httputil.ReverseProxy
	serial *transport.Serial // the lean path, nil without one

	modeMu sync.Mutex
	modes  atomic.Pointer[map[revKey]route.Mode]

	draining atomic.Bool
}

type ctxKey struct{}

// target is where the proxy sends one request.
type target struct {
	addr string
	h2c  bool
}

// New returns a gateway with an empty route table.
func New(cfg Config) (*Gateway, error) {
	if cfg.Backends == nil || cfg.Activator == nil {
		return nil, errors.New("gateway: Backends and Activator are required")
	}
	if cfg.Transport == nil {
		cfg.Transport = transport.New(1000)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{cfg: cfg, serial: transport.SerialOf(cfg.Transport)}
	g.table.Store(&compiled{hosts: map[string][]*path{}, revisions: map[revKey]route.Revision{}})
	g.modes.Store(&map[revKey]route.Mode{})
	g.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			t := pr.In.Context().Value(ctxKey{}).(target)
			pr.SetURL(&url.URL{Scheme: "http", Host: t.addr})
			if t.h2c {
				transport.ForceH2C(pr.Out)
			}
			pr.Out.Host = pr.In.Host
			header.SetXForwarded(pr.Out, pr.In)
		},
		Transport:     cfg.Transport,
		BufferPool:    transport.BufferPool{},
		FlushInterval: 0, // streams (unknown length) are flushed after every write
		ErrorHandler:  proxyError,
	}
	return g, nil
}

func proxyError(w http.ResponseWriter, _ *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	http.Error(w, err.Error(), http.StatusBadGateway)
}

// forward sends r to a pod: bodiless HTTP/1 requests on the lean path of
// the transport, the others through the reverse proxy.
func (g *Gateway) forward(w http.ResponseWriter, r *http.Request, t target) {
	if g.serial == nil || t.h2c || !transport.Forwardable(r) {
		g.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, t)))
		return
	}
	xff, host, proto := header.XForwarded(r)
	add := []transport.Field{{Key: "X-Forwarded-Host", Value: host}, {Key: "X-Forwarded-Proto", Value: proto},
		{Key: "X-Forwarded-For", Value: xff}}
	if xff == "" {
		add = add[:2]
	}
	if err := g.serial.Forward(w, r, &transport.Outbound{Addr: t.addr, Host: r.Host, Add: add}); err != nil {
		proxyError(w, r, err)
	}
}

// SetTable replaces the route table atomically: a request is routed by
// either the old table or the new one, never by a mix.
func (g *Gateway) SetTable(t route.Table) error {
	c, err := compile(t)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	g.table.Store(c)
	return nil
}

// Check returns the error SetTable would give for t, without serving it:
// a caller holding many tables checks each on its own and merges the good
// ones.
func Check(t route.Table) error {
	if _, err := compile(t); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	return nil
}

// SetMode sets how the gateway reaches a revision.
func (g *Gateway) SetMode(namespace, revision string, m route.Mode) {
	g.modeMu.Lock()
	defer g.modeMu.Unlock()
	old := *g.modes.Load()
	next := make(map[revKey]route.Mode, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[revKey{namespace, revision}] = m
	g.modes.Store(&next)
}

// Drain makes /healthz fail from now on, so load balancers stop sending
// new connections before the server shuts down; routing goes on.
func (g *Gateway) Drain() { g.draining.Store(true) }

// ModeOf returns how the gateway reaches a revision.
func (g *Gateway) ModeOf(namespace, revision string) route.Mode {
	if m, ok := (*g.modes.Load())[revKey{namespace, revision}]; ok {
		return m
	}
	return g.cfg.DefaultMode
}

// Revision returns a revision of the current route table; the activator
// uses it to know the revisions it may serve.
func (g *Gateway) Revision(namespace, name string) (route.Revision, bool) {
	r, ok := g.table.Load().revisions[revKey{namespace, name}]
	return r, ok
}

// Lookup returns the namespace and revision a request would be sent to,
// advancing the split; ok is false when no route matches.
func (g *Gateway) Lookup(host, urlPath string, h http.Header) (ns, rev string, ok bool) {
	p := g.table.Load().lookup(host, urlPath, h)
	if p == nil {
		return "", "", false
	}
	s := p.pick()
	return s.ns, s.rev, true
}

// ServeHTTP routes one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := g.table.Load().lookup(r.Host, r.URL.Path, r.Header)
	if p == nil {
		if r.URL.Path == "/healthz" {
			if g.draining.Load() {
				http.Error(w, "shutting down", http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, "ok")
			return
		}
		http.Error(w, fmt.Sprintf("no route for host %q", normalizeHost(r.Host)), http.StatusNotFound)
		return
	}
	s := p.pick()
	for _, kv := range p.append {
		r.Header.Set(kv.k, kv.v)
	}
	for _, kv := range s.append {
		r.Header.Set(kv.k, kv.v)
	}
	if g.ModeOf(s.ns, s.rev) == route.Serve {
		if addrs := g.cfg.Backends.Addresses(s.ns, s.rev); len(addrs) > 0 {
			addr := addrs[0]
			if len(addrs) > 1 {
				addr = addrs[rand.IntN(len(addrs))]
			}
			g.forward(w, r, target{addr, s.h2c})
			return
		}
	}
	r.Header.Set(header.Revision, s.rev)
	r.Header.Set(header.Namespace, s.ns)
	g.cfg.Activator.ServeHTTP(w, r)
}
