package render

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

// ErrDuplicate is returned when two objects would have the same kind,
// namespace and name.
var ErrDuplicate = errors.New("object rendered twice")

// Input is everything one render reads. Services and DomainMappings are
// parsed and validated; Ledgers are planned (every Service has one).
type Input struct {
	Services       []*serving.Service
	Ledgers        []*serving.Ledger
	DomainMappings []*serving.DomainMapping
	// Config is the serving configuration; nil means config.Default().
	Config *config.Config
	// Gateways configures the gateway-api and istio classes; nil means
	// DefaultGateways().
	Gateways *Gateways
	// Objects are every other object of the repository, passed through
	// unchanged (the same pointers) and sorted in with the rest.
	Objects []*unstructured.Unstructured
}

// Render builds every object a serving repository asks for: per ledger
// revision a Deployment and two k8s Services; per routed Service its
// routes for its ingress class and its placeholder Services; per
// DomainMapping its routes; plus the pass-through objects. The result is
// sorted (kind rank, kind, group, namespace, name) and depends on nothing
// but the input's content: not on its order, a clock or map order.
func Render(in Input) ([]*unstructured.Unstructured, error) {
	return render(in, nil)
}

func render(in Input, check func(any, map[string]any)) ([]*unstructured.Unstructured, error) {
	r := renderer{cfg: in.Config, gw: in.Gateways, revs: map[string]*revision{}, check: check}
	if r.cfg == nil {
		r.cfg = config.Default()
	}
	if r.gw == nil {
		r.gw = DefaultGateways()
	}
	r.scaling = r.cfg.Autoscaler
	if r.scaling == nil {
		r.scaling = autoscaling.DefaultConfig()
	}
	r.out = make([]*unstructured.Unstructured, 0, len(in.Objects)+6*len(in.Services)+3*len(in.Ledgers))

	ledgers := sortedLedgers(in.Ledgers)
	for _, l := range ledgers {
		r.revisions(l)
	}
	byKey := make(map[string]*serving.Ledger, len(ledgers))
	for _, l := range ledgers {
		byKey[l.Namespace+"/"+l.Service] = l
	}
	services := slices.Clone(in.Services)
	slices.SortFunc(services, func(a, b *serving.Service) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	for _, s := range services {
		r.service(s, byKey[s.Namespace+"/"+s.Name])
	}
	dms := slices.Clone(in.DomainMappings)
	slices.SortFunc(dms, func(a, b *serving.DomainMapping) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	for _, dm := range dms {
		r.domainMapping(dm, byKey)
	}
	r.out = append(r.out, in.Objects...)
	if err := sortObjects(r.out); err != nil {
		r.errs = append(r.errs, err)
	}
	if len(r.errs) > 0 {
		return nil, errors.Join(r.errs...)
	}
	return r.out, nil
}

// renderer holds one render's state.
type renderer struct {
	cfg     *config.Config
	gw      *Gateways
	scaling *autoscaling.Config
	revs    map[string]*revision // namespace/name
	// check, in tests, sees every typed object next to its conversion.
	check func(typed any, converted map[string]any)
	out   []*unstructured.Unstructured
	errs  []error
}

func sortedLedgers(ls []*serving.Ledger) []*serving.Ledger {
	ls = slices.Clone(ls)
	slices.SortFunc(ls, func(a, b *serving.Ledger) int {
		return strings.Compare(a.Namespace+"/"+a.Service, b.Namespace+"/"+b.Service)
	})
	return ls
}

// revisions renders every revision of a ledger from its stored template.
func (r *renderer) revisions(l *serving.Ledger) {
	for i := range l.Revisions {
		lr := &l.Revisions[i]
		tmpl := lr.Template.DeepCopy()
		serving.DefaultTemplate(tmpl, metav1.ObjectMeta{Name: l.Service, Namespace: l.Namespace}, r.cfg)
		rev, err := newRevision(l.Namespace, l.Service, lr, tmpl)
		if err != nil {
			r.errs = append(r.errs, err)
			continue
		}
		r.revs[l.Namespace+"/"+lr.Name] = rev
		d, err := makeDeployment(rev, r.cfg, r.scaling)
		if err != nil {
			r.errs = append(r.errs, err)
			continue
		}
		r.add(d)
		r.add(makePrivateService(rev))
		r.add(makePublicService(rev))
	}
}

func (r *renderer) facts(namespace, name string) (*revision, bool) {
	rev, ok := r.revs[namespace+"/"+name]
	return rev, ok
}

// service renders a Service's routes and placeholder Services.
func (r *renderer) service(s *serving.Service, l *serving.Ledger) {
	if l == nil {
		r.errs = append(r.errs, fmt.Errorf("service %s/%s: no ledger: plan before rendering", s.Namespace, s.Name))
		return
	}
	if l.Removed != nil {
		return
	}
	class, err := IngressClass(s.Annotations, r.cfg)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("service %s/%s: %w", s.Namespace, s.Name, err))
		return
	}
	rt, hs, err := serviceRoute(s, l, r.cfg)
	if err != nil {
		r.errs = append(r.errs, err)
		return
	}
	meta := routeMeta{
		labels:      routeLabels(s.Labels, s.Name, s.Namespace),
		annotations: routeAnnotations(s.Annotations),
	}
	r.routes(class, rt, meta)
	target := r.localGateway(class)
	for _, h := range hs {
		name := strings.TrimSuffix(h.base, "."+s.Namespace)
		if len(validation.IsDNS1035Label(name)) > 0 {
			// A tag whose host name part cannot be a Service name has no
			// in-cluster placeholder; its hosts still route.
			continue
		}
		r.add(makePlaceholderService(name, s.Namespace, target, meta))
	}
}

// domainMapping renders a DomainMapping's routes when its target is a
// routed Service of the same namespace; otherwise nothing (status reports
// the unresolved reference).
func (r *renderer) domainMapping(dm *serving.DomainMapping, ledgers map[string]*serving.Ledger) {
	ref := dm.Spec.Ref
	if ref.Kind != serving.KindService || (ref.Namespace != "" && ref.Namespace != dm.Namespace) {
		return
	}
	l := ledgers[dm.Namespace+"/"+ref.Name]
	if l == nil || l.Removed != nil {
		return
	}
	rt, ok := domainMappingRoute(dm, l.Traffic)
	if !ok {
		return
	}
	class, err := IngressClass(dm.Annotations, r.cfg)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("domainmapping %s/%s: %w", dm.Namespace, dm.Name, err))
		return
	}
	labels := map[string]string{LabelDomainMappingNamespace: dm.Namespace}
	if len(validation.IsValidLabelValue(dm.Name)) == 0 {
		labels[LabelDomainMapping] = dm.Name
	}
	for k, v := range dm.Labels {
		labels[k] = v
	}
	r.routes(class, rt, routeMeta{labels: labels, annotations: routeAnnotations(dm.Annotations)})
}

// routes renders one route for its ingress class.
func (r *renderer) routes(class string, rt route.Route, meta routeMeta) {
	switch class {
	case config.IngressClassEbb:
		cm, err := makeRouteTable(rt, meta, r.facts)
		if err != nil {
			r.errs = append(r.errs, err)
			return
		}
		r.add(cm)
	case config.IngressClassGatewayAPI:
		hrs, err := makeHTTPRoutes(rt, meta, r.facts, r.gw)
		if err != nil {
			r.errs = append(r.errs, err)
			return
		}
		for _, hr := range hrs {
			r.add(hr)
		}
	case config.IngressClassIstio:
		vss, err := makeVirtualServices(rt, meta, r.facts, r.gw, clusterDomain(r.cfg))
		if err != nil {
			r.errs = append(r.errs, err)
			return
		}
		r.out = append(r.out, vss...)
	}
}

// localGateway is the DNS name placeholder Services point at.
func (r *renderer) localGateway(class string) string {
	ns, name := splitNamespacedName(r.gw.LocalService[class])
	return name + "." + ns + ".svc." + clusterDomain(r.cfg)
}

// add converts a typed object and appends it.
func (r *renderer) add(obj any) {
	u, err := toUnstructured(obj)
	if err != nil {
		r.errs = append(r.errs, err)
		return
	}
	if r.check != nil {
		r.check(obj, u.Object)
	}
	r.out = append(r.out, u)
}

// toUnstructured converts a typed object, dropping the fields an apply
// must not send.
func toUnstructured(obj any) (*unstructured.Unstructured, error) {
	m, err := toMap(obj)
	if err != nil {
		return nil, err
	}
	dropNoise(m)
	return &unstructured.Unstructured{Object: m}, nil
}

// dropNoise removes status and the null creationTimestamps that typed
// objects carry.
func dropNoise(m map[string]any) {
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	if spec, ok := m["spec"].(map[string]any); ok {
		if tmpl, ok := spec["template"].(map[string]any); ok {
			if md, ok := tmpl["metadata"].(map[string]any); ok {
				delete(md, "creationTimestamp")
			}
		}
	}
}

// TreeInput is the input that renders a loaded repository with its
// planned ledgers.
func TreeInput(t *serving.Tree, ledgers []*serving.Ledger) Input {
	return Input{
		Services:       t.Services,
		Ledgers:        ledgers,
		DomainMappings: t.DomainMappings,
		Config:         t.Config,
		Objects:        t.Objects,
	}
}
