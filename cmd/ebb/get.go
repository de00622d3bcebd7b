package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

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
