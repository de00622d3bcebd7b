package queue

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/ebb-dev/ebb/internal/serve"
	"github.com/ebb-dev/ebb/proxy/transport"
)

// Listeners are where a queue-proxy serves; a nil listener is not served.
type Listeners struct {
	HTTP    net.Listener // 8012: HTTP/1.1 (and h2c with prior knowledge)
	H2C     net.Listener // 8013: h2c (and HTTP/1.1)
	Admin   net.Listener // 8022: /wait-for-drain
	Stats   net.Listener // 9090: autoscaler stats
	Metrics net.Listener // 9091: Prometheus
}

// Serve serves on the listeners until ctx ends, then drains (Knative's
// order): health checks fail, it waits until no new request arrived for
// the quiet period, stops accepting, lets in-flight requests finish
// (upgraded connections too) within the grace, timeoutSeconds plus the
// hijack grace, and returns. The admin, stats and metrics ports serve
// until the requests have finished. It closes the listeners.
func (s *Server) Serve(ctx context.Context, l Listeners) error {
	var ls []serve.Listener
	add := func(lis net.Listener, h http.Handler, last bool) {
		if lis != nil {
			ls = append(ls, serve.Listener{Listener: lis, Server: transport.NewServer(h), Last: last})
		}
	}
	add(l.HTTP, s.main, false)
	add(l.H2C, s.main, false)
	add(l.Admin, s.AdminHandler(), true)
	add(l.Stats, s.StatsHandler(), true)
	add(l.Metrics, s.MetricsHandler(), true)
	err := serve.Shutdown{Before: s.quiesce, Grace: s.grace(), Untracked: s.waitInFlight}.Run(ctx, ls...)
	s.cfg.Logger.Info("drained")
	return err
}

// quiesce is Knative's drain before shutdown: probes fail from now on,
// and it returns once no request has arrived for the quiet period (or
// when ctx ends).
func (s *Server) quiesce(ctx context.Context) {
	s.cfg.Logger.Info("draining", "quietPeriod", s.cfg.DrainQuietPeriod)
	s.drain.shutdown(ctx)
}

// grace bounds the wait for requests in flight once the servers stop
// accepting: the revision's timeout plus the hijack grace for upgraded
// connections.
func (s *Server) grace() time.Duration {
	return s.cfg.Timeouts.Total + s.cfg.HijackGrace
}

// waitInFlight waits until every proxied request has finished, upgraded
// ones included (a server's shutdown does not track those), or ctx
// ends.
func (s *Server) waitInFlight(ctx context.Context) {
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
