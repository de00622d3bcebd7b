package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/client-go/dynamic"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/internal/kube"
	proxykube "github.com/ebb-dev/ebb/proxy/kube"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/ebb-dev/ebb/scaler"
)

// controller is one `ebb controller` process: the admin server on every
// replica, the sync loop, autoscaler and endpoint switching on the leader.
type controller struct {
	e        *env
	o        controllerOptions
	log      *slog.Logger
	k        *kube.Clients
	reg      *prometheus.Registry
	src      *git.Source
	loop     *engine.Loop
	target   *cluster.Target
	ssa      *apply.SSA
	status   *cluster.Status
	eps      *proxykube.Endpoints
	runtime  *cluster.Runtime
	scaler   *scaler.Autoscaler
	kicks    git.Kicks
	gc       *engine.GC
	applied  chan struct{} // a pass applied (see releaseFloor)
	identity string
	secret   string

	// kingresses follows the KIngresses: a gradual rollout on one moves on
	// when its net-* controller has programmed the share before, the
	// placeholder Services follow their load balancers, and the status
	// reads their health.
	kingresses *cluster.KIngresses

	mu      gosync.Mutex
	leading bool
	// leadSince is when this replica became the leader: canaries are
	// judged on figures from then on.
	leadSince time.Time
}

func newController(e *env, o controllerOptions, log *slog.Logger) (*controller, error) {
	cfg, err := kubeConfig(o.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = float32(o.qps), o.burst
	cfg.UserAgent = "ebb-controller/" + version
	k, err := kube.New(cfg)
	if err != nil {
		return nil, err
	}
	cacheRoot := o.cacheDir
	if cacheRoot == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		cacheRoot = filepath.Join(cache, "ebb", "git")
	}
	gcfg, err := o.git.sourceConfig(e, o.url, cacheRoot)
	if err != nil {
		return nil, err
	}
	gcfg.Logger = log
	src, err := git.New(gcfg)
	if err != nil {
		return nil, err
	}
	ssa, err := apply.New(cfg, o.applyOptions())
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	c := &controller{e: e, o: o, log: log, k: k, reg: prometheus.NewRegistry(), src: src, kicks: git.NewKicks(),
		identity: cmp.Or(e.getenv("POD_NAME"), host)}
	if c.secret, err = o.git.webhookSecret(e); err != nil {
		return nil, err
	}
	c.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	actNS, actName, _ := strings.Cut(o.activators, "/")
	c.eps = proxykube.NewEndpoints(k, "")
	c.runtime = cluster.NewRuntime(k, cluster.RuntimeOptions{Endpoints: c.eps,
		Activators: proxykube.ServiceRef{Namespace: actNS, Name: actName}, Logger: log,
		// A revision seen ready may take its Service's latestRevision
		// traffic: plan again.
		OnReady: func(scaler.RevisionKey) {
			if c.loop.Main().ReadyPending(c.runtime.Observed()) {
				c.kicks.Kick()
			}
		},
		// A revision's first pod is ready: the autoscaler sets its mode
		// at once, and the public EndpointSlice is written.
		Prompt: func(key scaler.RevisionKey) { c.scaler.Prompt(key) }})
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	c.kingresses = cluster.NewKIngresses(dyn, log, func() {
		if c.loop.Main().ReadyPending(c.observed()) {
			c.kicks.Kick()
		}
	})
	c.scaler, err = scaler.New(scaler.Options{Scaler: c.runtime, Modes: c.runtime, Pods: c.runtime, Registry: c.reg, Logger: log})
	if err != nil {
		return nil, err
	}
	c.status = cluster.NewStatus(k, o.namespace, o.source, c.runtime.Health, log)
	c.status.Ingress = c.kingresses.Health
	metrics, err := cluster.NewMetrics(c.reg)
	if err != nil {
		return nil, err
	}
	c.ssa = ssa
	// Host claims are written with the controller's own clients (k), never
	// with an identity of the source.
	c.target = &cluster.Target{Applier: ssa, Source: o.source, Autoscaler: c.scaler, Forget: c.runtime.Forget,
		Claims: cluster.NewClaims(k, o.namespace, o.source, log),
		Events: cluster.NewEvents(k, o.namespace, o.source, c.identity, log), Metrics: metrics, Status: c.status, Logger: log}
	c.applied = make(chan struct{}, 1)
	c.loop = &engine.Loop{Name: o.source, Source: src, Target: c.target, ReadOnly: *o.git.readOnly, Logger: log, Report: c.report,
		Resync: o.resync, Limits: o.git.limits, Observe: c.observed}
	c.gc = &engine.GC{State: c.loop.Main, Writer: c.loop, Report: c.reportGC}
	if c.loop.Previews, err = o.git.previewsFor(e, gcfg, log); err != nil {
		return nil, err
	}
	if c.loop.Metrics, err = engine.NewMetrics(c.reg); err != nil {
		return nil, err
	}
	services := func() []engine.ServiceStatus { return c.status.Doc().Services }
	if c.loop.Statuses, err = o.git.statusPoster(e, gcfg, c.reg, c.loop, services, log); err != nil {
		return nil, err
	}
	if err := c.reg.Register(engine.SourceCollector{Name: o.source, Source: src}); err != nil {
		return nil, err
	}
	if err := c.reg.Register(engine.RolloutCollector{Name: o.source, Applied: c.loop.Applied}); err != nil {
		return nil, err
	}
	return c, nil
}

// report turns a failed pass into the status ConfigMap's Stalled
// condition (apply failures are reported by the Target itself), and a
// pass that leaves the source without an error into the end of it.
