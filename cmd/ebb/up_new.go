package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/internal/admin"
	"github.com/ebb-dev/ebb/proxy/activator"
	"github.com/ebb-dev/ebb/proxy/gateway"
	"github.com/ebb-dev/ebb/proxy/queue"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/runtime/local"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/gc"
)

// up is one `ebb up`: the local runtime and its Target, the gateway,
// activator and autoscaler, driven by reconcile passes over a directory
// (rec) or by a Git loop.
type up struct {
	dir      string
	e        *env
	log      *slog.Logger
	runtime  *local.Runtime
	target   *local.Target
	gateway  *gateway.Gateway
	act      *activator.Activator
	scaler   *scaler.Autoscaler
	metrics  *prometheus.Registry
	pipeline *engine.Pipeline
	gc       *engine.GC
	// started is when ebb up began observing: canaries are judged on
	// figures from then on.
	started time.Time
	// kicks asks for a pass now (POST /v1/sync); token is what callers of
	// POST /v1/sync present, written where `ebb sync` finds it.
	kicks git.Kicks
	token string

	// planned is the state last planned, whose ledgers take in the
	// revisions seen ready; applied is the state `ebb get` describes.
	planned, applied func() *engine.Desired

	mu    gosync.Mutex
	addr  string // the gateway's listening address
	shown string // the URLs printed last
}

// newUp makes the runtime of dir; sandbox, if set, runs the pods of
// previews.
func newUp(dir string, e *env, log *slog.Logger, sandbox *local.Sandbox) (*up, error) {
	u := &up{dir: dir, e: e, log: log, metrics: prometheus.NewRegistry(), kicks: git.NewKicks(), token: admin.NewToken(), started: time.Now(),
		target: &local.Target{Failed: func(err error) { fmt.Fprintf(e.stderr, "ebb: %v\n", err) }}}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	u.runtime, err = local.NewRuntime(local.Options{
		Dir:     dir,
		Builder: &local.Builder{Dir: dir, CacheDir: filepath.Join(cache, "ebb", "ko")},
		Logs:    local.NewLogs(e.stderr),
		Logger:  log,
		QueueConfig: func(getenv func(string) string) (queue.Config, error) {
			cfg, _, err := queueConfig(getenv, nil)
			return cfg, err
		},
		// A local pod leaves the routing the moment it stops.
		DrainQuietPeriod: 100 * time.Millisecond,
		OnTable: func(t route.Table) {
			if err := u.gateway.SetTable(t); err != nil {
				log.Error("route table refused", "error", err)
			}
		},
		Reachable: u.target.Reachable, Source: u.target.Source, Code: u.target.Code, Locate: u.target.Locate,
		Sandbox: sandbox,
	})
	if err != nil {
		return nil, err
	}
	u.gateway, err = gateway.New(gateway.Config{
		Backends:    u.runtime,
		Activator:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { u.act.ServeHTTP(w, r) }),
		DefaultMode: route.Proxy,
		Logger:      log,
	})
	if err != nil {
		return nil, err
	}
	u.scaler, err = scaler.New(scaler.Options{Scaler: u.runtime, Modes: gatewayModes{u.gateway}, Pods: u.runtime,
		Registry: u.metrics, Logger: log})
	if err != nil {
		return nil, err
	}
	u.act, err = activator.New(activator.Config{Backends: u.runtime, Revisions: u.gateway, Failures: u.runtime,
		Stats: recordStats{u.scaler}, PodName: "activator", Logger: log})
	if err != nil {
		return nil, err
	}
	u.target.Runtime, u.target.Scaler = u.runtime, u.scaler
	u.pipeline = &engine.Pipeline{Writer: engine.LedgerWriterFor(dir, log), Target: u.target, Logger: log, Observe: u.observed, Whole: true}
	u.planned, u.applied = u.target.Applied, u.target.Applied
	u.gc = &engine.GC{State: func() *engine.Desired { return u.planned() }, Writer: u.pipeline.Writer, Report: u.reportGC}
	// A revision that becomes ready may take its Service's latestRevision
	// traffic: plan again.
	u.runtime.Watch(func(string, string) {
		if u.planned().ReadyPending(u.observed()) {
			u.kicks.Kick()
		}
	})
	return u, nil
}

// observed is what the runtime has seen of the revisions since ebb up
// started, now.
func (u *up) observed() serving.Observed { return u.target.Observed(u.started, time.Now()) }

// reportGC prints a garbage collection that removed revisions or failed.
func (u *up) reportGC(res *gc.Result, err error) {
	if err != nil {
		fmt.Fprintf(u.e.stderr, "ebb: garbage collection: %v\n", err)
		return
	}
	fmt.Fprintf(u.e.stdout, "%s\n", res.Message())
}
