package queue

import (
	"context"
	"errors"
	"net"
	"net/http"

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

// Serve serves on the listeners until ctx ends, then drains: health checks
// fail, it waits until no new request arrived for the quiet period, stops
// accepting, lets in-flight requests finish (upgraded connections get up to
// the hijack grace), and returns. It closes the listeners.
func (s *Server) Serve(ctx context.Context, l Listeners) error {
	type srv struct {
		hs  *http.Server
		lis net.Listener
	}
	mk := func(lis net.Listener, h http.Handler) *srv {
		if lis == nil {
			return nil
		}
		return &srv{lis: lis, hs: transport.NewServer(h)}
	}
	front := []*srv{mk(l.HTTP, s.main), mk(l.H2C, s.main)}
	back := []*srv{mk(l.Admin, s.AdminHandler()), mk(l.Stats, s.StatsHandler()), mk(l.Metrics, s.MetricsHandler())}
	errc := make(chan error, 5)
	for _, x := range append(front, back...) {
		if x != nil {
			go func() { errc <- x.hs.Serve(x.lis) }()
		}
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}

	s.shutting.Store(true)
	s.cfg.Logger.Info("draining", "quietPeriod", s.cfg.DrainQuietPeriod)
	s.drain.wait(context.Background())
	grace := s.cfg.Timeouts.Total + s.cfg.HijackGrace
	if s.cfg.Timeouts.Total == 0 {
		grace = s.cfg.HijackGrace
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	for _, x := range front {
		if x != nil {
			x.hs.Shutdown(sctx)
		}
	}
	// Upgraded connections are not tracked by Shutdown; their handlers are
	// still in flight.
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
	}
	for _, x := range back {
		if x != nil {
			x.hs.Close()
		}
	}
	s.cfg.Logger.Info("drained")
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}
