package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ebb-dev/ebb/sync"
)

const getUsage = `usage: ebb get (services | revisions | sources) [--admin HOST:PORT] [-o json]
       ebb get (services | revisions | sources) --cluster [--kubeconfig FILE]
               [--context NAME] [-n NAMESPACE] [--source NAME] [-o json]

Shows what ebb serves, like kn service list and kn revision list.

A running 'ebb up': --admin is the address it printed (default
127.0.0.1:8081, or $EBB_ADMIN).

A cluster (--cluster, or any of the flags below): reads the status the
leading 'ebb controller' publishes (ConfigMaps ebb-status-<source>), with
the same tables; 'sources' shows each source's condition (Ready,
Reconciling, Stalled) and last applied commit.
  --kubeconfig FILE   kubeconfig (default $KUBECONFIG, then ~/.kube/config,
                      then the in-cluster config)
  --context NAME      kubeconfig context (default its current context)
  -n, --namespace NS  ebb's own namespace, where the controller runs
                      (default ebb-system; not the Services' namespaces)
  --source NAME       one source (default every source in the namespace)
`

func runGet(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	admin := fs.String("admin", "", "address of a running ebb up")
	output := fs.String("o", "", "output format: json")
	inCluster := fs.Bool("cluster", false, "read the status a cluster's controller publishes")
	var cg clusterGet
	fs.StringVar(&cg.kubeconfig, "kubeconfig", "", "kubeconfig file")
	fs.StringVar(&cg.context, "context", "", "kubeconfig context")
	fs.StringVar(&cg.namespace, "namespace", "", "ebb's namespace")
	fs.StringVar(&cg.namespace, "n", "", "ebb's namespace")
	fs.StringVar(&cg.source, "source", "", "source name")
	what, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, getUsage)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb get: %v\n%s", err, getUsage)
		return exitUsage
	}
	if len(what) != 1 || (*output != "" && *output != "json") {
		fmt.Fprint(e.stderr, getUsage)
		return exitUsage
	}
	kind := strings.TrimSuffix(what[0], "s")
	if kind != "service" && kind != "revision" && kind != "ksvc" && kind != "rev" && kind != "source" {
		fmt.Fprintf(e.stderr, "ebb get: unknown kind %q\n%s", what[0], getUsage)
		return exitUsage
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "kubeconfig", "context", "namespace", "n", "source":
			*inCluster = true
		}
	})
	if *inCluster {
		if *admin != "" {
			fmt.Fprintf(e.stderr, "ebb get: --admin reads an ebb up, --cluster a cluster: give one\n%s", getUsage)
			return exitUsage
		}
		cg.namespace = cmp.Or(cg.namespace, "ebb-system")
		return getCluster(ctx, e, cg, kind, *output == "json")
	}
	if *admin == "" {
		*admin = e.getenv("EBB_ADMIN")
	}
	if *admin == "" {
		*admin = upDefaultAdmin
	}
	if kind == "source" {
		return getSources(ctx, e, *admin, *output == "json")
	}
	svcs, raw, err := fetchStatus(ctx, *admin)
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb get: %v\n%s", err, clusterHint)
		return exitInvalid
	}
	if *output == "json" {
		e.stdout.Write(raw)
		return exitOK
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 3, ' ', 0)
	if kind == "service" || kind == "ksvc" {
		writeServices(w, svcs)
	} else {
		writeRevisions(w, svcs, time.Now())
	}
	w.Flush()
	return exitOK
}

// clusterHint follows a failure to reach a local ebb up.
const clusterHint = "(ebb in a cluster: ebb get services --cluster [--context NAME])\n"

func fetchStatus(ctx context.Context, admin string) ([]sync.ServiceStatus, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/v1/services", nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("no ebb up answers at %s: %w", admin, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%s: %s", admin, resp.Status)
	}
	var svcs []sync.ServiceStatus
	if err := json.Unmarshal(raw, &svcs); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", admin, err)
	}
	return svcs, raw, nil
}

func writeServices(w io.Writer, svcs []sync.ServiceStatus) {
	fmt.Fprintln(w, "NAMESPACE\tNAME\tURL\tLATEST\tREADY\tREASON")
	for _, s := range svcs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Namespace, s.Name, s.URL, s.Latest, s.Ready, s.Reason)
	}
}

func writeRevisions(w io.Writer, svcs []sync.ServiceStatus, now time.Time) {
	fmt.Fprintln(w, "NAME\tSERVICE\tTRAFFIC\tTAGS\tGENERATION\tAGE\tDESIRED/ACTUAL\tREADY\tREASON")
	for _, s := range svcs {
		for _, r := range s.Revisions {
			traffic := ""
			if r.Percent > 0 {
				traffic = fmt.Sprintf("%d%%", r.Percent)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%d/%d\t%s\t%s\n", r.Name, s.Name, traffic,
				strings.Join(r.Tags, ","), r.Generation, age(now.Sub(r.Created)), r.Desired, r.Actual, r.Ready, r.Reason)
		}
	}
}

// age formats a duration the way kubectl does: 45s, 12m, 5h, 3d.
func age(d time.Duration) string {
	switch {
	case d > 50*365*24*time.Hour:
		// Planned without a commit time (the epoch stamp of a plain
		// directory): the age is not known.
		return "-"
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
