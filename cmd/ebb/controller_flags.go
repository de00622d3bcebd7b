package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/ebb-dev/ebb/internal/kube"
	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/ebb-dev/ebb/runtime/cluster/leader"
)

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
	// lease holds the Lease's timings (--leader-elect-*).
	lease leader.Config

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
	fs.DurationVar(&o.lease.LeaseDuration, "leader-elect-lease-duration", 15*time.Second, "Lease duration")
	fs.DurationVar(&o.lease.RenewDeadline, "leader-elect-renew-deadline", 10*time.Second, "Lease renew deadline")
	fs.DurationVar(&o.lease.RetryPeriod, "leader-elect-retry-period", 2*time.Second, "Lease retry period")
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
	if err := o.lease.CheckTimings(); err != nil {
		return o, err
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
func kubeConfig(path string) (*rest.Config, error) { return kube.LoadConfig(path) }
