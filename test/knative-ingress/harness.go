package knativeingress

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing/fstest"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	netapi "knative.dev/networking/pkg/apis/networking"
	netv1alpha1 "knative.dev/networking/pkg/apis/networking/v1alpha1"
	netcfg "knative.dev/networking/pkg/config"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	apicfg "knative.dev/serving/pkg/apis/config"
	kserving "knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingv1beta1 "knative.dev/serving/pkg/apis/serving/v1beta1"
	listers "knative.dev/serving/pkg/client/listers/serving/v1"
	servingnetworking "knative.dev/serving/pkg/networking"
	dmresources "knative.dev/serving/pkg/reconciler/domainmapping/resources"
	routecfg "knative.dev/serving/pkg/reconciler/route/config"
	routeresources "knative.dev/serving/pkg/reconciler/route/resources"
	"knative.dev/serving/pkg/reconciler/route/traffic"
	"knative.dev/serving/pkg/reconciler/route/visibility"
	svcresources "knative.dev/serving/pkg/reconciler/service/resources"

	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/serving"
)

// repo is one case of the corpus: the serving repository at each of its
// commits (YAML documents: Services, DomainMappings) and the Knative
// ConfigMaps (config-network, config-domain, config-features) it holds.
type repo struct {
	name    string
	config  map[string]map[string]string
	commits []string
}

// files is the repository at commit i as ebb loads it.
func (r repo) files(i int) fstest.MapFS {
	fs := fstest.MapFS{"serving.yaml": {Data: []byte(r.commits[i])}}
	for _, name := range slices.Sorted(maps.Keys(r.config)) {
		cm := map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": "knative-serving"},
			"data":     r.config[name],
		}
		b, _ := json.Marshal(cm)
		fs["config/"+name+".yaml"] = &fstest.MapFile{Data: b}
	}
	return fs
}

// ebbState plans every commit in turn (every revision ready) and renders
// the last one.
type ebbState struct {
	tree    *serving.Tree
	ledgers []*serving.Ledger
	objects []*unstructured.Unstructured
}

func renderEbb(r repo) (*ebbState, error) {
	var st ebbState
	ready := serving.Observed{Ready: func(string, string) bool { return true }}
	start := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for i := range r.commits {
		tree, err := serving.Load(r.files(i))
		if err != nil {
			return nil, fmt.Errorf("commit %d: %w", i, err)
		}
		at := serving.Stamp{Commit: fmt.Sprintf("c%d", i), Time: metav1.NewTime(start.Add(time.Duration(i) * time.Minute))}
		// Twice: the second pass sees the new revisions ready.
		for range 2 {
			if st.ledgers, _, err = serving.Plan(tree.Services, st.ledgers, at, ready); err != nil {
				return nil, fmt.Errorf("plan commit %d: %w", i, err)
			}
		}
		st.tree = tree
	}
	objs, err := render.Render(render.TreeInput(st.tree, st.ledgers))
	if err != nil {
		return nil, err
	}
	st.objects = objs
	return &st, nil
}

// kingresses are the rendered KIngresses by namespace/name, converted to
// Knative's type.
func (st *ebbState) kingresses() (map[string]*netv1alpha1.Ingress, error) {
	out := map[string]*netv1alpha1.Ingress{}
	for _, o := range st.objects {
		if o.GetAPIVersion() != render.KIngressAPIVersion || o.GetKind() != render.KIngressKind {
			continue
		}
		var ing netv1alpha1.Ingress
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &ing); err != nil {
			return nil, fmt.Errorf("KIngress %s/%s: %w", o.GetNamespace(), o.GetName(), err)
		}
		out[o.GetNamespace()+"/"+o.GetName()] = &ing
	}
	return out, nil
}

// knative is Knative's side: its configuration, parsed by Knative from
// the same ConfigMap data, in a context.
func knativeContext(r repo) (context.Context, *routecfg.Config, error) {
	network, err := netcfg.NewConfigFromMap(r.config["config-network"])
	if err != nil {
		return nil, nil, fmt.Errorf("config-network: %w", err)
	}
	domain, err := routecfg.NewDomainFromConfigMap(&corev1.ConfigMap{Data: r.config["config-domain"]})
	if err != nil {
		return nil, nil, fmt.Errorf("config-domain: %w", err)
	}
	features, err := apicfg.NewFeaturesConfigFromMap(r.config["config-features"])
	if err != nil {
		return nil, nil, fmt.Errorf("config-features: %w", err)
	}
	cfg := &routecfg.Config{Domain: domain, Network: network, Features: features}
	ctx := routecfg.ToContext(context.Background(), cfg)
	ctx = apicfg.ToContext(ctx, &apicfg.Config{Features: features, Defaults: mustDefaults()})
	return ctx, cfg, nil
}

func mustDefaults() *apicfg.Defaults {
	d, err := apicfg.NewDefaultsConfigFromMap(nil)
	if err != nil {
		panic(err)
	}
	return d
}

// convert moves a value between ebb's and Knative's types through JSON:
// ebb's types are Knative's wire format.
func convert[T any](from any) (*T, error) {
	b, err := json.Marshal(from)
	if err != nil {
		return nil, err
	}
	var to T
	if err := json.Unmarshal(b, &to); err != nil {
		return nil, err
	}
	return &to, nil
}

// knativeRouteIngress is the KIngress Knative's route reconciler builds
// for a Service whose revisions are those of its ebb ledger, all ready.
func knativeRouteIngress(ctx context.Context, cfg *routecfg.Config, svc *serving.Service, l *serving.Ledger) (*netv1alpha1.Ingress, error) {
	ksvc, err := convert[servingv1.Service](svc)
	if err != nil {
		return nil, err
	}
	ksvc.SetDefaults(ctx)
	route := svcresources.MakeRoute(ksvc)
	route.SetDefaults(ctx)

	configs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	revs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := configs.Add(&servingv1.Configuration{
		ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace},
		Status: servingv1.ConfigurationStatus{ConfigurationStatusFields: servingv1.ConfigurationStatusFields{
			LatestCreatedRevisionName: l.Latest,
			LatestReadyRevisionName:   l.LatestReady,
		}},
	}); err != nil {
		return nil, err
	}
	for _, lr := range l.Revisions {
		spec, err := convert[servingv1.RevisionSpec](lr.Template.Spec)
		if err != nil {
			return nil, err
		}
		rev := &servingv1.Revision{
			ObjectMeta: metav1.ObjectMeta{Name: lr.Name, Namespace: svc.Namespace, Labels: map[string]string{
				kserving.ConfigurationLabelKey: svc.Name,
				kserving.ServiceLabelKey:       svc.Name,
			}},
			Spec: *spec,
		}
		rev.Status.Conditions = duckv1.Conditions{{Type: apis.ConditionReady, Status: corev1.ConditionTrue}}
		if err := revs.Add(rev); err != nil {
			return nil, err
		}
	}
	tc, err := traffic.BuildTrafficConfiguration(listers.NewConfigurationLister(configs), listers.NewRevisionLister(revs), route)
	if err != nil {
		return nil, fmt.Errorf("traffic: %w", err)
	}
	services := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if tc.Visibility, err = visibility.NewResolver(corelisters.NewServiceLister(services)).GetVisibility(ctx, route); err != nil {
		return nil, fmt.Errorf("visibility: %w", err)
	}
	class := netapi.GetIngressClass(route.Annotations)
	if class == "" {
		class = cfg.Network.DefaultIngressClass
	}
	return routeresources.MakeIngress(ctx, route, tc, nil, class)
}

// knativeDomainMappingIngress is the KIngress Knative's domain-mapping
// reconciler builds for a DomainMapping to a Service of its namespace.
func knativeDomainMappingIngress(ctx context.Context, cfg *routecfg.Config, dm *serving.DomainMapping, clusterDomain string) (*netv1alpha1.Ingress, error) {
	kdm, err := convert[servingv1beta1.DomainMapping](dm)
	if err != nil {
		return nil, err
	}
	kdm.UID = types.UID(render.DomainMappingUID(dm.Namespace, dm.Name))
	class := netapi.GetIngressClass(kdm.Annotations)
	if class == "" {
		class = cfg.Network.DefaultIngressClass
	}
	opt, err := servingnetworking.GetHTTPOption(ctx, cfg.Network, kdm.Annotations)
	if err != nil {
		return nil, err
	}
	var tls []netv1alpha1.IngressTLS
	if kdm.Spec.TLS != nil {
		tls = []netv1alpha1.IngressTLS{{Hosts: []string{kdm.Name}, SecretName: kdm.Spec.TLS.SecretName, SecretNamespace: kdm.Namespace}}
	}
	target := kdm.Spec.Ref.Name
	host := strings.Join([]string{target, kdm.Namespace, "svc", clusterDomain}, ".")
	return dmresources.MakeIngress(kdm, target, host, class, opt, tls), nil
}
