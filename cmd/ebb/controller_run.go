package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
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
  --leader-elect-lease-duration, --leader-elect-renew-deadline, --leader-elect-retry-period DURATION
                        the Lease's timings: how long a standby waits for an unrenewed
                        Lease, how long the leader tries to renew before it stops
                        leading (and campaigns again), the pause between tries
                        (default 15s, 10s, 2s)
  --resync DURATION     compare every applied object with the cluster, taking back
                        drift, at least this often (default 10m); the passes
                        between, after pushes, apply only what the commit changed
  --pprof               serve Go's profiles at /debug/pprof/ on --listen
  --limits SPEC         bounds on what is read of each commit, as
                        file=4Mi,document=1536Ki,objects=10k,tree=64Mi,files=10k
                        (keys left out keep their default)
  -v                    debug logs
` + upGitUsage

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
