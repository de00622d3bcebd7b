package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/ebb-dev/ebb/proxy/breaker"
	"github.com/ebb-dev/ebb/proxy/header"
	"github.com/ebb-dev/ebb/proxy/probe"
	"github.com/ebb-dev/ebb/proxy/stats"
	"github.com/ebb-dev/ebb/proxy/timeout"
	"github.com/ebb-dev/ebb/proxy/transport"
	"github.com/ebb-dev/ebb/scaler/metric"
)

// Messages clients see, Knative's texts.
const (
	msgTimeout      = "request timeout"
	msgShuttingDown = "shutting down"
)

// Server is one queue-proxy. Create it with New, then call Serve.
type Server struct {
	cfg      Config
	breaker  *breaker.Breaker // nil when containerConcurrency is 0
	prober   *probe.Prober
	tracker  *stats.Tracker
	prom     *promMetrics
	drain    *drainer
	proxy    *httputil.ReverseProxy
	serial   *transport.Serial // the lean path to the user container
	inflight sync.WaitGroup
	main     http.Handler
	limited  http.Handler // serveLimited
}

// New returns a queue-proxy for cfg. It opens nothing: Serve does.
func New(cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	host, portStr, err := net.SplitHostPort(cfg.UserAddr)
	if err != nil {
		return nil, fmt.Errorf("queue: user address %q: %w", cfg.UserAddr, err)
	}
	var port int
	if _, err := fmt.Sscan(portStr, &port); err != nil || host == "" {
		return nil, fmt.Errorf("queue: user address %q: want host:port", cfg.UserAddr)
	}
	s := &Server{
		cfg:     cfg,
		prober:  probe.NewProber(cfg.Readiness, port),
		tracker: stats.New(cfg.Pod, time.Now()),
		drain:   newDrainer(cfg.DrainQuietPeriod),
	}
	var depth func() float64
	idle := DefaultIdleConns
	if cfg.ContainerConcurrency > 0 {
		if s.breaker, err = breaker.New(cfg.ContainerConcurrency, cfg.QueueDepth); err != nil {
			return nil, fmt.Errorf("queue: %w", err)
		}
		depth = func() float64 { return float64(s.breaker.Pending()) }
		idle = cfg.ContainerConcurrency
	}
	s.prom = newPromMetrics(&s.cfg, depth)
	target := &url.URL{Scheme: "http", Host: cfg.UserAddr}
	tr := transport.New(idle)
	s.serial = tr.Serial
	s.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			if h := pr.In.Header.Get(header.OriginalHost); h != "" {
				pr.Out.Host = h
				pr.Out.Header.Del(header.OriginalHost)
			}
			header.SetXForwarded(pr.Out, pr.In)
			header.SetForwarded(pr.Out.Header)
			header.StripServing(pr.Out.Header)
			pr.Out.Header.Del(header.ProxyRequest)
		},
		Transport: tr,
		// 0: responses of unknown length (streams) and event streams are
		// flushed after every write; a response with a Content-Length goes
		// out in one write when the handler ends.
		FlushInterval: 0,
		BufferPool:    transport.BufferPool{},
		ErrorHandler:  s.proxyError,
	}
	s.main = http.HandlerFunc(s.serveMain)
	s.limited = http.HandlerFunc(s.serveLimited)
	return s, nil
}

// Handler is the main proxy handler (ports 8012 and 8013).
func (s *Server) Handler() http.Handler { return s.main }

// AdminHandler serves /wait-for-drain (port 8022), the user container's
// preStop hook: it drains and answers once the quiet period has passed.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/wait-for-drain", func(w http.ResponseWriter, r *http.Request) {
		// Without a shutdown begun within undoAfter of the call, whether
		// or not its caller still waits, the drain was for a restarting
		// user container: undo it (Knative's order).
		time.AfterFunc(undoAfter, s.drain.reset)
		if err := s.drain.wait(r.Context()); err != nil {
			return
		}
		io.WriteString(w, "drained\n")
	})
	return mux
}

// StatsHandler answers metric.StatPath with the last full second's Stat as
// JSON (port 9090), for the autoscaler.
func (s *Server) StatsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(metric.StatPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", metric.ContentType)
		json.NewEncoder(w).Encode(s.Stat(time.Now()))
	})
	return mux
}

// MetricsHandler serves Prometheus metrics from the queue-proxy's own
// registry (port 9091).
func (s *Server) MetricsHandler() http.Handler { return s.prom.handler() }

// Stat returns the load of the last full second before now; an in-process
// autoscaler may call it instead of scraping StatsHandler.
func (s *Server) Stat(now time.Time) metric.Stat { return s.tracker.Stat(now) }

// Ready runs the user container's readiness probe, as a health check with
// K-Network-Probe: queue does; it is false while draining. An in-process
// runtime may call it instead of probing over HTTP.
func (s *Server) Ready(ctx context.Context) bool {
	return !s.drain.draining.Load() && s.prober.Ready(ctx)
}

// serveMain is the handler chain, outermost first: health checks and drain
// tracking, a place in the breaker (a full queue is answered here), load
// stats, request metrics, timeouts, a slot in the breaker, the proxy.
func (s *Server) serveMain(w http.ResponseWriter, r *http.Request) {
	if header.IsHealthCheck(r) {
		s.serveProbe(w, r)
		return
	}
	s.drain.touch()
	proxied := r.Header.Get(header.ProxyRequest) == header.ProxyActivator
	if s.breaker != nil && !s.breaker.Reserve() {
		s.reject(w, proxied)
		return
	}
	if s.cfg.FullDuplex && r.ProtoMajor == 1 {
		http.NewResponseController(w).EnableFullDuplex()
	}
	s.inflight.Add(1)
	defer s.inflight.Done()

	start := time.Now()
	s.tracker.In(start, proxied)
	sw := &stats.StatusWriter{ResponseWriter: w}
	defer func() {
		end := time.Now()
		code, d := sw.Status(), end.Sub(start)
		s.tracker.Out(end, proxied, code, d)
		s.prom.observe(code, d)
	}()
	timeout.Serve(sw, r, s.cfg.Timeouts, msgTimeout, s.limited)
}

// Fields and body of the answer to a full queue: http.Error's, with
// Knative's text.
var (
	plainText     = []string{"text/plain; charset=utf-8"}
	noSniff       = []string{"nosniff"}
	queueFullBody = []byte(breaker.ErrQueueFull.Error() + "\n")
)

// reject answers a request the breaker has no place for: 503 with
// Knative's text at once, before any per-request setup (timeouts, the
// wrapped writer), since under overload most requests end here. It is
// counted in the load stats and metrics as a request that came and went.
func (s *Server) reject(w http.ResponseWriter, proxied bool) {
	start := time.Now()
	s.tracker.Pass(start, proxied, http.StatusServiceUnavailable)
	h := w.Header()
	delete(h, "Content-Length")
	h["Content-Type"] = plainText
	h["X-Content-Type-Options"] = noSniff
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write(queueFullBody)
	s.prom.observe(http.StatusServiceUnavailable, time.Since(start))
}

// serveLimited passes the request through the breaker to the user
// container; serveMain reserved its place.
func (s *Server) serveLimited(w http.ResponseWriter, r *http.Request) {
	if s.breaker != nil {
		if err := s.breaker.Wait(r.Context()); err != nil {
			s.writeError(w, r, err)
			return
		}
		defer s.breaker.Release()
	}
	s.forward(w, r)
}

// dropUser are the inbound fields the user container does not see.
var dropUser = []string{header.OriginalHost, header.ProxyRequest}

// forward sends r to the user container: bodiless HTTP/1 requests on the
// lean path of the transport, the others through the reverse proxy. Both
// send the same fields (see New's Rewrite).
func (s *Server) forward(w http.ResponseWriter, r *http.Request) {
	if !transport.Forwardable(r) {
		s.proxy.ServeHTTP(w, r)
		return
	}
	host := r.Host
	if h := r.Header[header.OriginalHost]; len(h) > 0 && h[0] != "" {
		host = h[0]
	}
	xff, xfh, xfp := header.XForwarded(r)
	var hops []string
	add := make([]transport.Field, 0, 4)
	add = append(add, transport.Field{Key: "X-Forwarded-Host", Value: xfh}, transport.Field{Key: "X-Forwarded-Proto", Value: xfp})
	if xff != "" {
		add = append(add, transport.Field{Key: "X-Forwarded-For", Value: xff})
		hops = []string{xff}
	}
	if fwd := header.ForwardedValue(hops, xfh, xfp); fwd != "" {
		add = append(add, transport.Field{Key: header.Forwarded, Value: fwd})
	}
	o := transport.Outbound{Addr: s.cfg.UserAddr, Host: host, Drop: dropUser, DropPrefix: header.ServingPrefix, Add: add}
	if err := s.serial.Forward(w, r, &o); err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Server) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeError(w, r, err)
}

// writeError maps an error to a response, in this one place: a timeout is
// answered by the timeout handler; a full queue or a request that gave up
// waiting is 503; an unreachable user container is 502.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case timeout.TimedOut(r.Context()):
		// timeout.Serve writes the 504.
	case errors.Is(err, breaker.ErrQueueFull), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	default:
		s.cfg.Logger.Debug("proxy to user container failed", "err", err)
		http.Error(w, err.Error(), http.StatusBadGateway)
	}
}

// serveProbe answers health checks: K-Network-Probe: queue runs the user's
// readiness probe, K-Network-Probe: probe echoes the hash, anything else is
// a bad request; while draining every probe fails.
func (s *Server) serveProbe(w http.ResponseWriter, r *http.Request) {
	if s.drain.draining.Load() {
		http.Error(w, msgShuttingDown, http.StatusServiceUnavailable)
		return
	}
	switch v := r.Header.Get(header.Probe); v {
	case header.ProbeQueue:
		if !s.prober.Ready(r.Context()) {
			http.Error(w, "container not ready", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, header.ProbeQueue)
	case header.ProbeIngress:
		w.Header().Set(header.ProbeHash, r.Header.Get(header.ProbeHash))
		io.WriteString(w, r.Header.Get(header.ProbeHash))
	default:
		http.Error(w, fmt.Sprintf("unexpected probe header value: %s", v), http.StatusBadRequest)
	}
}
