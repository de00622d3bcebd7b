package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/ebb-dev/ebb/internal/kube"
	"github.com/ebb-dev/ebb/proxy/route"
)

// RouteTables follows the route-table ConfigMaps (labelled
// ebb.dev/route-table=true, JSON under routes.json) and hands the gateway
// their merge whenever one changes. A ConfigMap that does not decode is
// left out and logged; the others still apply.
type RouteTables struct {
	informer cache.SharedIndexInformer
	set      func(route.Table) error
	log      *slog.Logger
	kicks    chan struct{}
}

// NewRouteTables follows the route tables in namespace ("" for all) and
// calls set with their merge.
func NewRouteTables(k *kube.Clients, namespace string, set func(route.Table) error, log *slog.Logger) *RouteTables {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	inf := kube.Informer(k.Core, "configmaps", namespace, &corev1.ConfigMap{},
		func(lo *metav1.ListOptions) { lo.LabelSelector = route.LabelKey + "=" + route.LabelValue })
	_ = inf.SetTransform(stripManagedFields)
	rt := &RouteTables{informer: inf, set: set, log: log, kicks: make(chan struct{}, 1)}
	kick := func(any) {
		select {
		case rt.kicks <- struct{}{}:
		default:
		}
	}
	_, _ = rt.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: kick, UpdateFunc: func(_, o any) { kick(o) }, DeleteFunc: kick,
	})
	return rt
}

// Run follows the ConfigMaps until ctx ends. The first table is set once
// the first list has been read; changes coalesce.
func (rt *RouteTables) Run(ctx context.Context) {
	go rt.informer.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), rt.informer.HasSynced) {
		return
	}
	for {
		if err := rt.set(rt.Table()); err != nil {
			rt.log.Error("route table refused", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-rt.kicks:
		}
	}
}

// HasSynced reports whether the first list has been read.
func (rt *RouteTables) HasSynced() bool { return rt.informer.HasSynced() }

// Table merges the route tables held now, in namespace/name order.
func (rt *RouteTables) Table() route.Table {
	var cms []*corev1.ConfigMap
	for _, o := range rt.informer.GetStore().List() {
		if cm, ok := o.(*corev1.ConfigMap); ok {
			cms = append(cms, cm)
		}
	}
	t, errs := MergeTables(cms)
	for _, err := range errs {
		rt.log.Error("route table skipped", "error", err)
	}
	return t
}

// MergeTables decodes and merges route-table ConfigMaps, in namespace/name
// order, returning an error for each one that does not decode.
func MergeTables(cms []*corev1.ConfigMap) (route.Table, []error) {
	cms = slices.Clone(cms)
	slices.SortFunc(cms, func(a, b *corev1.ConfigMap) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	var parts []route.Table
	var errs []error
	for _, cm := range cms {
		var t route.Table
		if err := json.Unmarshal([]byte(cm.Data[route.DataKey]), &t); err != nil {
			errs = append(errs, fmt.Errorf("ConfigMap %s/%s: %s: %w", cm.Namespace, cm.Name, route.DataKey, err))
			continue
		}
		parts = append(parts, t)
	}
	return route.Merge(parts...), errs
}
