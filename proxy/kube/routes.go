package kube

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	kubeapi "github.com/ebb-dev/ebb/internal/kube"
	"github.com/ebb-dev/ebb/proxy/route"
)

// RouteTablesOptions configure a RouteTables.
type RouteTablesOptions struct {
	// Namespace is where route tables are followed ("" for all).
	Namespace string
	// ClaimsNamespace is ebb's namespace, where the controller writes the
	// host claims (default ebb-system).
	ClaimsNamespace string
	// Set is given the table to serve whenever it changes.
	Set func(route.Table) error
	// Check is the gateway's verdict on one table (gateway.Check); nil
	// accepts every table.
	Check func(route.Table) error
	// Events, when set, are written on a route table whose state changes
	// (refused, partly served, served again).
	Events *GatewayEvents
	// Metrics, when set, count the tables by state.
	Metrics *RouteTableMetrics
	Logger  *slog.Logger
}

// RouteTables follows the route-table ConfigMaps (labelled
// ebb.dev/route-table=true, JSON under routes.json) and the host claims
// in ebb's namespace, and hands the gateway what ChooseTables makes of
// them whenever one changes: only tables ebb rendered, each only for the
// hosts its namespace owns, each checked on its own.
type RouteTables struct {
	tables, claims cache.SharedIndexInformer
	opts           RouteTablesOptions
	log            *slog.Logger
	kicks          chan struct{}
	served         atomic.Bool

	mu       gosync.Mutex
	good     map[string]route.Table
	table    route.Table
	reports  []TableReport
	reported map[string]string // namespace/name → the state and problems last logged
}

// NewRouteTables follows the route tables and claims opts name.
func NewRouteTables(k *kubeapi.Clients, opts RouteTablesOptions) *RouteTables {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ClaimsNamespace == "" {
		opts.ClaimsNamespace = "ebb-system"
	}
	if opts.Check == nil {
		opts.Check = func(route.Table) error { return nil }
	}
	labelled := func(key, value string) func(*metav1.ListOptions) {
		return func(lo *metav1.ListOptions) { lo.LabelSelector = key + "=" + value }
	}
	rt := &RouteTables{
		tables:   kubeapi.Informer(k.Core, "configmaps", opts.Namespace, &corev1.ConfigMap{}, labelled(route.LabelKey, route.LabelValue)),
		claims:   kubeapi.Informer(k.Core, "configmaps", opts.ClaimsNamespace, &corev1.ConfigMap{}, labelled(route.ClaimLabelKey, route.ClaimLabelValue)),
		opts:     opts,
		log:      opts.Logger,
		kicks:    make(chan struct{}, 1),
		reported: map[string]string{},
	}
	kick := func(any) {
		select {
		case rt.kicks <- struct{}{}:
		default:
		}
	}
	for _, inf := range []cache.SharedIndexInformer{rt.tables, rt.claims} {
		_ = inf.SetTransform(stripManagedFields)
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: kick, UpdateFunc: func(_, o any) { kick(o) }, DeleteFunc: kick,
		})
	}
	return rt
}

// Run follows the ConfigMaps until ctx ends. The first table is set once
// the first lists have been read; changes coalesce.
func (rt *RouteTables) Run(ctx context.Context) {
	go rt.tables.RunWithContext(ctx)
	go rt.claims.RunWithContext(ctx)
	if rt.opts.Events != nil {
		go rt.opts.Events.run(ctx)
	}
	if !cache.WaitForCacheSync(ctx.Done(), rt.tables.HasSynced, rt.claims.HasSynced) {
		return
	}
	for {
		ch := rt.choose()
		if err := rt.opts.Set(ch.Table); err != nil {
			rt.log.Error("route table refused", "error", err)
		}
		rt.served.Store(true)
		rt.report(ch.Reports)
		select {
		case <-ctx.Done():
			return
		case <-rt.kicks:
		}
	}
}

// HasSynced reports whether the first lists have been read and what they
// hold handed to Set: from then on the gateway serves every good table.
func (rt *RouteTables) HasSynced() bool { return rt.served.Load() }

// Table returns the table last handed to Set.
func (rt *RouteTables) Table() route.Table {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.table
}

// Reports returns what the last choice made of each route table.
func (rt *RouteTables) Reports() []TableReport {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return slices.Clone(rt.reports)
}

// choose runs ChooseTables over the ConfigMaps held now.
func (rt *RouteTables) choose() TableChoice {
	var cms []*corev1.ConfigMap
	for _, o := range rt.tables.GetStore().List() {
		if cm, ok := o.(*corev1.ConfigMap); ok {
			cms = append(cms, cm)
		}
	}
	var claims []route.Claim
	for _, o := range rt.claims.GetStore().List() {
		cm, ok := o.(*corev1.ConfigMap)
		if !ok {
			continue
		}
		c, err := route.ParseClaim(cm.Data)
		if err != nil {
			rt.log.Warn("host claim skipped", "configmap", cm.Namespace+"/"+cm.Name, "error", err)
			continue
		}
		claims = append(claims, c)
	}
	rt.mu.Lock()
	good := rt.good
	rt.mu.Unlock()
	ch := ChooseTables(cms, claims, good, rt.opts.Check)
	rt.mu.Lock()
	rt.good, rt.table, rt.reports = ch.Good, ch.Table, ch.Reports
	rt.mu.Unlock()
	return ch
}

// report logs, counts and records as Events the tables whose state
// changed since the last report.
func (rt *RouteTables) report(reports []TableReport) {
	if rt.opts.Metrics != nil {
		rt.opts.Metrics.set(reports)
	}
	seen := make(map[string]bool, len(reports))
	for _, r := range reports {
		key := r.Namespace + "/" + r.Name
		seen[key] = true
		now := string(r.State) + "\n" + strings.Join(r.Problems, "\n")
		before, known := rt.reported[key]
		if now == before || (!known && r.State == TableServed) {
			rt.reported[key] = now
			continue
		}
		rt.reported[key] = now
		if r.State == TableServed {
			rt.log.Info("route table served", "configmap", key)
		} else {
			rt.log.Warn("route table "+string(r.State), "configmap", key, "problems", r.Problems)
		}
		if rt.opts.Events != nil {
			rt.opts.Events.table(r)
		}
	}
	for key := range rt.reported {
		if !seen[key] {
			delete(rt.reported, key)
		}
	}
}
