package admin

import (
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Settings of every admin server.
const (
	// ReadHeaderTimeout bounds how long a client may take to send a
	// request's header.
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds reading a whole request, body included: admin
	// bodies are small (MaxBody).
	ReadTimeout = 30 * time.Second
	// IdleTimeout closes a kept-alive connection idle for longer.
	IdleTimeout = 2 * time.Minute
	// MaxHeaderBytes bounds a request's header.
	MaxHeaderBytes = 64 << 10
	// MaxBody bounds a request body: the largest any admin endpoint takes
	// (a stats push of many revisions); endpoints bound theirs further.
	MaxBody = 8 << 20
)

// NewServer is an admin server in a cluster: the settings above, and a
// browser's cross-origin requests refused (see SameOrigin). Endpoints
// that change state authenticate their callers themselves (Require).
func NewServer(h http.Handler) *http.Server {
	return server(SameOrigin(h))
}

// server is an http.Server with the admin settings whose request bodies
// are bounded by MaxBody.
func server(h http.Handler) *http.Server {
	return &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
			}
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

// NewMux returns the routes every admin server has: GET /healthz, and
// GET /metrics from metrics.
func NewMux(metrics prometheus.Gatherer) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.Handle("GET /metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}))
	return mux
}
