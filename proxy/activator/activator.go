package activator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebb-dev/ebb/proxy/header"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/proxy/stats"
	"github.com/ebb-dev/ebb/proxy/timeout"
	"github.com/ebb-dev/ebb/proxy/transport"
	"github.com/ebb-dev/ebb/scaler/metric"
)

// Backends tells which queue-proxies of a revision are ready, and when that
// may have changed. The local runtime and Kubernetes EndpointSlices
// implement it.
type Backends interface {
	// Addresses returns host:port of the revision's ready queue-proxies.
	Addresses(namespace, revision string) []string
	// Watch calls fn whenever Addresses(namespace, revision) may have
	// changed, until stop is called.
	Watch(fn func(namespace, revision string)) (stop func())
}

// Failures tells why a revision cannot serve, if it cannot: its process
// exits before it is ready, its image cannot be built or pulled. Requests
// for such a revision with no ready pod are answered 503 with the reason
// at once, held ones included, instead of waiting for a pod that will not
// come. Backends.Watch must fire when Failure may have changed.
type Failures interface {
	Failure(namespace, revision string) (reason string, failed bool)
}

// Peers tells an activator which activators serve a revision and which of
// them it is, so that, for a revision with containerConcurrency > 0, each
// takes only its own share of the pods (Knative's activator subsetting).
// In a cluster the activators serving a revision are the addresses of its
// public EndpointSlice in proxy mode; with a single activator (ebb up)
// there is no need for Peers.
type Peers interface {
	// Activators returns the addresses of the activators serving a
	// revision and this activator's own address. Addresses are compared,
	// never dialled: IPs in a cluster. An activator not among them ("" or
	// unknown self) takes every pod.
	Activators(namespace, revision string) (activators []string, self string)
	// Watch calls fn whenever Activators(namespace, revision) may have
	// changed, until stop is called.
	Watch(fn func(namespace, revision string)) (stop func())
}

// Revisions knows the revisions the activator may route to (the gateway's
// route table does).
type Revisions interface {
	Revision(namespace, name string) (route.Revision, bool)
}

// StatsSink sends load stats to the autoscaler.
type StatsSink interface {
	Send(ctx context.Context, msgs []metric.Message) error
}

// Poker is told at once when a request arrives for a revision that has no
// ready pod, so the autoscaler can scale it from zero without waiting for
// the next stats report.
type Poker interface {
	Poke(namespace, revision string)
}

// Knative's defaults.
const (
	DefaultQueueDepth   = 10000
	DefaultProbeTimeout = 300 * time.Millisecond
	DefaultProbePeriod  = 200 * time.Millisecond
	DefaultReportPeriod = time.Second
	defaultTimeout      = 300 * time.Second
)

// Messages clients see, Knative's texts.
const msgTimeout = "activator request timeout"

var errQueueFull = errors.New("pending request queue full")

// Config is an activator.
type Config struct {
	Backends  Backends  // required
	Revisions Revisions // required
	Stats     StatsSink // optional: no stats are sent without one
	Poker     Poker     // optional
	// Failures is optional: without it a request for a revision that
	// cannot start waits for its timeout.
	Failures Failures
	// Peers is optional: without it this activator takes every pod of
	// every revision.
	Peers Peers
	// PodName names this activator in its stats.
	PodName string
	// QueueDepth bounds the held requests per revision.
	QueueDepth int
	// ProbeTimeout and ProbePeriod pace the probes of new pods.
	ProbeTimeout, ProbePeriod time.Duration
	// ReportPeriod is how often stats are sent.
	ReportPeriod time.Duration
	// Transport reaches the queue-proxies; nil means an h1/h2c transport.
	Transport http.RoundTripper
	Logger    *slog.Logger
}

// Activator is an http.Handler; call Run to send stats.
type Activator struct {
	cfg    Config
	proxy  *httputil.ReverseProxy
	serial *transport.Serial // the lean path (forward.go), nil without one
	probe  *http.Client
	stopW  func()
	stopP  func()
	ctx    context.Context // ends probers when Close is called
	cancel context.CancelFunc

	revs sync.Map // revKey → *revision
}

type revKey struct{ ns, name string }

type ctxKey struct{}

// target is where the proxy sends one request.
type target struct {
	addr string
	h2c  bool
}

// New returns an activator. Close it to stop its probes.
func New(cfg Config) (*Activator, error) {
	if cfg.Backends == nil || cfg.Revisions == nil {
		return nil, errors.New("activator: Backends and Revisions are required")
	}
	if cfg.PodName == "" {
		cfg.PodName = "activator"
	}
	if cfg.QueueDepth <= 0 {
		cfg.QueueDepth = DefaultQueueDepth
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = DefaultProbeTimeout
	}
	if cfg.ProbePeriod <= 0 {
		cfg.ProbePeriod = DefaultProbePeriod
	}
	if cfg.ReportPeriod <= 0 {
		cfg.ReportPeriod = DefaultReportPeriod
	}
	if cfg.Transport == nil {
		cfg.Transport = transport.New(1000)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Activator{cfg: cfg,
		probe: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: cfg.ProbeTimeout}}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			t := pr.In.Context().Value(ctxKey{}).(target)
			pr.SetURL(&url.URL{Scheme: "http", Host: t.addr})
			if t.h2c {
				transport.ForceH2C(pr.Out)
			}
			header.SetXForwarded(pr.Out, pr.In)
			pr.Out.Host = ""
			if pr.Out.Header.Get(header.OriginalHost) == "" {
				pr.Out.Header.Set(header.OriginalHost, pr.In.Host)
			}
			pr.Out.Header.Set(header.ProxyRequest, header.ProxyActivator)
			pr.Out.Header.Del(header.Revision)
			pr.Out.Header.Del(header.Namespace)
		},
		Transport:     cfg.Transport,
		BufferPool:    transport.BufferPool{},
		FlushInterval: 0, // streams (unknown length) are flushed after every write
		ErrorHandler:  func(w http.ResponseWriter, r *http.Request, err error) { writeError(w, r, err) },
	}
	a.serial = transport.SerialOf(cfg.Transport)
	a.stopW = cfg.Backends.Watch(a.backendsChanged)
	a.stopP = func() {}
	if cfg.Peers != nil {
		a.stopP = cfg.Peers.Watch(a.peersChanged)
	}
	return a, nil
}

// Close stops watching backends and peers, and probing.
func (a *Activator) Close() {
	a.stopW()
	a.stopP()
	a.cancel()
}

// revision is what the activator keeps per revision it has seen.
type revision struct {
	key      revKey
	thr      *throttler
	tracker  *stats.Tracker
	mu       sync.Mutex
	tracked  atomic.Bool // reported to the autoscaler
	poked    bool        // the immediate {1,1} is to be subtracted from the next report
	probing  map[string]context.CancelFunc
	healthy  map[string]bool
	lastInfo route.Revision
	cc       atomic.Int64 // lastInfo.ContainerConcurrency, read without the lock
	peersMu  sync.Mutex   // orders reading Peers with applying what was read
}

// ServeHTTP handles one request: probes, revision lookup, stats, timeouts,
// the throttler and the proxy to the chosen pod.
func (a *Activator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if v := r.Header.Get(header.Probe); v != "" {
		switch v {
		case header.ProbeActivator:
			io.WriteString(w, header.ProbeActivator)
		case header.ProbeIngress:
			w.Header().Set(header.ProbeHash, r.Header.Get(header.ProbeHash))
			io.WriteString(w, r.Header.Get(header.ProbeHash))
		default:
			http.Error(w, fmt.Sprintf("unexpected probe header value: %s", v), http.StatusBadRequest)
		}
		return
	}
	ns, name := revisionOf(r)
	info, ok := a.cfg.Revisions.Revision(ns, name)
	if !ok {
		http.Error(w, fmt.Sprintf("Error getting active endpoint: revision %s/%s not found", ns, name), http.StatusNotFound)
		return
	}
	rev := a.revision(info)
	// The activator counts the answers of every request it handles, its
	// own 503s and 504s included; the queue-proxy leaves the ones it sees
	// come through an activator out of its own.
	now := time.Now()
	rev.tracker.In(now, false)
	sw := &stats.StatusWriter{ResponseWriter: w}
	defer func() {
		end := time.Now()
		rev.tracker.Out(end, false, sw.Status(), end.Sub(now))
	}()
	a.track(rev)

	timeout.Serve(sw, r, limitsOf(info), msgTimeout, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, release, err := rev.thr.acquire(r.Context())
		if err != nil {
			writeError(w, r, err)
			return
		}
		defer release()
		t := target{addr, info.Protocol == route.ProtocolH2C}
		a.forward(w, r, t)
	}))
}

// writeError maps an error to a response, in this one place.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case timeout.TimedOut(r.Context()):
		// timeout.Serve writes the 504.
	case errors.Is(err, errQueueFull), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	case errors.As(err, new(*RevisionFailedError)):
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	default:
		http.Error(w, err.Error(), http.StatusBadGateway)
	}
}

// revisionOf reads the revision from the headers the gateway appends, or
// from a host <revision>.<namespace>.svc….
func revisionOf(r *http.Request) (ns, name string) {
	name, ns = r.Header.Get(header.Revision), r.Header.Get(header.Namespace)
	if name != "" && ns != "" {
		return ns, name
	}
	host := r.Host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	parts := strings.SplitN(host, ".", 4)
	if len(parts) >= 3 && parts[2] == "svc" {
		return parts[1], parts[0]
	}
	return "", ""
}

func limitsOf(info route.Revision) timeout.Limits {
	l := timeout.Limits{
		Total:         time.Duration(info.TimeoutSeconds) * time.Second,
		ResponseStart: time.Duration(info.ResponseStartTimeoutSeconds) * time.Second,
		Idle:          time.Duration(info.IdleTimeoutSeconds) * time.Second,
	}
	if l.Total == 0 {
		l.Total = defaultTimeout
	}
	return l
}

// revision returns the state of a revision, creating it (and looking up its
// backends) on first use.
func (a *Activator) revision(info route.Revision) *revision {
	k := revKey{info.Namespace, info.Name}
	if v, ok := a.revs.Load(k); ok {
		rev := v.(*revision)
		if rev.cc.Load() != int64(info.ContainerConcurrency) {
			rev.mu.Lock()
			rev.lastInfo = info
			rev.cc.Store(int64(info.ContainerConcurrency))
			rev.mu.Unlock()
			rev.thr.setCC(info.ContainerConcurrency)
		}
		return rev
	}
	rev := &revision{key: k, tracker: stats.New(a.cfg.PodName, time.Now()), lastInfo: info,
		probing: map[string]context.CancelFunc{}, healthy: map[string]bool{}}
	rev.cc.Store(int64(info.ContainerConcurrency))
	rev.thr = newThrottler(info.ContainerConcurrency, a.cfg.QueueDepth, func() {
		if a.cfg.Poker != nil {
			a.cfg.Poker.Poke(k.ns, k.name)
		}
	})
	if v, loaded := a.revs.LoadOrStore(k, rev); loaded {
		return v.(*revision)
	}
	a.placeAmongPeers(rev)
	a.reconcile(rev)
	return rev
}

func (a *Activator) backendsChanged(ns, name string) {
	if v, ok := a.revs.Load(revKey{ns, name}); ok {
		a.reconcile(v.(*revision))
	}
}

// checkFailure tells the revision's throttler whether the revision cannot
// serve, and why.
func (a *Activator) checkFailure(rev *revision) {
	if a.cfg.Failures == nil {
		return
	}
	var err error
	if reason, failed := a.cfg.Failures.Failure(rev.key.ns, rev.key.name); failed {
		err = &RevisionFailedError{Namespace: rev.key.ns, Revision: rev.key.name, Reason: reason}
	}
	rev.thr.setFailure(err)
}

// RevisionFailedError is the answer to a request for a revision that
// cannot serve.
type RevisionFailedError struct {
	Namespace, Revision, Reason string
}

func (e *RevisionFailedError) Error() string {
	return fmt.Sprintf("revision %s/%s cannot serve: %s", e.Namespace, e.Revision, e.Reason)
}

func (a *Activator) peersChanged(ns, name string) {
	if v, ok := a.revs.Load(revKey{ns, name}); ok {
		a.placeAmongPeers(v.(*revision))
	}
}

// placeAmongPeers tells the revision's throttler where this activator
// stands among the activators serving the revision.
func (a *Activator) placeAmongPeers(rev *revision) {
	if a.cfg.Peers == nil {
		return
	}
	rev.peersMu.Lock()
	defer rev.peersMu.Unlock()
	acts, self := a.cfg.Peers.Activators(rev.key.ns, rev.key.name)
	index, n := activatorIndex(acts, self)
	if rev.thr.setActivators(index, n) {
		a.cfg.Logger.Info("activator subset", "revision", rev.key.ns+"/"+rev.key.name,
			"index", index, "activators", n, "pods", len(rev.thr.assigned()))
	}
}

// reconcile compares a revision's addresses with what the activator knows:
// gone pods are dropped at once, new ones are probed until they pass; and
// whether the revision has failed.
func (a *Activator) reconcile(rev *revision) {
	a.checkFailure(rev)
	want := map[string]bool{}
	for _, addr := range a.cfg.Backends.Addresses(rev.key.ns, rev.key.name) {
		want[addr] = true
	}
	rev.mu.Lock()
	changed := false
	for addr, stop := range rev.probing {
		if !want[addr] {
			stop()
			delete(rev.probing, addr)
		}
	}
	for addr := range rev.healthy {
		if !want[addr] {
			delete(rev.healthy, addr)
			changed = true
		}
	}
	for addr := range want {
		if !rev.healthy[addr] && rev.probing[addr] == nil {
			ctx, stop := context.WithCancel(a.ctx)
			rev.probing[addr] = stop
			go a.probeUntilHealthy(ctx, rev, addr)
		}
	}
	var healthy []string
	if changed {
		healthy = sortedKeys(rev.healthy)
	}
	rev.mu.Unlock()
	if changed {
		rev.thr.setPods(healthy)
	}
}

// probeUntilHealthy probes a new pod every ProbePeriod until it answers
// 200 "queue", then adds it to the revision's healthy pods.
func (a *Activator) probeUntilHealthy(ctx context.Context, rev *revision, addr string) {
	tick := time.NewTicker(a.cfg.ProbePeriod)
	defer tick.Stop()
	for {
		if a.probeOnce(ctx, addr) {
			rev.mu.Lock()
			if ctx.Err() != nil { // removed meanwhile
				rev.mu.Unlock()
				return
			}
			rev.probing[addr]() // the probe's context is done with
			delete(rev.probing, addr)
			rev.healthy[addr] = true
			healthy := sortedKeys(rev.healthy)
			rev.mu.Unlock()
			rev.thr.setPods(healthy)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (a *Activator) probeOnce(ctx context.Context, addr string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		return false
	}
	req.Header.Set(header.Probe, header.ProbeQueue)
	req.Header.Set(header.UserAgent, header.ActivatorProbeUA)
	resp, err := a.probe.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	return resp.StatusCode == http.StatusOK && string(b) == header.ProbeQueue
}
