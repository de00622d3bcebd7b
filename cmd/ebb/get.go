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
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/ebb-dev/ebb/engine"
)

const getUsage = `usage: ebb get KIND [--admin HOST:PORT] [-o json|yaml]
       ebb get KIND --cluster [--kubeconfig FILE] [--context NAME]
               [-n NAMESPACE] [--source NAME] [-o json|yaml]

Shows what ebb serves, like kn service list and kn revision list. KIND is
services (ksvc), revisions (rev), domainmappings (dm) or sources. A table
shows each reason on one line, then the whole of those it cut; -o yaml
and -o json show every field whole.

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

// The kinds `ebb get` shows, by every name it accepts for them.
const (
	kindServices       = "services"
	kindRevisions      = "revisions"
	kindDomainMappings = "domainmappings"
	kindSources        = "sources"
)

var getKinds = map[string]string{
	"services": kindServices, "service": kindServices, "ksvc": kindServices,
	"revisions": kindRevisions, "revision": kindRevisions, "rev": kindRevisions,
	"domainmappings": kindDomainMappings, "domainmapping": kindDomainMappings, "dm": kindDomainMappings,
	"sources": kindSources, "source": kindSources,
}

func runGet(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	admin := fs.String("admin", "", "address of a running ebb up")
	output := fs.String("o", "", "output format: json or yaml")
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
	if len(what) != 1 {
		fmt.Fprint(e.stderr, getUsage)
		return exitUsage
	}
	if *output != "" && *output != "json" && *output != "yaml" {
		fmt.Fprintf(e.stderr, "ebb get: -o %q: want json or yaml\n%s", *output, getUsage)
		return exitUsage
	}
	kind, ok := getKinds[what[0]]
	if !ok {
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
		return getCluster(ctx, e, cg, kind, *output)
	}
	if *admin == "" {
		*admin = e.getenv("EBB_ADMIN")
	}
	if *admin == "" {
		*admin = upDefaultAdmin
	}
	now := time.Now()
	var raw []byte
	var table func(io.Writer)
	switch kind {
	case kindSources:
		var srcs []engine.SourceStatus
		raw, err = fetchAdmin(ctx, *admin, "/v1/sources", &srcs)
		table = func(w io.Writer) { writeSources(w, srcs, now) }
	case kindDomainMappings:
		var dms []engine.DomainMappingStatus
		raw, err = fetchAdmin(ctx, *admin, "/v1/domainmappings", &dms)
		table = func(w io.Writer) { writeDomainMappings(w, dms) }
	default:
		var svcs []engine.ServiceStatus
		raw, err = fetchAdmin(ctx, *admin, "/v1/services", &svcs)
		table = func(w io.Writer) { writeServiceTable(w, kind, svcs, now) }
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb get: %v\n", err)
		return exitInvalid
	}
	if *output != "" {
		return writeRaw(e, raw, *output)
	}
	table(e.stdout)
	return exitOK
}

// clusterHint follows a failure to reach a local ebb up.
const clusterHint = "(ebb in a cluster: ebb get services --cluster [--context NAME])"

// fetchAdmin reads path from a running ebb up into v and returns the
// bytes it answered.
func fetchAdmin(ctx context.Context, admin, path string, v any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("no ebb up answers at %s: %w\n%s", admin, err, clusterHint)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s%s: %w", admin, path, err)
	case resp.StatusCode == http.StatusNotFound && path == "/v1/sources":
		return nil, fmt.Errorf("%s follows a directory, not a Git source", admin)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s%s: %s", admin, path, resp.Status)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("%s%s: %w", admin, path, err)
	}
	return raw, nil
}

// writeRaw prints a JSON document as it is, or as YAML.
func writeRaw(e *env, raw []byte, format string) int {
	if format == "yaml" {
		y, err := yaml.JSONToYAML(raw)
		if err != nil {
			fmt.Fprintf(e.stderr, "ebb get: %v\n", err)
			return exitInvalid
		}
		e.stdout.Write(y)
		return exitOK
	}
	e.stdout.Write(raw)
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		io.WriteString(e.stdout, "\n")
	}
	return exitOK
}

// writeServiceTable prints the services or the revisions of svcs, then
// the whole of each reason the table cut.
func writeServiceTable(out io.Writer, kind string, svcs []engine.ServiceStatus, now time.Time) {
	w := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	var cut cutReasons
	if kind == kindServices {
		writeServices(w, svcs, &cut)
	} else {
		writeRevisions(w, svcs, now, &cut)
	}
	w.Flush()
	cut.write(out)
}

// writeServices prints one line per Service; a LOADBALANCER column, the
// address its net-* ingress controller reports, when any Service has one.
func writeServices(w io.Writer, svcs []engine.ServiceStatus, cut *cutReasons) {
	lb := slices.ContainsFunc(svcs, func(s engine.ServiceStatus) bool { return s.LoadBalancer != "" })
	if lb {
		fmt.Fprintln(w, "NAMESPACE\tNAME\tURL\tLOADBALANCER\tLATEST\tREADY\tROLLOUT\tREASON")
	} else {
		fmt.Fprintln(w, "NAMESPACE\tNAME\tURL\tLATEST\tREADY\tROLLOUT\tREASON")
	}
	for _, s := range svcs {
		url := s.URL
		if lb {
			url += "\t" + s.LoadBalancer
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Namespace, s.Name, url, s.Latest, s.Ready,
			cut.cell("rollout of "+s.Namespace+"/"+s.Name, s.Rollout.Summary()),
			cut.cell("service "+s.Namespace+"/"+s.Name, s.Reason))
	}
}

func writeRevisions(w io.Writer, svcs []engine.ServiceStatus, now time.Time, cut *cutReasons) {
	fmt.Fprintln(w, "NAME\tSERVICE\tTRAFFIC\tROLLOUT\tTAGS\tGENERATION\tAGE\tDESIRED/ACTUAL\tREADY\tREASON")
	for _, s := range svcs {
		for _, r := range s.Revisions {
			traffic := ""
			if r.Percent > 0 {
				traffic = fmt.Sprintf("%d%%", r.Percent)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%d/%d\t%s\t%s\n", r.Name, s.Name, traffic, r.Rollout,
				strings.Join(r.Tags, ","), r.Generation, age(now.Sub(r.Created)), r.Desired, r.Actual, r.Ready,
				cut.cell("revision "+s.Namespace+"/"+r.Name, r.Reason))
		}
	}
}

// writeDomainMappings prints one line per DomainMapping: the domain, its
// URL, the Service it maps to, and whether it routes; then the whole of
// each reason the table cut.
func writeDomainMappings(out io.Writer, dms []engine.DomainMappingStatus) {
	w := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	var cut cutReasons
	fmt.Fprintln(w, "NAMESPACE\tNAME\tURL\tSERVICE\tREADY\tREASON")
	for _, d := range dms {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Namespace, d.Name, d.URL, d.Service, d.Ready,
			cut.cell("domainmapping "+d.Namespace+"/"+d.Name, d.Reason))
	}
	w.Flush()
	cut.write(out)
}

// cutReasons are the reasons a table showed cut to one line, each after
// the name of what it explains.
type cutReasons []string

// cell is reason as a table cell (see oneLine), noting it when cut.
func (c *cutReasons) cell(name, reason string) string {
	one := oneLine(reason)
	if one != strings.TrimRight(reason, "\n") {
		*c = append(*c, name+":\n"+strings.TrimRight(reason, "\n"))
	}
	return one
}

// write prints the whole reasons, after the table.
func (c cutReasons) write(out io.Writer) {
	for _, r := range c {
		fmt.Fprintf(out, "\n%s\n", r)
	}
}

// maxCell is the longest reason a table shows, in runes.
const maxCell = 120

// oneLine is s as a table cell: its first line, followed by "(+N more
// lines)" when it has more, and cut at maxCell runes with "…". The
// table is followed by the whole text (see cutReasons), as are -o yaml
// and -o json.
func oneLine(s string) string {
	s = strings.TrimRight(s, "\n")
	first, rest, multi := strings.Cut(s, "\n")
	if r := []rune(first); len(r) > maxCell {
		first = string(r[:maxCell-1]) + "…"
	}
	if !multi {
		return first
	}
	n := strings.Count(rest, "\n") + 1
	if n == 1 {
		return first + " (+1 more line)"
	}
	return fmt.Sprintf("%s (+%d more lines)", first, n)
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
