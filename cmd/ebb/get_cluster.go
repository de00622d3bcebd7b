package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kube"
	"github.com/ebb-dev/ebb/runtime/cluster"
)

// clusterGet says where `ebb get --cluster` reads the controller's status:
// a kubeconfig (file and context, as kubectl picks them), ebb's own
// namespace, and one source or all of them.
type clusterGet struct {
	kubeconfig, context, namespace, source string
}

// readStatus reads the status documents the controller published: one
// source's, or every source's in the namespace.
func (g clusterGet) readStatus(ctx context.Context) ([]cluster.StatusDoc, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = g.kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: g.context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.UserAgent = "ebb-get/" + version
	cfg.Timeout = 10 * time.Second
	k, err := kube.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if g.source != "" {
		doc, err := cluster.ReadStatus(ctx, k, g.namespace, g.source)
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("no status of source %s in namespace %s (ConfigMap %s): is ebb controller running there with --source %s?",
				g.source, g.namespace, cluster.ConfigMapName(g.source), g.source)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.Host, err)
		}
		return []cluster.StatusDoc{doc}, nil
	}
	docs, err := cluster.ListStatus(ctx, k, g.namespace)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Host, err)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("no ebb controller has published a status in namespace %s (ConfigMaps labelled %s): is ebb installed there (-n)?",
			g.namespace, cluster.StatusLabel)
	}
	return docs, nil
}

// getCluster is `ebb get --cluster`: the same tables as for `ebb up`,
// from the status ConfigMaps. Services, revisions and DomainMappings of
// every source are listed together; services are followed by the
// DomainMappings and the sources that are not Ready; sources show their
// condition and last applied commit. output is "", json or yaml.
func getCluster(ctx context.Context, e *env, g clusterGet, kind, output string) int {
	docs, err := g.readStatus(ctx)
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb get: %v\n", err)
		return exitInvalid
	}
	now := time.Now()
	svcs := []engine.ServiceStatus{}
	dms := []engine.DomainMappingStatus{}
	for _, d := range docs {
		svcs = append(svcs, d.Services...)
		dms = append(dms, d.DomainMappings...)
	}
	var v any
	switch kind {
	case kindSources:
		v = docs
	case kindDomainMappings:
		v = dms
	default:
		v = svcs
	}
	if output != "" {
		raw, err := json.Marshal(v)
		if err != nil {
			fmt.Fprintf(e.stderr, "ebb get: %v\n", err)
			return exitInvalid
		}
		return writeRaw(e, raw, output)
	}
	switch kind {
	case kindSources:
		writeClusterSources(e.stdout, docs, now)
		return exitOK
	case kindDomainMappings:
		writeDomainMappings(e.stdout, dms)
		return exitOK
	}
	writeServiceTable(e.stdout, kind, svcs, now)
	for _, d := range docs {
		for _, dm := range d.DomainMappings {
			if dm.Ready != engine.True && kind == kindServices {
				fmt.Fprintf(e.stdout, "\ndomainmapping %s/%s is not ready: %s\n", dm.Namespace, dm.Name, oneLine(dm.Reason))
			}
		}
		if d.Condition != cluster.Ready {
			fmt.Fprintf(e.stdout, "\nsource %s is %s: %s\n", d.Source, d.Condition, oneLine(d.Message))
		}
	}
	return exitOK
}

// writeClusterSources prints one line per source: its condition, the last
// commit applied and when it was committed, the commit being worked on
// when it differs, and its Services; then the full message of each source
// that is not Ready.
func writeClusterSources(out io.Writer, docs []cluster.StatusDoc, now time.Time) {
	w := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	fmt.Fprintln(w, "NAME\tCONDITION\tAPPLIED\tCOMMITTED\tATTEMPTED\tSERVICES\tMESSAGE")
	for _, d := range docs {
		committed := "-"
		if !d.CommitTime.IsZero() {
			committed = age(now.Sub(d.CommitTime)) + " ago"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", d.Source, d.Condition, cmp.Or(short(d.Commit), "-"), committed,
			cmp.Or(short(d.Attempted), "-"), len(d.Services), oneLine(d.Message))
	}
	w.Flush()
	for _, d := range docs {
		if d.Condition != cluster.Ready && d.Message != oneLine(d.Message) {
			fmt.Fprintf(out, "\n%s (%s):\n%s\n", d.Source, d.Condition, d.Message)
		}
	}
}
