package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"strings"
	gosync "sync"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
)

// Mapper maps kinds to the resources the API server serves, from its
// aggregated discovery (GET /api and GET /apis as an
// apidiscovery.k8s.io/v2 APIGroupDiscoveryList, two requests for every
// group). It reads discovery when first asked and keeps the answer until
// Reset, so a kind added since (a CustomResourceDefinition applied, an
// HTTPRoute or VirtualService installed after the start) maps only after a
// Reset: the SSA resets once before it reports that a kind does not map.
//
// Versions are in the server's order of preference and groups in its
// order, the legacy core group first; stale versions (of an aggregated
// API server that is down) are left out.
type Mapper struct {
	c rest.Interface

	mu gosync.Mutex
	m  meta.RESTMapper // nil until read
}

var _ meta.ResettableRESTMapper = (*Mapper)(nil)

// aggregated asks for aggregated discovery: Kubernetes 1.30 and later
// serve it.
const aggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

// discoveryTimeout bounds each discovery request when the config does
// not, as client-go's discovery client does.
const discoveryTimeout = 32 * time.Second

// NewMapper returns a Mapper reading discovery through cfg. It has a rate
// limiter of its own, with room for a burst of 300 requests unless cfg
// sets one.
func NewMapper(cfg *rest.Config) (*Mapper, error) {
	c := *cfg
	c.GroupVersion, c.APIPath = nil, ""
	if c.Timeout == 0 {
		c.Timeout = discoveryTimeout
	}
	if c.Burst == 0 {
		c.Burst = 300
	}
	// Errors arrive as metav1.Status; discovery itself is read as JSON.
	s := runtime.NewScheme()
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	c.NegotiatedSerializer = serializer.NewCodecFactory(s).WithoutConversion()
	rc, err := rest.UnversionedRESTClientFor(&c)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	return &Mapper{c: rc}, nil
}

// Reset forgets what discovery said: the next question reads it again.
func (m *Mapper) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m = nil
}

// mapper returns the mapper of the last discovery, reading it if there
// is none.
func (m *Mapper) mapper() (meta.RESTMapper, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m != nil {
		return m.m, nil
	}
	var groups []apidiscoveryv2.APIGroupDiscovery
	for _, path := range []string{"/api", "/apis"} {
		g, err := m.discover(context.Background(), path)
		if err != nil {
			return nil, err
		}
		groups = append(groups, g...)
	}
	m.m = restMapper(groups)
	return m.m, nil
}

// discover reads the aggregated discovery document at path.
func (m *Mapper) discover(ctx context.Context, path string) ([]apidiscoveryv2.APIGroupDiscovery, error) {
	var contentType string
	b, err := m.c.Get().AbsPath(path).SetHeader("Accept", aggregated).Do(ctx).ContentType(&contentType).Raw()
	if err != nil {
		return nil, fmt.Errorf("discovery %s: %w", path, err)
	}
	if mt, params, _ := mime.ParseMediaType(contentType); mt != "application/json" || params["as"] != "APIGroupDiscoveryList" ||
		params["g"] != "apidiscovery.k8s.io" || params["v"] != "v2" {
		return nil, fmt.Errorf("discovery %s: answered %q, want aggregated discovery (apidiscovery.k8s.io/v2, Kubernetes 1.30 and later)", path, contentType)
	}
	var list apidiscoveryv2.APIGroupDiscoveryList
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("discovery %s: %w", path, err)
	}
	return list.Items, nil
}

// restMapper maps the resources of groups: each group version's kinds
// (and their lists) to its resources, asked for by kind with a version
// in that group's order of preference, and, among groups serving the same
// kind or resource, in the groups' order.
func restMapper(groups []apidiscoveryv2.APIGroupDiscovery) meta.RESTMapper {
	var union meta.MultiRESTMapper
	resources := []schema.GroupVersionResource{{Version: "v1", Resource: meta.AnyResource}}
	kinds := []schema.GroupVersionKind{{Version: "v1", Kind: meta.AnyKind}}
	for _, g := range groups {
		for _, v := range g.Versions {
			if v.Freshness == apidiscoveryv2.DiscoveryFreshnessStale {
				continue
			}
			gv := schema.GroupVersion{Group: g.Name, Version: v.Version}
			resources = append(resources, gv.WithResource(meta.AnyResource))
			kinds = append(kinds, gv.WithKind(meta.AnyKind))
			vm := meta.NewDefaultRESTMapper([]schema.GroupVersion{gv})
			for _, r := range v.Resources {
				if r.ResponseKind == nil || r.ResponseKind.Kind == "" || strings.Contains(r.Resource, "/") {
					continue
				}
				scope := meta.RESTScopeNamespace
				if r.Scope == apidiscoveryv2.ScopeCluster {
					scope = meta.RESTScopeRoot
				}
				plural, singular := gv.WithResource(r.Resource), gv.WithResource(r.SingularResource)
				if r.SingularResource == "" {
					_, singular = meta.UnsafeGuessKindToResource(gv.WithKind(r.ResponseKind.Kind))
				}
				vm.AddSpecific(gv.WithKind(strings.ToLower(r.ResponseKind.Kind)), plural, singular, scope)
				vm.AddSpecific(gv.WithKind(r.ResponseKind.Kind), plural, singular, scope)
				vm.Add(gv.WithKind(r.ResponseKind.Kind+"List"), scope)
			}
			vm.Add(gv.WithKind("List"), meta.RESTScopeRoot)
			union = append(union, vm)
		}
	}
	for _, g := range groups {
		resources = append(resources, schema.GroupVersionResource{Group: g.Name, Version: meta.AnyVersion, Resource: meta.AnyResource})
		kinds = append(kinds, schema.GroupVersionKind{Group: g.Name, Version: meta.AnyVersion, Kind: meta.AnyKind})
	}
	return meta.PriorityRESTMapper{Delegate: union, ResourcePriority: resources, KindPriority: kinds}
}

// KindFor is meta.RESTMapper's.
func (m *Mapper) KindFor(resource schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	d, err := m.mapper()
	if err != nil {
		return schema.GroupVersionKind{}, err
	}
	return d.KindFor(resource)
}

// KindsFor is meta.RESTMapper's.
func (m *Mapper) KindsFor(resource schema.GroupVersionResource) ([]schema.GroupVersionKind, error) {
	d, err := m.mapper()
	if err != nil {
		return nil, err
	}
	return d.KindsFor(resource)
}

// ResourceFor is meta.RESTMapper's.
func (m *Mapper) ResourceFor(input schema.GroupVersionResource) (schema.GroupVersionResource, error) {
	d, err := m.mapper()
	if err != nil {
		return schema.GroupVersionResource{}, err
	}
	return d.ResourceFor(input)
}

// ResourcesFor is meta.RESTMapper's.
func (m *Mapper) ResourcesFor(input schema.GroupVersionResource) ([]schema.GroupVersionResource, error) {
	d, err := m.mapper()
	if err != nil {
		return nil, err
	}
	return d.ResourcesFor(input)
}

// RESTMapping is meta.RESTMapper's: a kind no discovery since the last
// Reset listed is a meta.NoKindMatchError.
func (m *Mapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	d, err := m.mapper()
	if err != nil {
		return nil, err
	}
	return d.RESTMapping(gk, versions...)
}

// RESTMappings is meta.RESTMapper's.
func (m *Mapper) RESTMappings(gk schema.GroupKind, versions ...string) ([]*meta.RESTMapping, error) {
	d, err := m.mapper()
	if err != nil {
		return nil, err
	}
	return d.RESTMappings(gk, versions...)
}

// ResourceSingularizer is meta.RESTMapper's.
func (m *Mapper) ResourceSingularizer(resource string) (string, error) {
	d, err := m.mapper()
	if err != nil {
		return "", err
	}
	return d.ResourceSingularizer(resource)
}
