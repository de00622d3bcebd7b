package gatewaycmd

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ebb-dev/ebb/internal/admin"
	"github.com/ebb-dev/ebb/internal/kube"
	"github.com/ebb-dev/ebb/proxy/activator"
	"github.com/ebb-dev/ebb/proxy/gateway"
	"github.com/ebb-dev/ebb/proxy/header"
	proxykube "github.com/ebb-dev/ebb/proxy/kube"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/proxy/transport"
)

const gatewayClusterUsage = `usage: ebb gateway [flags]
       ebb gateway --routes FILE [--backend NS/REV=HOST:PORT,…] [--mode serve|proxy] [--listen ADDR]

Runs the ebb gateway with its activator in a Kubernetes cluster: the route
table is the merge of the ConfigMaps labelled ebb.dev/route-table=true
that ebb rendered (app.kubernetes.io/managed-by=ebb), each served only for
the hosts its namespace owns (the host claims in ebb's namespace) and
checked on its own (a bad one is skipped with an Event); a revision's
pods are the ready endpoints of its private Service, and whether the
activator is in a revision's path follows the mode the controller writes
on the revision's public EndpointSlice. Revisions that no route table
lists (gateway-api and istio classes) are known to the
activator from their Deployment's queue-proxy settings.

Flags:
  --kubeconfig FILE   cluster credentials (default: in-cluster, then $KUBECONFIG)
  --listen ADDR       ingress traffic, routed by host (default :8080)
  --activator ADDR    traffic sent to public revision Services in proxy mode
                      (default :8012, the revision Services' target port)
  --admin ADDR        /healthz, /readyz, /metrics (default :9090)
  --autoscaler URL    where activator stats go (default http://ebb-controller.<namespace>.svc:8080)
  --stats-token-file FILE  a bearer token sent with every stats push, read
                      again for each (the install mounts a projected
                      ServiceAccount token for audience ebb-controller)
  --activators NS/NAME  the Service whose pods are the activators (default
                      <namespace>/ebb-gateway): with containerConcurrency > 0,
                      this activator sends a revision's requests only to its
                      share of the pods, found by its place among the
                      activators of the revision's public EndpointSlice; its
                      own address is $POD_IP, else its pod's ($POD_NAME)
                      endpoint in this Service (set $POD_IP with
                      --watch-namespace)
  --namespace NS      ebb's namespace, where the host claims are (default
                      $POD_NAMESPACE, else ebb-system)
  --watch-namespace NS  only follow route tables and endpoints in NS (default all)
  --drain DURATION    on SIGTERM, how long /healthz fails before the servers stop (default 45s)

With --routes FILE the gateway runs without a cluster: routes from that
JSON route table (reloaded when it changes), backends from --backend, every
revision in one --mode (default proxy).
`

type gatewayClusterOptions struct {
	kubeconfig, listen, activator, admin, autoscaler, namespace, watch string
	activators                                                         proxykube.ServiceRef
	drain                                                              time.Duration

	statsToken string // --stats-token-file
}

func gatewayClusterFlags(e Env, args []string) (gatewayClusterOptions, error) {
	var o gatewayClusterOptions
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file")
	fs.StringVar(&o.listen, "listen", ":8080", "ingress address")
	fs.StringVar(&o.activator, "activator", ":8012", "activator address")
	fs.StringVar(&o.admin, "admin", ":9090", "admin address")
	fs.StringVar(&o.autoscaler, "autoscaler", "", "autoscaler URL")
	fs.StringVar(&o.statsToken, "stats-token-file", "", "bearer token file for stats pushes")
	fs.StringVar(&o.namespace, "namespace", "", "ebb's namespace")
	fs.StringVar(&o.watch, "watch-namespace", "", "namespace to follow")
	activators := fs.String("activators", "", "activator Service")
	fs.DurationVar(&o.drain, "drain", 45*time.Second, "drain time")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.namespace == "" {
		o.namespace = cmp.Or(e.Getenv("POD_NAMESPACE"), "ebb-system")
	}
	if o.autoscaler == "" {
		o.autoscaler = "http://ebb-controller." + o.namespace + ".svc:8080"
	}
	if *activators == "" {
		*activators = o.namespace + "/ebb-gateway"
	}
	ns, name, ok := strings.Cut(*activators, "/")
	if !ok || ns == "" || name == "" {
		return o, fmt.Errorf("--activators %q: want NAMESPACE/NAME", *activators)
	}
	o.activators = proxykube.ServiceRef{Namespace: ns, Name: name}
	return o, nil
}

func runGatewayCluster(ctx context.Context, e Env, args []string) int {
	o, err := gatewayClusterFlags(e, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.Stdout, gatewayClusterUsage)
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "ebb gateway: %v\n%s", err, gatewayClusterUsage)
		return ExitUsage
	}
	log := slog.New(slog.NewJSONHandler(e.Stderr, nil))
	cfg, err := kube.LoadConfig(o.kubeconfig)
	if err != nil {
		fmt.Fprintf(e.Stderr, "ebb gateway: kubeconfig: %v\n", err)
		return ExitInvalid
	}
	cfg.UserAgent = "ebb-gateway/" + e.Version
	k, err := kube.New(cfg)
	if err != nil {
		fmt.Fprintf(e.Stderr, "ebb gateway: %v\n", err)
		return ExitInvalid
	}
	if err := serveGatewayCluster(ctx, e, o, k, log); err != nil {
		fmt.Fprintf(e.Stderr, "ebb gateway: %v\n", err)
		return ExitInvalid
	}
	return ExitOK
}

// clusterGateway is the gateway and activator of one gateway pod, fed
// from the Kubernetes API.
type clusterGateway struct {
	gw     *gateway.Gateway
	act    *activator.Activator
	eps    *proxykube.Endpoints
	peers  *proxykube.Peers
	routes *proxykube.RouteTables
	facts  *proxykube.RevisionFacts
}

// Revision is what the activator knows of a revision: the route table's
// facts, else (for revisions routed by HTTPRoutes, VirtualServices or
// KIngresses) those of its Deployment.
func (g *clusterGateway) Revision(ns, name string) (route.Revision, bool) {
	if r, ok := g.gw.Revision(ns, name); ok {
		return r, true
	}
	return g.facts.Revision(ns, name)
}

// clusterGatewayIdentity is who a gateway pod is: its name (in stats and
// to find its address), its IP when known, and the Service whose pods are
// the activators.
type clusterGatewayIdentity struct {
	podName, podIP string
	activators     proxykube.ServiceRef
}

// clusterGatewayConfig is what a gateway pod is fed from besides the API.
type clusterGatewayConfig struct {
	id clusterGatewayIdentity
	// watch limits route tables and endpoints to one namespace ("" for
	// all); namespace is ebb's own, where the host claims are.
	watch, namespace string
	// stats is where activator stats go (nil sends none).
	stats activator.StatsSink
	// reg, when set, gets the route tables' metrics.
	reg prometheus.Registerer
	// transport reaches the queue-proxies (nil: the default).
	transport http.RoundTripper
	log       *slog.Logger
}

func newClusterGateway(k *kube.Clients, c clusterGatewayConfig) (*clusterGateway, error) {
	log := c.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &clusterGateway{eps: proxykube.NewEndpoints(k, c.watch), facts: proxykube.NewRevisionFacts(k, c.watch)}
	g.peers = proxykube.NewPeers(g.eps, proxykube.PeersOptions{SelfIP: c.id.podIP, PodName: c.id.podName, Activators: c.id.activators})
	acfg := activator.Config{Backends: g.eps, Revisions: g, Peers: g.peers, Failures: g.eps, Transport: c.transport,
		PodName: cmp.Or(c.id.podName, "activator"), Stats: c.stats, Logger: log}
	var err error
	if g.act, err = activator.New(acfg); err != nil {
		return nil, err
	}
	g.gw, err = gateway.New(gateway.Config{Backends: g.eps, Activator: g.act, DefaultMode: route.Proxy, Transport: c.transport, Logger: log})
	if err != nil {
		return nil, err
	}
	opts := proxykube.RouteTablesOptions{Namespace: c.watch, ClaimsNamespace: c.namespace, Check: gateway.Check,
		Events: proxykube.NewGatewayEvents(k, cmp.Or(c.id.podName, "ebb-gateway"), log), Logger: log,
		Set: func(t route.Table) error {
			if err := g.gw.SetTable(t); err != nil {
				return err
			}
			log.Info("route table", "routes", len(t.Routes), "revisions", len(t.Revisions))
			return nil
		}}
	if c.reg != nil {
		if opts.Metrics, err = proxykube.NewRouteTableMetrics(c.reg); err != nil {
			return nil, err
		}
	}
	g.routes = proxykube.NewRouteTables(k, opts)
	// A revision's mode is the one the controller wrote on its public
	// EndpointSlice; proxy until it says otherwise.
	g.eps.WatchServices(func(ns, svc, _ string) {
		if m, ok := g.eps.Mode(ns, svc); ok {
			g.gw.SetMode(ns, svc, m)
		}
	})
	return g, nil
}

// activatorHandler serves the activator port: requests that name their
// revision (from another ingress, or probes) go to the activator, the
// rest are routed by host like ingress traffic.
func (g *clusterGateway) activatorHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(header.Revision) != "" || r.Header.Get(header.Probe) != "" {
			g.act.ServeHTTP(w, r)
			return
		}
		g.gw.ServeHTTP(w, r)
	})
}

// follow starts following the API until ctx ends.
func (g *clusterGateway) follow(ctx context.Context) {
	go g.eps.Run(ctx)
	go g.routes.Run(ctx)
	go g.facts.Run(ctx)
}

func (g *clusterGateway) ready() bool {
	return g.eps.HasSynced() && g.routes.HasSynced() && g.facts.HasSynced()
}

func serveGatewayCluster(ctx context.Context, e Env, o gatewayClusterOptions, k *kube.Clients, log *slog.Logger) error {
	id := clusterGatewayIdentity{podName: e.Getenv("POD_NAME"), podIP: e.Getenv("POD_IP"), activators: o.activators}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	g, err := newClusterGateway(k, clusterGatewayConfig{id: id, watch: o.watch, namespace: o.namespace,
		stats: StatsSink(o.autoscaler, o.statsToken), reg: reg, log: log})
	if err != nil {
		return err
	}
	defer g.act.Close()
	var draining atomic.Bool
	handler, err := admin.NewHandler(admin.Options{Metrics: reg, Ready: func() error {
		if draining.Load() || !g.ready() {
			return errNotSynced
		}
		return nil
	}})
	if err != nil {
		return err
	}
	ls, err := listen(
		addressed{o.listen, transport.NewServer(g.gw)},
		addressed{o.activator, transport.NewServer(g.activatorHandler())},
		addressed{o.admin, admin.NewServer(handler)})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.follow(ctx)
	go g.act.Run(ctx)
	log.Info("gateway serving", "listen", o.listen, "activator", o.activator, "admin", o.admin, "autoscaler", o.autoscaler)
	return serveDraining(ctx, o.drain, func() {
		g.gw.Drain()
		draining.Store(true)
		log.Info("draining", "for", o.drain)
	}, ls...)
}

// errNotSynced is /readyz's answer while the gateway has not yet synced
// its informers, or drains.
var errNotSynced = errors.New("not synced")
