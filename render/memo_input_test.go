package render

import (
	"fmt"
	"maps"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

// memoClasses are the ingress classes memo tests render for.
var memoClasses = []string{config.IngressClassEbb, config.IngressClassGatewayAPI, config.IngressClassIstio, config.IngressClassKourier}

// memoInput is a state with the examples' shapes for one ingress class:
// Services in several namespaces with two revisions and a tag, an h2c and
// a cluster-local Service, DomainMappings (one to a Service, one to
// something else), pass-through objects, and a Service whose traffic
// splits to another Service's revision.
func memoInput(class string) Input {
	in := benchInput(6, 2)
	in.Config = memoConfig(class, nil)
	rich := richInputs()[0]
	for i, s := range rich.Services {
		if s.Name == "grpc" || s.Name == "exec" {
			in.Services = append(in.Services, s)
			in.Ledgers = append(in.Ledgers, rich.Ledgers[i])
		}
	}
	borrower := testService("borrower")
	borrower.Namespace = "team-0"
	bl := testLedger(borrower)
	bl.Traffic = []serving.Target{{RevisionName: "svc-00000-00001", Percent: 100}}
	in.Services = append(in.Services, borrower)
	in.Ledgers = append(in.Ledgers, bl)
	in.DomainMappings = []*serving.DomainMapping{
		testDomainMapping("www.example.org", "team-0", serving.KindService, "svc-00000"),
		testDomainMapping("api.example.org", "default", serving.KindService, "grpc"),
		testDomainMapping("elsewhere.example.org", "team-1", "Route", "svc-00001"),
		testDomainMapping("last.example.org", "team-5", serving.KindService, "svc-00005"),
	}
	in.Objects = []*unstructured.Unstructured{
		testObject("v1", "ServiceAccount", "team-0", "runner"),
		testObject("v1", "ConfigMap", "team-1", "settings"),
		testObject("example.com/v1", "ConfigMap", "team-1", "settings"), // one name, two groups
		testObject("example.com/v1", "Gadget", "team-1", "settings"),
		testObject("example.com/v1/extra", "Widget", "team-1", "settings"), // sorts with no kind, as Render reads it
	}
	return in
}

func testDomainMapping(name, namespace, kind, target string) *serving.DomainMapping {
	return &serving.DomainMapping{
		TypeMeta:   metav1.TypeMeta{APIVersion: "serving.knative.dev/v1beta1", Kind: "DomainMapping"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       serving.DomainMappingSpec{Ref: serving.KReference{APIVersion: "serving.knative.dev/v1", Kind: kind, Name: target}},
	}
}

func testObject(apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": namespace},
	}}
}

// A mutation makes a next state from a state without changing it: what
// it changes it copies.
type mutation struct {
	name string
	f    func(Input) Input
	// all: every part is rendered again; otherwise Objects are the
	// objects whose names contain one of redo; with placeholders, the
	// placeholder Services (and Endpoints) redo names.
	all          bool
	redo         []string
	placeholders bool
}

func cloneInput(in Input) Input {
	in.Services = slices.Clone(in.Services)
	in.Ledgers = slices.Clone(in.Ledgers)
	in.DomainMappings = slices.Clone(in.DomainMappings)
	in.Objects = slices.Clone(in.Objects)
	in.Programmed = maps.Clone(in.Programmed)
	return in
}

// balance sets the load balancer the edge of a route reports.
func balance(in Input, route string, lb serving.LoadBalancer) Input {
	in = cloneInput(in)
	if in.Programmed == nil {
		in.Programmed = serving.Programmed{}
	}
	e := in.Programmed[route]
	e.LoadBalancer = lb
	in.Programmed[route] = e
	return in
}

func copyService(s *serving.Service) *serving.Service {
	c := *s
	c.ObjectMeta = *s.ObjectMeta.DeepCopy()
	c.Spec.Template = *s.Spec.Template.DeepCopy()
	c.Spec.Traffic = slices.Clone(s.Spec.Traffic)
	return &c
}

func copyDomainMapping(dm *serving.DomainMapping) *serving.DomainMapping {
	c := *dm
	c.ObjectMeta = *dm.ObjectMeta.DeepCopy()
	return &c
}

func index[T any](items []*T, match func(*T) bool) int {
	i := slices.IndexFunc(items, match)
	if i < 0 {
		panic("no such item")
	}
	return i
}

// mustLack panics when an item matches: a mutation that adds it does not
// apply twice.
func mustLack[T any](items []*T, match func(*T) bool) {
	if slices.ContainsFunc(items, match) {
		panic("item present")
	}
}

func serviceAt(in Input, name string) int {
	return index(in.Services, func(s *serving.Service) bool { return s.Name == name })
}

func ledgerAt(in Input, name string) int {
	return index(in.Ledgers, func(l *serving.Ledger) bool { return l.Service == name })
}

func domainMappingAt(in Input, name string) int {
	return index(in.DomainMappings, func(dm *serving.DomainMapping) bool { return dm.Name == name })
}

// editLedger replaces the named ledger with an edited copy.
func editLedger(in Input, name string, edit func(*serving.Ledger)) Input {
	in = cloneInput(in)
	i := ledgerAt(in, name)
	l := in.Ledgers[i].DeepCopy()
	edit(l)
	in.Ledgers[i] = l
	return in
}

func editService(in Input, name string, edit func(*serving.Service)) Input {
	in = cloneInput(in)
	i := serviceAt(in, name)
	s := copyService(in.Services[i])
	edit(s)
	in.Services[i] = s
	return in
}

func editDomainMapping(in Input, name string, edit func(*serving.DomainMapping)) Input {
	in = cloneInput(in)
	i := domainMappingAt(in, name)
	dm := copyDomainMapping(in.DomainMappings[i])
	edit(dm)
	in.DomainMappings[i] = dm
	return in
}

var removedAt = serving.Stamp{Commit: "d0d0", Time: metav1.Unix(1_800_000_000, 0).Rfc3339Copy()}

var mutations = []mutation{
	{name: "nothing changed", f: func(in Input) Input { return in }, redo: nil},
	{name: "copies of every input", redo: nil, f: func(in Input) Input {
		out := Input{Config: copyConfig(in.Config), Gateways: DefaultGateways()}
		for _, s := range in.Services {
			out.Services = append(out.Services, copyService(s))
		}
		for _, l := range in.Ledgers {
			out.Ledgers = append(out.Ledgers, l.DeepCopy())
		}
		for _, dm := range in.DomainMappings {
			out.DomainMappings = append(out.DomainMappings, copyDomainMapping(dm))
		}
		for _, o := range in.Objects {
			out.Objects = append(out.Objects, o.DeepCopy())
		}
		return out
	}},
	{name: "template changed", redo: []string{"svc-00001"}, f: func(in Input) Input {
		in = editService(in, "svc-00001", func(s *serving.Service) {
			s.Spec.Template.Spec.Containers[0].Image = "ghcr.io/example/app:v3"
		})
		return editLedger(in, "svc-00001", func(l *serving.Ledger) {
			tmpl := in.Services[serviceAt(in, "svc-00001")].Spec.Template
			l.Generation++
			name := fmt.Sprintf("svc-00001-%05d", l.Generation)
			l.Revisions = append(l.Revisions, serving.Revision{Name: name, Generation: l.Generation, Hash: "h3", Template: *tmpl.DeepCopy()})
			l.Latest = name
			l.Traffic = []serving.Target{{RevisionName: name, LatestRevision: true, Percent: 100}, {RevisionName: "svc-00001-00002", Tag: "previous"}}
		})
	}},
	{name: "service labels changed", redo: []string{"svc-00002"}, f: func(in Input) Input {
		return editService(in, "svc-00002", func(s *serving.Service) { s.Labels["tier"] = "web" })
	}},
	{name: "traffic changed", redo: []string{"svc-00003"}, f: func(in Input) Input {
		return editLedger(in, "svc-00003", func(l *serving.Ledger) {
			l.Traffic = []serving.Target{{RevisionName: "svc-00003-00001", Percent: 50}, {RevisionName: "svc-00003-00002", LatestRevision: true, Percent: 50, Tag: "next"}}
		})
	}},
	{name: "service removed", redo: []string{"svc-00004"}, f: func(in Input) Input {
		in = cloneInput(in)
		in.Services = slices.Delete(in.Services, serviceAt(in, "svc-00004"), serviceAt(in, "svc-00004")+1)
		return editLedger(in, "svc-00004", func(l *serving.Ledger) { l.Removed = &removedAt })
	}},
	{name: "service added", redo: []string{"fresh"}, f: func(in Input) Input {
		in = cloneInput(in)
		mustLack(in.Services, func(s *serving.Service) bool { return s.Name == "fresh" })
		s := testService("fresh")
		s.Namespace = "team-9"
		in.Services = append(in.Services, s)
		in.Ledgers = append(in.Ledgers, testLedger(s))
		return in
	}},
	{name: "domainmapping added", redo: []string{"shop.example.org"}, f: func(in Input) Input {
		in = cloneInput(in)
		mustLack(in.DomainMappings, func(dm *serving.DomainMapping) bool { return dm.Name == "shop.example.org" })
		in.DomainMappings = append(in.DomainMappings, testDomainMapping("shop.example.org", "team-1", serving.KindService, "svc-00001"))
		return in
	}},
	{name: "domainmapping changed", redo: []string{"www.example.org"}, f: func(in Input) Input {
		return editDomainMapping(in, "www.example.org", func(dm *serving.DomainMapping) { dm.Labels = map[string]string{"tier": "web"} })
	}},
	{name: "domainmapping retargeted", redo: []string{"api.example.org"}, f: func(in Input) Input {
		return editDomainMapping(in, "api.example.org", func(dm *serving.DomainMapping) { dm.Spec.Ref.Name = "exec" })
	}},
	{name: "domainmapping removed", redo: nil, f: func(in Input) Input {
		in = cloneInput(in)
		in.DomainMappings = slices.Delete(in.DomainMappings, domainMappingAt(in, "www.example.org"), domainMappingAt(in, "www.example.org")+1)
		return in
	}},
	{name: "last domainmapping removed", redo: nil, f: func(in Input) Input {
		in = cloneInput(in)
		in.DomainMappings = slices.Delete(in.DomainMappings, domainMappingAt(in, "last.example.org"), domainMappingAt(in, "last.example.org")+1)
		return in
	}},
	{name: "domainmapping target's traffic changed", redo: []string{"svc-00000", "borrower", "www.example.org"}, f: func(in Input) Input {
		return editLedger(in, "svc-00000", func(l *serving.Ledger) {
			l.Traffic = []serving.Target{{RevisionName: "svc-00000-00001", Percent: 100, Tag: "old"}}
		})
	}},
	{name: "domainmapping target's revision changed", redo: []string{"grpc", "api.example.org"}, f: func(in Input) Input {
		return editLedger(in, "grpc", func(l *serving.Ledger) {
			l.Revisions[0].Template.Spec.TimeoutSeconds = ptrTo[int64](30)
			l.Revisions[0].Template.Spec.ContainerConcurrency = ptrTo[int64](7)
		})
	}},
	{name: "domainmapping target removed", redo: []string{"grpc"}, f: func(in Input) Input {
		in = cloneInput(in)
		in.Services = slices.Delete(in.Services, serviceAt(in, "grpc"), serviceAt(in, "grpc")+1)
		return editLedger(in, "grpc", func(l *serving.Ledger) { l.Removed = &removedAt })
	}},
	{name: "domainmapping target's ledger gone", redo: nil, f: func(in Input) Input {
		in = cloneInput(in)
		in.Services = slices.Delete(in.Services, serviceAt(in, "grpc"), serviceAt(in, "grpc")+1)
		in.Ledgers = slices.Delete(in.Ledgers, ledgerAt(in, "grpc"), ledgerAt(in, "grpc")+1)
		return in
	}},
	{name: "last ledger gone", redo: nil, f: func(in Input) Input {
		in = cloneInput(in)
		in.DomainMappings = slices.Delete(in.DomainMappings, domainMappingAt(in, "last.example.org"), domainMappingAt(in, "last.example.org")+1)
		in.Services = slices.Delete(in.Services, serviceAt(in, "svc-00005"), serviceAt(in, "svc-00005")+1)
		in.Ledgers = slices.Delete(in.Ledgers, ledgerAt(in, "svc-00005"), ledgerAt(in, "svc-00005")+1)
		return in
	}},
	{name: "revision split to by another service changed", redo: []string{"svc-00000", "borrower", "www.example.org"}, f: func(in Input) Input {
		return editLedger(in, "svc-00000", func(l *serving.Ledger) {
			l.Revisions[0].Template.Spec.TimeoutSeconds = ptrTo[int64](30)
			l.Revisions[0].Template.Spec.ContainerConcurrency = ptrTo[int64](7)
		})
	}},
	{name: "pass-through object changed", redo: []string{"runner", "settings"}, f: func(in Input) Input {
		in = cloneInput(in)
		o := in.Objects[0].DeepCopy()
		o.SetLabels(map[string]string{"tier": "web"})
		in.Objects[0] = o
		return in
	}},
	{name: "pass-through object added", redo: []string{"runner", "settings", "token"}, f: func(in Input) Input {
		in = cloneInput(in)
		mustLack(in.Objects, func(o *unstructured.Unstructured) bool { return o.GetName() == "token" })
		in.Objects = append(in.Objects, testObject("v1", "Secret", "team-2", "token"))
		return in
	}},
	// Only the placeholder Services (and Endpoints) of the route whose
	// edge reports another load balancer render again.
	{name: "load balancer reported: an IP", redo: []string{"svc-00002", "previous-svc-00002"}, placeholders: true, f: func(in Input) Input {
		return balance(in, "team-2/svc-00002", serving.LoadBalancer{
			Public:  []serving.LoadBalancerIngress{{Domain: "lb.example.com"}},
			Private: []serving.LoadBalancerIngress{{IP: "10.0.0.7"}}})
	}},
	{name: "load balancer reported: a cluster-internal domain", redo: []string{"svc-00002", "previous-svc-00002"}, placeholders: true, f: func(in Input) Input {
		return balance(in, "team-2/svc-00002", serving.LoadBalancer{Private: []serving.LoadBalancerIngress{{DomainInternal: "envoy.contour-internal.svc.cluster.local"}}})
	}},
	{name: "load balancer reported: a mesh", redo: []string{"svc-00003", "previous-svc-00003"}, placeholders: true, f: func(in Input) Input {
		return balance(in, "team-3/svc-00003", serving.LoadBalancer{Public: []serving.LoadBalancerIngress{{MeshOnly: true}}})
	}},
	{name: "load balancer reported: two", redo: []string{"svc-00003", "previous-svc-00003"}, placeholders: true, f: func(in Input) Input {
		return balance(in, "team-3/svc-00003", serving.LoadBalancer{Public: []serving.LoadBalancerIngress{{IP: "10.0.0.8"}, {IP: "10.0.0.9"}}})
	}},
	{name: "config changed", all: true, f: func(in Input) Input {
		in = cloneInput(in)
		in.Config = memoConfig(in.Config.Network.IngressClass, map[string]map[string]string{
			config.DomainName: {"example.net": ""},
		})
		return in
	}},
	{name: "gateways changed", all: true, f: func(in Input) Input {
		in = cloneInput(in)
		gw := DefaultGateways()
		gw.External = "gateways/public"
		gw.IstioExternal = "gateways/public"
		gw.LocalService[config.IngressClassEbb] = "gateways/ebb"
		in.Gateways = gw
		return in
	}},
}

func ptrTo[T any](v T) *T { return &v }

// memoConfig is the default configuration for class with the domains and
// features memo tests use, and extra ConfigMap data applied.
func memoConfig(class string, extra map[string]map[string]string) *config.Config {
	cfg := config.Default()
	apply := func(name string, data map[string]string) {
		if err := cfg.Apply(name, data); err != nil {
			panic(err)
		}
	}
	apply(config.NetworkName, map[string]string{"ingress-class": class})
	apply(config.DomainName, map[string]string{"example.com": "", "internal.example.com": "selector:\n  team: team-1\n"})
	apply(config.FeaturesName, map[string]string{config.FeatureTagHeaderBasedRouting: "Enabled"})
	for name, data := range extra {
		apply(name, data)
	}
	return cfg
}

// copyConfig is a new Config equal to cfg.
func copyConfig(cfg *config.Config) *config.Config {
	return memoConfig(cfg.Network.IngressClass, nil)
}
