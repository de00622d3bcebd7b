package admin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebb-dev/ebb/scaler/metric"
)

// Options are what the admin handler serves, in `ebb up` and in the
// controller alike. GET /healthz is always served; an endpoint whose
// option is unset is not.
type Options struct {
	// Metrics are served at GET /metrics.
	Metrics prometheus.Gatherer
	// Ready, at GET /readyz, answers 503 with its error while the
	// process is not ready to serve.
	Ready func() error
	// JSON serves each path's value, encoded at every GET: the status
	// (/v1/services, /v1/domainmappings, /v1/status).
	JSON map[string]func() any
	// Source serves a Git source's endpoints (see Source).
	Source *Source
	// Stats takes the activators' stats pushes at POST metric.PushPath,
	// from the callers StatsAuth allows.
	Stats     http.Handler
	StatsAuth Authenticator
	// Pprof serves Go's profiles at /debug/pprof/.
	Pprof bool
}

// NewHandler returns the admin handler o describes.
func NewHandler(o Options) (http.Handler, error) {
	if o.Metrics == nil {
		o.Metrics = prometheus.NewRegistry()
	}
	mux := NewMux(o.Metrics)
	if o.Ready != nil {
		mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
			if err := o.Ready(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, "ok\n")
		})
	}
	for path, value := range o.JSON {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(value())
		})
	}
	if o.Stats != nil {
		if o.StatsAuth == nil {
			return nil, errors.New("admin: stats pushes need an authenticator")
		}
		mux.Handle("POST "+metric.PushPath, Require(o.StatsAuth, o.Stats))
	}
	if o.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	if o.Source != nil {
		if err := o.Source.Mount(mux); err != nil {
			return nil, err
		}
	}
	return mux, nil
}
