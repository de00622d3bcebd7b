package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/internal/admin"
	"github.com/ebb-dev/ebb/proxy/activator"
	"github.com/ebb-dev/ebb/proxy/gateway"
	"github.com/ebb-dev/ebb/proxy/queue"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/proxy/transport"
	"github.com/ebb-dev/ebb/runtime/local"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/scaler/metric"
	"github.com/ebb-dev/ebb/serving"
)

const upUsage = `usage: ebb up [DIR] [--addr HOST:PORT] [--admin HOST:PORT] [-v]

Runs every Service of the serving repository DIR (default: the current
directory) on this machine: revisions as local processes (a ko:// image is
built with go build; otherwise the container's command runs), each behind
its own queue-proxy, with the gateway, activator and autoscaler in this
process. Edits under DIR are picked up as they are saved; an edit that does
not validate is reported and changes nothing. Ledger changes are written
to DIR/.ebb, and committed when DIR is the root of a Git work tree.

Flags:
  --addr HOST:PORT    the gateway, HTTP/1.1 and h2c (default 127.0.0.1:8080)
  --admin HOST:PORT   status for 'ebb get', 'ebb sync' and metrics (default 127.0.0.1:8081)
  --limits SPEC       bounds on what is read of the repository, as
                      file=4Mi,document=1536Ki,objects=10k,tree=64Mi,files=10k
                      (keys left out keep their default)
  -v                  debug logs
`

// upDefaultAdmin is where `ebb up` answers `ebb get`.
const upDefaultAdmin = "127.0.0.1:8081"

func runUp(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", "127.0.0.1:8080", "gateway address")
	admin := fs.String("admin", upDefaultAdmin, "admin address")
	verbose := fs.Bool("v", false, "debug logs")
	gitf := addGitFlags(fs)
	dirs, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, upUsage+upGitUsage)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n%s", err, upUsage)
		return exitUsage
	}
	if len(dirs) > 1 {
		fmt.Fprintf(e.stderr, "ebb up: want at most one DIR, got %d\n%s", len(dirs), upUsage)
		return exitUsage
	}
	if len(dirs) == 1 && isGitSource(dirs[0]) {
		return runUpGit(ctx, e, dirs[0], gitf, *addr, *admin, upLogger(e, *verbose))
	}
	dir := "."
	if len(dirs) == 1 {
		dir = dirs[0]
	}
	dir, err = filepath.Abs(dir)
	if err == nil {
		var st os.FileInfo
		if st, err = os.Stat(dir); err == nil && !st.IsDir() {
			err = errors.New("not a directory")
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %s: %v\n", dir, err)
		return exitUsage
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	u, err := newUp(dir, e, logger, nil)
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitInvalid
	}
	u.rec.Limits = gitf.limits
	if err := u.serve(ctx, *addr, *admin); err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitInvalid
	}
	return exitOK
}

// up is one `ebb up`: the local runtime, gateway, activator and autoscaler,
// driven by reconcile passes over a directory.
type up struct {
	dir     string
	e       *env
	log     *slog.Logger
	runtime *local.Runtime
	gateway *gateway.Gateway
	act     *activator.Activator
	scaler  *scaler.Autoscaler
	metrics *prometheus.Registry
	rec     *engine.Reconciler
	// started is when ebb up began observing: canaries are judged on
	// figures from then on.
	started time.Time
	// kicks asks for a pass now (POST /v1/sync); token is what callers of
	// POST /v1/sync present, written where `ebb sync` finds it.
	kicks git.Kicks
	token string

	mu        gosync.Mutex
	addr      string // the gateway's listening address
	desired   *engine.Desired
	reachable map[scaler.RevisionKey]bool
	known     map[scaler.RevisionKey]bool
	applying  *serving.Tree // the tree of the state Apply applies: it locates the runtime's errors
	shown     string
	// sources are the revisions that build and run from a directory of
	// their own (a preview's checkout) rather than dir.
	sources map[scaler.RevisionKey]string
	// code are the code digests of the revisions' ko:// images, as
	// their ledgers record them.
	code map[scaler.RevisionKey]map[string]string

	// planned is the state last planned from the repository, whose
	// ledgers take in the revisions seen ready.
	planned func() *engine.Desired

	// gcKey is the config-gc schedule in force; gcChanged wakes the
	// garbage collection loop when a pass changes it.
	gcKey     string
	gcChanged chan struct{}
}

// newUp makes the runtime of dir; sandbox, if set, runs the pods of
// previews.
func newUp(dir string, e *env, log *slog.Logger, sandbox *local.Sandbox) (*up, error) {
	u := &up{dir: dir, e: e, log: log, metrics: prometheus.NewRegistry(), kicks: git.NewKicks(), token: admin.NewToken(), started: time.Now(),
		reachable: map[scaler.RevisionKey]bool{}, known: map[scaler.RevisionKey]bool{}, gcChanged: make(chan struct{}, 1)}
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
		Reachable: u.isReachable,
		Source:    u.source,
		Code:      u.revisionCode,
		Sandbox:   sandbox,
		Locate:    u.locate,
	})
	if err != nil {
		return nil, err
	}
	u.gateway, err = gateway.New(gateway.Config{
		Backends:    u.runtime,
		Activator:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { u.act.ServeHTTP(w, r) }),
		DefaultMode: gateway.Proxy,
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
	var writer engine.LedgerWriter = engine.DirWriter{Dir: dir}
	if engine.IsWorktreeRoot(dir) {
		w := engine.WorktreeWriter{Dir: dir, Logger: log}
		if err := w.Recover(); err != nil {
			log.Warn("recovering the Git work tree", "error", err)
		}
		writer = w
	}
	u.rec = &engine.Reconciler{Writer: writer, Target: u, Logger: log, Observe: u.observed, Whole: true}
	u.planned = u.plannedDir
	// A revision that becomes ready may take its Service's latestRevision
	// traffic: plan again.
	u.runtime.Watch(func(string, string) {
		if u.planned().ReadyPending(u.observed()) {
			u.kicks.Kick()
		}
	})
	return u, nil
}

// serve runs the directory until ctx ends, then stops every pod.
func (u *up) serve(ctx context.Context, addr, adminAddr string) error {
	mux, err := u.adminMux(admin.Source{})
	if err != nil {
		return err
	}
	return u.run(ctx, addr, adminAddr, mux, u.dir, func(ctx context.Context, wg *gosync.WaitGroup) {
		wg.Go(func() {
			if err := engine.WatchDir(ctx, u.dir, 200*time.Millisecond, u.kicks.Kick); err != nil {
				u.log.Error("watching stopped: edits are no longer picked up", "error", err)
			}
		})
		gcRuns := make(chan time.Time)
		wg.Go(func() { u.gcLoop(ctx, gcRuns) })
		u.pass(ctx)
		for {
			select {
			case <-ctx.Done():
				return
			case <-u.kicks:
				u.pass(ctx)
			case now := <-gcRuns:
				if u.collect(ctx, now) {
					u.pass(ctx)
				}
			}
		}
	})
}

// run is the life of every `ebb up`: it serves the gateway on addr and
// admin on the admin address (writing the token of POST /v1/sync where
// `ebb sync` finds it), runs the autoscaler and the activator, says
// where it serves what, and calls body, which returns when ctx ends; then
// it stops the servers, the activator and every pod, and waits for the
// goroutines body started on wg.
func (u *up) run(ctx context.Context, addr, adminAddr string, adminHandler http.Handler, what string, body func(context.Context, *gosync.WaitGroup)) error {
	gwl, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	adl, err := net.Listen("tcp", adminAddr)
	if err != nil {
		gwl.Close()
		return fmt.Errorf("admin: %w", err)
	}
	tokenPath, err := admin.TokenPath(u.e.getenv, adl.Addr().(*net.TCPAddr).Port)
	if err == nil {
		err = admin.WriteToken(tokenPath, u.token)
	}
	if err != nil {
		gwl.Close()
		adl.Close()
		return err
	}
	defer admin.RemoveToken(tokenPath, u.token)
	u.mu.Lock()
	u.addr = gwl.Addr().String()
	u.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg gosync.WaitGroup
	servers := []*http.Server{transport.NewServer(u.gateway), admin.NewLocalServer(adl.Addr(), adminHandler)}
	for i, l := range []net.Listener{gwl, adl} {
		wg.Go(func() {
			if err := servers[i].Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				u.log.Error("server stopped", "address", l.Addr(), "error", err)
			}
		})
	}
	wg.Go(func() { _ = u.scaler.Run(ctx) })
	wg.Go(func() { _ = u.act.Run(ctx) })
	wg.Go(func() { engine.KickRollouts(ctx, u.planned, u.started, time.Now, rolloutTick, u.kicks.Kick) })
	fmt.Fprintf(u.e.stdout, "ebb: serving %s on http://%s (status: ebb get services --admin %s)\n", what, gwl.Addr(), adl.Addr())
	body(ctx, &wg)

	u.stop(servers)
	cancel()
	wg.Wait()
	return nil
}

// stop shuts the servers down, then every pod within its grace period,
// saying which processes it waits for; when asked again (e.stopNow), it
// kills what still runs at once.
func (u *up) stop(servers []*http.Server) {
	var out gosync.Mutex
	say := func(format string, args ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Fprintf(u.e.stdout, format, args...)
	}
	say("ebb: stopping (Ctrl-C again to kill every process now)\n")
	now, kill := context.WithCancel(context.Background())
	defer kill()
	go func() {
		select {
		case <-u.e.stopNow:
			say("ebb: stopping now: killing every process\n")
			kill()
		case <-now.Done():
		}
	}()
	shutdown, cancel := context.WithTimeout(now, 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(shutdown)
	}
	u.act.Close()
	u.runtime.Shutdown(now, func(s local.Stopping) {
		say("ebb: stopping: waiting up to %s for %s (pid %d)\n", s.Grace, s.Revision, s.PID)
	})
}

// plannedDir is the state the last pass over the directory planned.
func (u *up) plannedDir() *engine.Desired {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.desired
}

// rolloutTick is how often ebb up looks whether a canary is due.
const rolloutTick = 250 * time.Millisecond

// observed is what the runtime has seen of the revisions: which became
// ready, and their figures since ebb up started, now.
func (u *up) observed() serving.Observed {
	return serving.Observed{
		Ready: func(namespace, revision string) bool {
			_, _, everReady, _, ok := u.runtime.Health(scaler.RevisionKey{Namespace: namespace, Name: revision})
			return ok && everReady
		},
		Now: time.Now(), Since: u.started,
		Figures: func(namespace, revision string, from, to time.Time) metric.Figures {
			return u.scaler.Figures(scaler.RevisionKey{Namespace: namespace, Name: revision}, from, to)
		},
	}
}

// pass reconciles the directory once and reports the outcome. The
// directory is read through engine.OpenDir: no symbolic link leads out.
func (u *up) pass(ctx context.Context) {
	dir, err := engine.OpenDir(u.dir)
	if err != nil {
		fmt.Fprintf(u.e.stderr, "ebb: %v\n", err)
		return
	}
	// ko:// images build in the Go module the directory is part of,
	// which may hold it rather than be it.
	u.rec.Module = nil
	if mod := engine.OpenModule(u.dir); mod != nil {
		u.rec.Module = mod
		defer mod.Close()
	}
	res, err := u.rec.Reconcile(ctx, dir, u.stamp())
	dir.Close()
	if err != nil {
		fmt.Fprintf(u.e.stderr, "ebb: %s is not valid; what runs is unchanged:\n%v\n", u.dir, err)
		return
	}
	for _, c := range res.Changes {
		fmt.Fprintf(u.e.stdout, "ebb: %s\n", c)
	}
	u.mu.Lock()
	u.desired = res.Desired
	u.mu.Unlock()
	u.noteGCSchedule(res.Desired)
	u.printURLs()
}

// stamp is the repository state a pass plans at (see engine.DirStamp): the
// wall clock gives the time, so that garbage collection ages revisions
// from when they were planned here.
func (u *up) stamp() serving.Stamp { return engine.DirStamp(u.dir, time.Now()) }

// Apply is the local target: rendered objects to the runtime, revisions
// and their reachability to the autoscaler.
func (u *up) Apply(_ context.Context, d *engine.Desired) error {
	revs := engine.AutoscaledRevisions(d)
	reachable := map[scaler.RevisionKey]bool{}
	for _, r := range revs {
		reachable[r.Key] = r.Reachable
	}
	code := engine.RevisionCode(d)
	u.mu.Lock()
	u.reachable, u.applying, u.code = reachable, d.Tree, code
	u.mu.Unlock()
	u.scaler.SetConfig(d.Tree.Config.Autoscaler)

	objs, err := d.All()
	if err != nil {
		return err
	}
	if err := u.runtime.Apply(objs); err != nil {
		// One revision that cannot run locally does not stop the others.
		fmt.Fprintf(u.e.stderr, "ebb: %v\n", err)
	}
	known := map[scaler.RevisionKey]bool{}
	for _, r := range revs {
		if _, _, _, err, ok := u.runtime.Health(r.Key); ok && err == nil {
			u.scaler.Upsert(r)
			known[r.Key] = true
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for key := range u.known {
		if !known[key] {
			u.scaler.Remove(key)
		}
	}
	u.known = known
	return nil
}

// source is the directory a revision builds and runs from, "" for dir.
func (u *up) source(key scaler.RevisionKey) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.sources[key]
}

// revisionCode tells the runtime the code digests of a revision's ko://
// images, as its ledger records them.
func (u *up) revisionCode(key scaler.RevisionKey) map[string]string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.code[key]
}

// locate names the file and line of an error about a revision's
// template, in the tree being applied.
func (u *up) locate(err error) error {
	u.mu.Lock()
	t := u.applying
	u.mu.Unlock()
	if t == nil {
		return err
	}
	return t.Locate(err)
}

// isReachable tells the runtime whether a route reaches a revision, as
// the last pass planned it.
func (u *up) isReachable(key scaler.RevisionKey) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.reachable[key]
}

// status is what `ebb get` reads.
func (u *up) status() []engine.ServiceStatus {
	u.mu.Lock()
	d := u.desired
	u.mu.Unlock()
	now := time.Now()
	return engine.Status(d, func(ns, rev string) (engine.RevisionHealth, bool) {
		key := scaler.RevisionKey{Namespace: ns, Name: rev}
		want, ready, _, _, ok := u.runtime.Health(key)
		c, known := u.runtime.Readiness(key)
		if !ok || !known {
			return engine.RevisionHealth{}, false
		}
		h := engine.RevisionHealth{Desired: want, Actual: ready, Ready: engine.Condition(c.Ready), Reason: c.Reason,
			Figures: engine.FiguresOf(u.scaler.Figures(key, now.Add(-time.Minute), now))}
		switch {
		case c.Message != "":
			h.Reason += ": " + c.Message
		case c.Ready == corev1.ConditionTrue && want == 0 && ready == 0:
			h.Reason = "scaled to zero"
		}
		return h, true
	})
}

// domainMappings is what `ebb get domainmappings` reads.
func (u *up) domainMappings() []engine.DomainMappingStatus {
	u.mu.Lock()
	d := u.desired
	u.mu.Unlock()
	return append([]engine.DomainMappingStatus{}, engine.DomainMappingStatuses(d)...)
}

// adminMux is what the admin address serves: GET /healthz, /metrics,
// /v1/services and /v1/domainmappings (open to this machine, for `ebb
// get`), POST /v1/sync with the token, and src's other endpoints. Stats
// are not among them: the activator and the queue-proxies run in this
// process and the autoscaler reads them directly.
func (u *up) adminMux(src admin.Source) (*http.ServeMux, error) {
	mux := admin.NewMux(u.metrics)
	for path, status := range map[string]func() any{
		"/v1/services":       func() any { return u.status() },
		"/v1/domainmappings": func() any { return u.domainMappings() },
	} {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(status())
		})
	}
	src.Kick, src.Sync, src.Log = u.kicks.Kick, admin.Bearer(u.token), u.log
	return mux, src.Mount(mux)
}

// printURLs prints each Service's URLs with a ready-to-paste curl line,
// when they changed since the last time.
func (u *up) printURLs() {
	u.mu.Lock()
	addr := u.addr
	u.mu.Unlock()
	var b strings.Builder
	for _, s := range u.status() {
		fmt.Fprintf(&b, "  %s/%s  %s  (%s)\n", s.Namespace, s.Name, s.URL, serving.FormatTraffic(s.Traffic))
		fmt.Fprintf(&b, "    curl -H 'Host: %s' http://%s/\n", hostOf(s.URL), addr)
		for _, t := range s.Tags {
			fmt.Fprintf(&b, "    %s: curl -H 'Host: %s' http://%s/\n", t.Tag, hostOf(t.URL), addr)
		}
	}
	u.mu.Lock()
	same := b.String() == u.shown
	u.shown = b.String()
	u.mu.Unlock()
	if !same {
		fmt.Fprint(u.e.stdout, "ebb: services\n"+b.String())
	}
}

func hostOf(raw string) string {
	if p, err := url.Parse(raw); err == nil && p.Host != "" {
		return p.Host
	}
	return raw
}

// gatewayModes lets the autoscaler put the activator in or out of a
// revision's path at the gateway.
type gatewayModes struct{ gw *gateway.Gateway }

func (g gatewayModes) SetMode(_ context.Context, rev scaler.RevisionKey, m scaler.Mode, _ int32) error {
	mode := gateway.Proxy
	if m == scaler.Serve {
		mode = gateway.Serve
	}
	g.gw.SetMode(rev.Namespace, rev.Name, mode)
	return nil
}

// recordStats hands the activator's stats to the in-process autoscaler.
type recordStats struct{ a *scaler.Autoscaler }

func (r recordStats) Send(_ context.Context, msgs []metric.Message) error {
	r.a.Record(msgs)
	return nil
}
