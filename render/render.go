package render

import (
	"cmp"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

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
	// Programmed are the edges' reports by route, as the cluster gave
	// them: the placeholder Services of a route programmed from a
	// KIngress follow the load balancer its edge reports (see
	// PlaceholderBalancer). Nothing else of them is read; nil: none
	// reported (the placeholders point where they start).
	Programmed serving.Programmed
	// Objects are every other object of the repository, passed through
	// unchanged (the same pointers) and sorted in with the rest.
	Objects []*unstructured.Unstructured
}

// Render builds every object a serving repository asks for: per ledger
// revision a Deployment and two k8s Services; per routed Service its
// routes for its ingress class and its placeholder Services; per
// DomainMapping its routes; plus the pass-through objects. The result is
// sorted (kind rank, kind, group, namespace, name) and depends on nothing
// but the input's content: not on its order, a clock or map order. A
// state in which routes of two namespaces serve one host is refused
// (serving.FieldErrors naming each later use; see HostOwners).
func Render(in Input) ([]*unstructured.Unstructured, error) {
	if err := CheckHosts(in); err != nil {
		return nil, err
	}
	return render(in, nil)
}

func render(in Input, check func(any, map[string]any)) ([]*unstructured.Unstructured, error) {
	r := newRenderer(in.Config, in.Gateways)
	r.check = check
	r.programmed = in.Programmed

	ledgers := sortedLedgers(in.Ledgers)
	byKey := make(map[string]*serving.Ledger, len(ledgers))
	for _, l := range ledgers {
		byKey[l.Namespace+"/"+l.Service] = l
	}
	services := sortedServices(in.Services)
	dms := sortedDomainMappings(in.DomainMappings)

	// Revisions first: routes need their facts.
	revBatches := inBatches(r, ledgers, (*batch).revisions)
	r.collectRevisions(revBatches)
	svcBatches := inBatches(r, services, func(b *batch, s *serving.Service) {
		b.service(s, byKey[s.Namespace+"/"+s.Name])
	})
	dmBatches := inBatches(r, dms, func(b *batch, dm *serving.DomainMapping) {
		var target *serving.Ledger
		if ns, name, ok := domainMappingTarget(dm); ok {
			target = byKey[ns+"/"+name]
		}
		b.domainMapping(dm, target)
	})

	size := len(in.Objects)
	all := slices.Concat(revBatches, svcBatches, dmBatches)
	for _, b := range all {
		size += len(b.out)
	}
	out := make([]*unstructured.Unstructured, 0, size)
	var errs []error
	for _, b := range all {
		out = append(out, b.out...)
		errs = append(errs, b.errs...)
	}
	out = append(out, in.Objects...)
	if err := sortObjects(out); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// renderer is what every part of one render reads; it does not change
// once the revisions are rendered.
type renderer struct {
	cfg     *config.Config
	gw      *Gateways
	scaling *autoscaling.Config
	revs    map[string]*revision // namespace/name
	// programmed are the edges' reports: their load balancers.
	programmed serving.Programmed
	// more, when set, finds the facts of a revision that revs does not
	// hold: one of a ledger that this render does not render.
	more func(namespace, name string) (*revision, bool)
	// check, in tests, sees every typed object next to its conversion.
	check func(typed any, converted map[string]any)
	// names, in a lean render (Memo.RenderLean), keeps of each object
	// only its identity (see nameOnly), which is all a lean state keeps:
	// the conversion, most of a render's cost, is left to the render of
	// the objects themselves.
	names bool
}

// newRenderer reads cfg and gw with their defaults.
func newRenderer(cfg *config.Config, gw *Gateways) *renderer {
	r := &renderer{cfg: cfg, gw: gw}
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
	return r
}

// collectRevisions indexes the revisions the batches prepared.
func (r *renderer) collectRevisions(batches []*batch) {
	n := 0
	for _, b := range batches {
		n += len(b.revs)
	}
	r.revs = make(map[string]*revision, n)
	for _, b := range batches {
		for _, rev := range b.revs {
			r.revs[rev.namespace+"/"+rev.name] = rev
		}
	}
}

// batch collects what one worker renders.
type batch struct {
	*renderer
	out  []*unstructured.Unstructured
	errs []error
	revs []*revision
	// reads, when track is set, are the revisions whose facts were read.
	track bool
	reads []*revision
	conv  encodeState
}

// minBatch is the least work worth a goroutine.
const minBatch = 64

// inBatches runs f over items in contiguous batches, one per CPU when
// there is enough work, and returns the batches in item order, so the
// result (and the order of errors) does not depend on scheduling.
func inBatches[T any](r *renderer, items []T, f func(*batch, T)) []*batch {
	workers := min(runtime.GOMAXPROCS(0), len(items)/minBatch)
	if workers <= 1 {
		b := &batch{renderer: r}
		for _, it := range items {
			f(b, it)
		}
		return []*batch{b}
	}
	batches := make([]*batch, workers)
	per := (len(items) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range batches {
		b := &batch{renderer: r}
		batches[w] = b
		part := items[min(w*per, len(items)):min((w+1)*per, len(items))]
		wg.Go(func() {
			for _, it := range part {
				f(b, it)
			}
		})
	}
	wg.Wait()
	return batches
}

func sortedLedgers(ls []*serving.Ledger) []*serving.Ledger {
	return sortedByName(ls, func(l *serving.Ledger) (string, string) { return l.Namespace, l.Service })
}

func sortedServices(ss []*serving.Service) []*serving.Service {
	return sortedByName(ss, func(s *serving.Service) (string, string) { return s.Namespace, s.Name })
}

func sortedDomainMappings(dms []*serving.DomainMapping) []*serving.DomainMapping {
	return sortedByName(dms, func(dm *serving.DomainMapping) (string, string) { return dm.Namespace, dm.Name })
}

// sortedByName returns a copy of xs sorted by namespace, then name.
func sortedByName[T any](xs []T, name func(T) (namespace, name string)) []T {
	xs = slices.Clone(xs)
	slices.SortFunc(xs, func(a, b T) int {
		ans, an := name(a)
		bns, bn := name(b)
		return cmp.Or(strings.Compare(ans, bns), strings.Compare(an, bn))
	})
	return xs
}

// prepare makes the facts of one ledger revision from its stored template.
func (r *renderer) prepare(l *serving.Ledger, lr *serving.Revision) (*revision, error) {
	tmpl := lr.Template.DeepCopy()
	serving.DefaultTemplate(tmpl, metav1.ObjectMeta{Name: l.Service, Namespace: l.Namespace}, r.cfg)
	return newRevision(l.Namespace, l.Service, lr, tmpl)
}

// revisions renders every revision of a ledger from its stored template.
func (r *batch) revisions(l *serving.Ledger) {
	for i := range l.Revisions {
		rev, err := r.prepare(l, &l.Revisions[i])
		if err != nil {
			r.errs = append(r.errs, err)
			continue
		}
		r.revs = append(r.revs, rev)
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

// facts finds a revision that routes split to.
func (r *batch) facts(namespace, name string) (*revision, bool) {
	rev, ok := r.renderer.revs[namespace+"/"+name]
	if !ok && r.more != nil {
		rev, ok = r.more(namespace, name)
	}
	if ok && r.track {
		r.reads = append(r.reads, rev)
	}
	return rev, ok
}

// service renders a Service's routes and placeholder Services.
func (r *batch) service(s *serving.Service, l *serving.Ledger) {
	if hs, meta, ok := r.serviceRoutes(s, l); ok {
		r.placeholders(s, hs, meta)
	}
}

// serviceRoutes renders a Service's routes for its ingress class, and
// returns the hosts and metadata its placeholder Services take; !ok when
// it has none (no ledger, removed, or an error).
func (r *batch) serviceRoutes(s *serving.Service, l *serving.Ledger) ([]hosts, routeMeta, bool) {
	if l == nil {
		r.errs = append(r.errs, fmt.Errorf("service %s/%s: no ledger: plan before rendering", s.Namespace, s.Name))
		return nil, routeMeta{}, false
	}
	if l.Removed != nil {
		return nil, routeMeta{}, false
	}
	class := IngressClass(s.Annotations, r.cfg)
	kingress := r.cfg.Network.RendersKIngress(class)
	rt, hs, tags, err := serviceRoute(s, l, r.cfg, kingress)
	if err != nil {
		r.errs = append(r.errs, err)
		return nil, routeMeta{}, false
	}
	meta := serviceRouteMeta(s)
	meta.ruleTags = tags
	if kingress {
		if err := r.serviceKIngress(s, l, class, rt, meta); err != nil {
			r.errs = append(r.errs, fmt.Errorf("service %s/%s: %w", s.Namespace, s.Name, err))
			return nil, routeMeta{}, false
		}
	} else {
		r.routes(class, rt, meta)
	}
	return hs, meta, true
}

// servicePlaceholders renders only a Service's placeholder Services, as
// service renders them: for a Service whose routes are unchanged while
// its edge's load balancer moved.
func (r *batch) servicePlaceholders(s *serving.Service, l *serving.Ledger) {
	if l == nil || l.Removed != nil {
		return
	}
	hs, err := routeHosts(r.cfg, &s.ObjectMeta, sortedTrafficNames(s.Namespace, l.Traffic))
	if err != nil {
		r.errs = append(r.errs, err)
		return
	}
	r.placeholders(s, hs, serviceRouteMeta(s))
}

// serviceRouteMeta is the labels and annotations of a Service's routes.
func serviceRouteMeta(s *serving.Service) routeMeta {
	return routeMeta{labels: routeLabels(s.Labels, s.Name, s.Namespace), annotations: routeAnnotations(s.Annotations)}
}

// serviceKIngress renders a Service's KIngress for class.
func (r *batch) serviceKIngress(s *serving.Service, l *serving.Ledger, class string, rt route.Route, meta routeMeta) error {
	if err := checkKIngressConfig(r.cfg, class); err != nil {
		return err
	}
	opt, err := httpOption(s.Annotations, r.cfg)
	if err != nil {
		return err
	}
	if len(rt.Rules) == 0 {
		return nil
	}
	ing, err := makeServiceKIngress(rt, meta, kingressOptions{
		class: class, annotations: s.Annotations, rollout: rolloutAnnotation(l), httpOption: opt,
	}, r.facts, r.cfg)
	if err != nil {
		return err
	}
	r.add(ing)
	return nil
}

// routes renders one route for its ingress class.
func (r *batch) routes(class string, rt route.Route, meta routeMeta) {
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

// localGateway is the DNS name placeholder Services point at; "" when
// the class has no known local gateway.
func (r *renderer) localGateway(class string) string {
	svc, ok := r.gw.LocalService[class]
	if !ok {
		return ""
	}
	ns, name := splitNamespacedName(svc)
	return name + "." + ns + ".svc." + clusterDomain(r.cfg)
}

// add converts a typed object and appends it (its identity only, when
// the render keeps names).
func (r *batch) add(obj any) {
	if r.names {
		if id, ok := nameOnly(obj); ok {
			r.out = append(r.out, id)
			return
		}
	}
	u, err := r.conv.toUnstructured(obj)
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
func (st *encodeState) toUnstructured(obj any) (*unstructured.Unstructured, error) {
	m, err := st.toMap(obj)
	if err != nil {
		return nil, err
	}
	dropNoise(m)
	return &unstructured.Unstructured{Object: m}, nil
}

// nameOnly is an object with only the apiVersion, kind, namespace and
// name of typed obj, which has a TypeMeta and an ObjectMeta: what RefOf
// reads of obj's conversion. !ok for any other obj.
func nameOnly(obj any) (*unstructured.Unstructured, bool) {
	o, ok := obj.(interface {
		GetObjectKind() schema.ObjectKind
		GetNamespace() string
		GetName() string
	})
	if !ok {
		return nil, false
	}
	tm, ok := o.GetObjectKind().(*metav1.TypeMeta)
	if !ok {
		return nil, false
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": tm.APIVersion,
		"kind":       tm.Kind,
		"metadata":   map[string]any{"namespace": o.GetNamespace(), "name": o.GetName()},
	}}, true
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
