package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/robfig/cron/v3"
	authzv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/internal/admin"
	"github.com/ebb-dev/ebb/internal/kube"
	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/ebb-dev/ebb/runtime/cluster/leader"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/scaler/metric"
)

const controllerUsage = `usage: ebb controller [URL] [flags]

Runs ebb in a Kubernetes cluster: follows the Git repository URL, pushes
ledger changes back to it, applies what each commit renders (server-side
apply, field manager "ebb", pruning by inventory), and runs the autoscaler
and the public Services' endpoint switching. One replica leads at a time
(Lease ebb-controller in --namespace); the others wait. In a pod, URL,
--branch, --poll and --username default to $EBB_REPO_URL, $EBB_BRANCH,
$EBB_POLL and $EBB_GIT_USERNAME, --forge, --commit-statuses and
--pr-comment to $EBB_FORGE, $EBB_COMMIT_STATUSES and $EBB_PR_COMMENT,
and for an SSH URL (ssh://, user@host:path) --ssh-key and --known-hosts
to the files $EBB_GIT_SSH_KEY_FILE and $EBB_GIT_KNOWN_HOSTS_FILE name;
--verify to $EBB_VERIFY, its keys to the file $EBB_ALLOWED_SIGNERS_FILE or
$EBB_VERIFY_KEYS_FILE names, and --signing-key to the file
$EBB_SIGNING_KEY_FILE names when it holds a key.

Flags:
  --kubeconfig FILE     cluster credentials (default: in-cluster, then $KUBECONFIG)
  --namespace NS        ebb's own namespace (default $POD_NAMESPACE, else ebb-system)
  --source NAME         the source's name in inventory, status and metrics (default main)
  --listen ADDR         health, metrics, autoscaler stats, status, webhook (default :8080)
  --activators NS/NAME  the Service whose pods are the activators (default <namespace>/ebb-gateway)
  --leader-service NAME the selector-less Service the leader points at itself, for
                        activator stats and webhooks (default ebb-controller)
  --service-account SA  apply, read and prune the repository's objects as this
                        ServiceAccount (impersonated): NAMESPACE/NAME, or NAME for
                        the ServiceAccount of that name in each object's namespace
                        (default $EBB_SERVICE_ACCOUNT; none: as the controller itself)
  --allow-namespace NS  the only namespaces objects may be applied in (repeatable;
                        "*" for every one; default every one but kube-system,
                        kube-public, kube-node-lease and --namespace)
  --allow-cluster-kind KIND.GROUP
                        a cluster-scoped kind objects may be of, besides Namespace
                        (repeatable, e.g. ClusterRole.rbac.authorization.k8s.io)
  --no-cross-namespace-refs
                        refuse objects that refer to objects in other namespaces
                        (RoleBinding subjects, route parents and backends, ...)
  --stats-identity USER who may push activator stats: a bearer token for audience
                        ebb-controller that the API authenticates as USER (repeatable;
                        default system:serviceaccount:<namespace>:ebb-gateway)
  --qps N, --burst N    client-side rate limit towards the apiserver (default 50, 100)
  --cache-dir DIR       the Git cache (default $XDG_CACHE_HOME/ebb/git)
  --leader-elect        campaign for the Lease (default true)
  --resync DURATION     compare every applied object with the cluster, taking back
                        drift, at least this often (default 10m); the passes
                        between, after pushes, apply only what the commit changed
  --pprof               serve Go's profiles at /debug/pprof/ on --listen
  --limits SPEC         bounds on what is read of each commit, as
                        file=4Mi,document=1536Ki,objects=10k,tree=64Mi,files=10k
                        (keys left out keep their default)
  -v                    debug logs
` + upGitUsage

type controllerOptions struct {
	url, kubeconfig, namespace, source, listen, activators, autoscaler, cacheDir string
	allow, clusterKinds                                                          stringList
	serviceAccount                                                               apply.ServiceAccount
	noCrossRefs                                                                  bool
	qps                                                                          float64
	resync                                                                       time.Duration
	burst                                                                        int
	leaderElect, verbose, pprof                                                  bool
	git                                                                          *gitFlags

	statsIdentities stringList // --stats-identity
}

func controllerFlags(e *env, args []string) (controllerOptions, error) {
	var o controllerOptions
	fs := flag.NewFlagSet("controller", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file")
	fs.StringVar(&o.namespace, "namespace", "", "ebb's namespace")
	fs.StringVar(&o.source, "source", "main", "source name")
	fs.StringVar(&o.listen, "listen", ":8080", "admin address")
	fs.StringVar(&o.activators, "activators", "", "activator Service")
	fs.StringVar(&o.autoscaler, "leader-service", "ebb-controller", "leader Service")
	fs.StringVar(&o.cacheDir, "cache-dir", "", "Git cache directory")
	fs.Var(&o.allow, "allow-namespace", "allowed namespace")
	fs.Var(&o.statsIdentities, "stats-identity", "who may push stats")
	fs.Var(&o.clusterKinds, "allow-cluster-kind", "allowed cluster-scoped kind")
	fs.BoolVar(&o.noCrossRefs, "no-cross-namespace-refs", false, "refuse references to other namespaces")
	sa := fs.String("service-account", "", "ServiceAccount to apply as")
	fs.Float64Var(&o.qps, "qps", 50, "client QPS")
	fs.IntVar(&o.burst, "burst", 100, "client burst")
	fs.BoolVar(&o.leaderElect, "leader-elect", true, "leader election")
	fs.DurationVar(&o.resync, "resync", 10*time.Minute, "full resync interval")
	fs.BoolVar(&o.verbose, "v", false, "debug logs")
	fs.BoolVar(&o.pprof, "pprof", false, "serve /debug/pprof/ on --listen")
	o.git = addGitFlags(fs)
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return o, err
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(rest) == 0 && e.getenv("EBB_REPO_URL") != "" {
		rest = []string{e.getenv("EBB_REPO_URL")}
	}
	if len(rest) != 1 {
		return o, fmt.Errorf("want one repository URL, got %d arguments", len(rest))
	}
	o.url = rest[0]
	// In a pod, the rest may come from the environment too.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	fromEnv := map[string]string{"branch": "EBB_BRANCH", "poll": "EBB_POLL", "username": "EBB_GIT_USERNAME",
		"service-account": "EBB_SERVICE_ACCOUNT", "forge": "EBB_FORGE", "commit-statuses": "EBB_COMMIT_STATUSES",
		"pr-comment": "EBB_PR_COMMENT"}
	if isSSH(o.url) {
		// The install mounts the Secret's SSH key and known_hosts for
		// every URL; they apply to SSH URLs only.
		fromEnv["ssh-key"], fromEnv["known-hosts"] = "EBB_GIT_SSH_KEY_FILE", "EBB_GIT_KNOWN_HOSTS_FILE"
	}
	for name, env := range fromEnv {
		if v := e.getenv(env); v != "" && !set[name] && !(name == "branch" && (set["tag"] || set["commit"])) {
			if err := fs.Set(name, v); err != nil {
				return o, fmt.Errorf("$%s: %w", env, err)
			}
		}
	}
	if err := o.git.verify.fromEnv(e, fs, set); err != nil {
		return o, err
	}
	if o.namespace == "" {
		o.namespace = cmp.Or(e.getenv("POD_NAMESPACE"), "ebb-system")
	}
	if o.activators == "" {
		o.activators = o.namespace + "/ebb-gateway"
	}
	if len(o.statsIdentities) == 0 {
		o.statsIdentities = stringList{"system:serviceaccount:" + o.namespace + ":ebb-gateway"}
	}
	if _, _, ok := strings.Cut(o.activators, "/"); !ok {
		return o, fmt.Errorf("--activators %q: want NAMESPACE/NAME", o.activators)
	}
	if o.resync <= 0 {
		return o, fmt.Errorf("--resync %s: want a positive duration", o.resync)
	}
	var err error
	if o.serviceAccount, err = apply.ParseServiceAccount(*sa); err != nil {
		return o, fmt.Errorf("--service-account: %w", err)
	}
	for _, k := range o.clusterKinds {
		if gk := schema.ParseGroupKind(k); gk.Kind == "" {
			return o, fmt.Errorf("--allow-cluster-kind %q: want KIND.GROUP", k)
		}
	}
	return o, nil
}

// applyOptions are the apply step's options the flags set.
func (o controllerOptions) applyOptions() apply.Options {
	a := apply.Options{InventoryNamespace: o.namespace, Namespaces: o.allow, FullEvery: o.resync, ServiceAccount: o.serviceAccount,
		NoCrossNamespaceRefs: o.noCrossRefs, SharedRefs: render.DefaultGateways().Shared()}
	for _, k := range o.clusterKinds {
		a.ClusterKinds = append(a.ClusterKinds, schema.ParseGroupKind(k))
	}
	return a
}

// kubeConfig is --kubeconfig, else the in-cluster config, else $KUBECONFIG
// or ~/.kube/config.
func kubeConfig(path string) (*rest.Config, error) {
	if path == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			return cfg, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
}

func runController(ctx context.Context, e *env, args []string) int {
	o, err := controllerFlags(e, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, controllerUsage)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb controller: %v\n%s", err, controllerUsage)
		return exitUsage
	}
	log := upLogger(e, o.verbose)
	c, err := newController(e, o, log)
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb controller: %v\n", err)
		return exitInvalid
	}
	if err := c.serve(ctx); err != nil {
		fmt.Fprintf(e.stderr, "ebb controller: %v\n", err)
		return exitInvalid
	}
	return exitOK
}

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
	eps      *cluster.Endpoints
	runtime  *cluster.Runtime
	scaler   *scaler.Autoscaler
	kicks    git.Kicks
	applied  chan struct{} // a pass applied (see releasing)
	identity string
	secret   string

	gcChanged chan struct{}

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
		identity: cmp.Or(e.getenv("POD_NAME"), host), gcChanged: make(chan struct{}, 1)}
	if c.secret, err = o.git.webhookSecret(e); err != nil {
		return nil, err
	}
	c.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	actNS, actName, _ := strings.Cut(o.activators, "/")
	c.eps = cluster.NewEndpoints(k, "")
	c.runtime = cluster.NewRuntime(k, cluster.RuntimeOptions{Endpoints: c.eps,
		Activators: cluster.ServiceRef{Namespace: actNS, Name: actName}, Logger: log,
		// A revision seen ready may take its Service's latestRevision
		// traffic: plan again.
		OnReady: func(scaler.RevisionKey) {
			if c.loop.Main().ReadyPending(c.runtime.Observed()) {
				c.kicks.Kick()
			}
		}})
	c.scaler, err = scaler.New(scaler.Options{Scaler: c.runtime, Modes: c.runtime, Pods: c.runtime, Registry: c.reg, Logger: log})
	if err != nil {
		return nil, err
	}
	c.status = cluster.NewStatus(k, o.namespace, o.source, c.runtime.Health, log)
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
	c.loop = &engine.Loop{Name: o.source, Source: src, Target: releasing{c.target, c.applied}, ReadOnly: *o.git.readOnly, Logger: log, Report: c.report,
		Resync: o.resync, Limits: o.git.limits, Observe: c.observed}
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
func (c *controller) report(p engine.Pass) {
	select {
	case c.gcChanged <- struct{}{}: // config-gc may have changed
	default:
	}
	if p.Stage == engine.StageApply {
		return
	}
	st := c.loop.Status()
	if p.Err == nil && st.LastError != "" {
		return // the head is still a commit that failed
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if p.Err == nil {
			c.status.Resolved(ctx)
			return
		}
		c.status.Failed(ctx, st.Fetched, fmt.Errorf("%s: %w", p.Stage, p.Err))
	}()
}

// serve runs the admin server, and campaigns to lead, until ctx ends.
func (c *controller) serve(ctx context.Context) error {
	lis, err := net.Listen("tcp", c.o.listen)
	if err != nil {
		return err
	}
	handler, err := c.admin()
	if err != nil {
		lis.Close()
		return err
	}
	srv := admin.NewServer(handler)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg gosync.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.log.Error("admin server stopped", "error", err)
			cancel()
		}
	})
	wg.Go(func() { c.eps.Run(ctx) })
	c.log.Info("controller started", "source", c.o.source, "url", c.src.Status().URL, "admin", lis.Addr().String(),
		"identity", c.identity, "leader-elect", c.o.leaderElect)
	var runErr error
	if c.o.leaderElect {
		runErr = leader.Run(ctx, c.k.Coordination, leader.Config{Namespace: c.o.namespace, Name: "ebb-controller",
			Identity: c.identity}, c.lead)
	} else {
		c.lead(ctx)
	}
	shutdown, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	// The last pass's status and Events are written in the background.
	_ = c.target.Flush(shutdown)
	_ = srv.Shutdown(shutdown)
	cancel()
	wg.Wait()
	return runErr
}

// admin serves /healthz, /readyz, /metrics, the autoscaler's stats
// endpoint (for the activators' ServiceAccount), the status, a sync
// trigger (for whom RBAC allows create on sources/sync in ebb.dev) and
// the webhook.
func (c *controller) admin() (http.Handler, error) {
	stats, err := admin.NewKubeAuth(admin.KubeConfig{Reviewer: c.k, Identities: c.o.statsIdentities})
	if err != nil {
		return nil, err
	}
	syncers, err := admin.NewKubeAuth(admin.KubeConfig{Reviewer: c.k, Access: &authzv1.ResourceAttributes{
		Namespace: c.o.namespace, Verb: "create", Group: "ebb.dev", Resource: "sources", Subresource: "sync", Name: c.o.source}})
	if err != nil {
		return nil, err
	}
	mux := admin.NewMux(c.reg)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !c.eps.HasSynced() {
			http.Error(w, "endpoints not synced", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.Handle("POST "+metric.PushPath, admin.Require(stats, c.scaler.Handler()))
	mux.HandleFunc("GET /v1/services", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(c.status.Doc().Services)
	})
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(struct {
			Leading bool                `json:"leading"`
			Status  cluster.StatusDoc   `json:"status"`
			Source  engine.SourceStatus `json:"source"`
		}{c.isLeading(), c.status.Doc(), c.loop.Status()})
	})
	if c.o.pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	err = admin.Source{Status: func() any { return []engine.SourceStatus{c.loop.Status()} }, Kick: c.kicks.Kick, Sync: syncers,
		Secret: []byte(c.secret), Log: c.log}.Mount(mux)
	return mux, err
}

// gcSchedule is config-gc's schedule in the last applied state, nil
// while there is none or collection is disabled.
func (c *controller) gcSchedule() cron.Schedule {
	d := c.loop.Main()
	if d == nil || d.Tree == nil || d.Tree.Config == nil || d.Tree.Config.GC.Disabled() {
		return nil
	}
	return d.Tree.Config.GC.Cron
}

// collect runs one garbage collection over the ledgers and, when it
// removed revisions, commits that (through the loop) and syncs at once.
func (c *controller) collect(ctx context.Context, now time.Time) {
	d := c.loop.Main()
	if d == nil {
		return
	}
	res, err := engine.CollectGarbage(ctx, d, c.loop, now)
	if err != nil {
		c.log.Error("garbage collection", "error", err)
		return
	}
	if !res.Empty() {
		c.log.Info("garbage collection", "result", res.Message())
		c.kicks.Kick()
	}
}
