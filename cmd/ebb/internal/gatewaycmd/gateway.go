package gatewaycmd

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ebb-dev/ebb/proxy/activator"
	"github.com/ebb-dev/ebb/proxy/backend"
	"github.com/ebb-dev/ebb/proxy/gateway"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/proxy/transport"
)

// backendFlags collects --backend ns/revision=host:port,host:port.
type backendFlags map[[2]string][]string

func (b backendFlags) String() string { return "" }

func (b backendFlags) Set(v string) error {
	key, addrs, ok := strings.Cut(v, "=")
	ns, rev, ok2 := strings.Cut(key, "/")
	if !ok || !ok2 || ns == "" || rev == "" || addrs == "" {
		return fmt.Errorf("want namespace/revision=host:port[,host:port…], got %q", v)
	}
	for _, a := range strings.Split(addrs, ",") {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("backend %q: %w", a, err)
		}
		b[[2]string{ns, rev}] = append(b[[2]string{ns, rev}], a)
	}
	return nil
}

type gatewayOptions struct {
	listen, routes, autoscaler, podName string
	mode                                route.Mode
	backends                            backendFlags
	drain                               time.Duration

	statsToken string // --stats-token-file
}

func gatewayFlags(args []string) (gatewayOptions, error) {
	o := gatewayOptions{backends: backendFlags{}}
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.listen, "listen", ":8080", "address to serve on (HTTP/1.1 and h2c)")
	fs.StringVar(&o.routes, "routes", "", "route table file (JSON route.Table), reloaded when it changes")
	fs.Var(&o.mode, "mode", "how revisions are reached: serve (pods directly) or proxy (through the activator)")
	fs.StringVar(&o.autoscaler, "autoscaler", "", "autoscaler base URL the activator sends stats to (none when empty)")
	fs.StringVar(&o.statsToken, "stats-token-file", "", "bearer token file sent with every stats push, read again for each")
	fs.StringVar(&o.podName, "pod-name", "activator", "name of this activator in its stats")
	fs.DurationVar(&o.drain, "drain", 45*time.Second, "on SIGTERM, how long /healthz fails before the server stops")
	fs.Var(o.backends, "backend", "static backends: namespace/revision=host:port[,host:port…] (repeatable)")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("ebb gateway: %w", err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("ebb gateway: unexpected argument %q", fs.Arg(0))
	}
	if o.routes == "" {
		return o, errors.New("ebb gateway: --routes FILE is required")
	}
	return o, nil
}

// readRoutes reads a route table file.
func readRoutes(path string) (route.Table, []byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return route.Table{}, nil, err
	}
	t, err := route.Decode(b)
	if err != nil {
		return route.Table{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, b, nil
}

// Exit codes, the same as every ebb subcommand's.
const (
	ExitOK      = 0
	ExitInvalid = 1 // the route table, a backend or a listener is wrong
	ExitUsage   = 2 // the command line is wrong
)

// Env is what `ebb gateway` takes from its process besides the flags.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Version goes into the API client's user agent.
	Version string
}

// Run is `ebb gateway`: the router with an in-process activator, fed from
// the cluster's API, or (with --routes) serving a route table file and
// static backends. It serves until ctx ends, then drains.
func Run(ctx context.Context, e Env, args []string) int {
	if !routesGiven(args) {
		return runGatewayCluster(ctx, e, args)
	}
	o, err := gatewayFlags(args)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitUsage
	}
	log := slog.New(slog.NewJSONHandler(e.Stderr, nil))
	tab, raw, err := readRoutes(o.routes)
	if err != nil {
		fmt.Fprintln(e.Stderr, "ebb gateway:", err)
		return ExitInvalid
	}
	backends := backend.NewStatic()
	for k, addrs := range o.backends {
		backends.Set(k[0], k[1], addrs)
	}
	var gw *gateway.Gateway
	acfg := activator.Config{Backends: backends, Revisions: revisionsOf(func() *gateway.Gateway { return gw }),
		PodName: o.podName, Stats: StatsSink(o.autoscaler, o.statsToken), Logger: log}
	act, err := activator.New(acfg)
	if err != nil {
		fmt.Fprintln(e.Stderr, "ebb gateway:", err)
		return ExitInvalid
	}
	defer act.Close()
	gw, err = gateway.New(gateway.Config{Backends: backends, Activator: act, DefaultMode: o.mode, Logger: log})
	if err != nil {
		fmt.Fprintln(e.Stderr, "ebb gateway:", err)
		return ExitInvalid
	}
	if err := gw.SetTable(tab); err != nil {
		fmt.Fprintln(e.Stderr, "ebb gateway:", err)
		return ExitInvalid
	}
	ls, err := listen(addressed{o.listen, transport.NewServer(gw)})
	if err != nil {
		fmt.Fprintln(e.Stderr, "ebb gateway:", err)
		return ExitInvalid
	}
	go act.Run(ctx)
	go watchRoutes(ctx, o.routes, raw, gw, log)
	log.Info("gateway serving", "addr", ls[0].Listener.Addr().String(), "routes", o.routes, "mode", o.mode)
	err = serveDraining(ctx, o.drain, func() {
		gw.Drain()
		log.Info("draining", "for", o.drain)
	}, ls...)
	if err != nil {
		fmt.Fprintln(e.Stderr, "ebb gateway:", err)
		return ExitInvalid
	}
	return ExitOK
}

// StatsSink sends activator stats to the autoscaler at url, with the
// bearer token in tokenFile when set; none when url is empty.
func StatsSink(url, tokenFile string) activator.StatsSink {
	if url == "" {
		return nil
	}
	return &activator.HTTPStats{URL: strings.TrimSuffix(url, "/"), Client: &http.Client{Timeout: 5 * time.Second}, TokenFile: tokenFile}
}

// watchRoutes reloads the route table file when its content changes,
// checking once a second; a table that does not parse is logged and the
// current one kept.
func watchRoutes(ctx context.Context, path string, last []byte, gw *gateway.Gateway, log *slog.Logger) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		tab, raw, err := readRoutes(path)
		if err != nil {
			log.Warn("route table not reloaded", "err", err)
			continue
		}
		if bytes.Equal(raw, last) {
			continue
		}
		if err := gw.SetTable(tab); err != nil {
			log.Warn("route table not reloaded", "err", err)
			continue
		}
		last = raw
		log.Info("route table reloaded", "routes", len(tab.Routes))
	}
}

// revisionsOf lets the activator read revisions from a gateway created
// after it.
type revisionsOf func() *gateway.Gateway

func (f revisionsOf) Revision(ns, name string) (route.Revision, bool) { return f().Revision(ns, name) }

// routesGiven reports whether args name a route table file (--routes):
// the gateway then runs from that file, without a cluster.
func routesGiven(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "routes" {
			return true
		}
	}
	return false
}
