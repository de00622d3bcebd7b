package render

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

// checkDelta holds d, next rendered relative to base (nil: no base), to
// what Render gives for next and base.
func checkDelta(t *testing.T, base *Input, next Input, d *Delta) {
	t.Helper()
	full, err := Render(next)
	if err != nil {
		t.Fatalf("Render(next): %v", err)
	}
	at := make(map[Ref]int, len(full))
	for i, o := range full {
		at[RefOf(o)] = i
	}
	// Objects and Same together name Render's objects, each once, and
	// each list is in Render's order.
	seen := make(map[Ref]string, len(full))
	inOrder := func(what string, refs []Ref) {
		last := -1
		for _, r := range refs {
			if prev, dup := seen[r]; dup {
				t.Errorf("%v is in %s and in %s", r, prev, what)
			}
			seen[r] = what
			i, ok := at[r]
			if !ok {
				t.Errorf("%s names %v, which Render does not render", what, r)
				continue
			}
			if i < last {
				t.Errorf("%s: %v is out of Render's order", what, r)
			}
			last = i
		}
	}
	objRefs := make([]Ref, len(d.Objects))
	for i, o := range d.Objects {
		objRefs[i] = RefOf(o)
	}
	inOrder("Objects", objRefs)
	inOrder("Same", d.Same)
	for r := range at {
		if _, ok := seen[r]; !ok {
			t.Errorf("%v is rendered but neither in Objects nor in Same", r)
		}
	}
	for _, o := range d.Objects {
		if i, ok := at[RefOf(o)]; ok {
			if diff := diffObjects(full[i].Object, o.Object); diff != "" {
				t.Errorf("Objects: %v differs from Render's (-want +got):\n%s", RefOf(o), diff)
			}
		}
	}
	if base == nil {
		if len(d.Same) > 0 {
			t.Errorf("Same has %d refs without a base", len(d.Same))
		}
		return
	}
	before, err := Render(*base)
	if err != nil {
		t.Fatalf("Render(base): %v", err)
	}
	was := make(map[Ref]*unstructured.Unstructured, len(before))
	for _, o := range before {
		was[RefOf(o)] = o
	}
	for _, r := range d.Same {
		i, ok := at[r]
		if !ok {
			continue
		}
		if was[r] == nil {
			t.Errorf("Same names %v, which the base did not render", r)
			continue
		}
		if diff := diffObjects(was[r].Object, full[i].Object); diff != "" {
			t.Errorf("Same names %v, but it renders differently (-base +next):\n%s", r, diff)
		}
	}
}

// diffObjects is cmp.Diff, with DeepEqual first: most objects are equal.
func diffObjects(want, got map[string]any) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	return cmp.Diff(want, got)
}

func TestMemoMutations(t *testing.T) {
	for _, class := range memoClasses {
		for _, mu := range mutations {
			t.Run(class+"/"+mu.name, func(t *testing.T) {
				base := memoInput(class)
				var m Memo
				d, err := m.Render(base)
				if err != nil {
					t.Fatal(err)
				}
				checkDelta(t, nil, base, d)
				m.Keep(d)
				next := mu.f(base)
				d, err = m.Render(next)
				if err != nil {
					t.Fatal(err)
				}
				checkDelta(t, &base, next, d)
				full, err := Render(next)
				if err != nil {
					t.Fatal(err)
				}
				want := refsOf(full)
				if !mu.all {
					want = slices.DeleteFunc(want, func(r Ref) bool {
						return !slices.ContainsFunc(mu.redo, func(part string) bool {
							if mu.placeholders {
								return r.Name == part && (r.Kind == "Service" || r.Kind == "Endpoints")
							}
							return strings.Contains(r.Name, part)
						})
					})
				}
				if diff := cmp.Diff(want, refsOf(d.Objects), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("Objects, want those of the parts %v rendered again (-want +got):\n%s", mu.redo, diff)
				}
				// Unchanged, next renders as nothing new relative to itself.
				m.Keep(d)
				d, err = m.Render(next)
				if err != nil {
					t.Fatal(err)
				}
				checkDelta(t, &next, next, d)
				if len(d.Objects) > 0 {
					t.Errorf("rendered again relative to itself: Objects %v, want none", refsOf(d.Objects))
				}
			})
		}
	}
}

func refsOf(objs []*unstructured.Unstructured) []Ref {
	refs := make([]Ref, len(objs))
	for i, o := range objs {
		refs[i] = RefOf(o)
	}
	return refs
}

// TestMemoSequence renders random sequences of mutations, keeping some
// states and not others, and holds every Delta to Render.
func TestMemoSequence(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for _, class := range memoClasses {
		t.Run(class, func(t *testing.T) {
			var m Memo
			var base *Input
			cur := memoInput(class)
			for step := range 60 {
				mu := mutations[rng.IntN(len(mutations))]
				next := cur
				if !applies(mu, cur) {
					continue
				}
				next = mu.f(cur)
				d, err := m.Render(next)
				if err != nil {
					t.Fatalf("step %d (%s): %v", step, mu.name, err)
				}
				t.Run(fmt.Sprintf("%d-%s", step, mu.name), func(t *testing.T) { checkDelta(t, base, next, d) })
				switch rng.IntN(4) {
				case 0: // not applied: the next state builds on the base
					if base != nil {
						cur = *base
					}
				case 1:
					m.Reset()
					base = nil
					cur = next
				default:
					m.Keep(d)
					base = &next
					cur = next
				}
			}
		})
	}
}

// applies reports whether mu can change in: the mutations that edit a
// named item need it.
func applies(mu mutation, in Input) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	mu.f(in)
	return true
}

func TestMemoKeep(t *testing.T) {
	base := memoInput(config.IngressClassEbb)
	var m Memo
	d, err := m.Render(base)
	if err != nil {
		t.Fatal(err)
	}
	m.Keep(d)
	n := mutations[slices.IndexFunc(mutations, func(mu mutation) bool { return mu.name == "traffic changed" })].f(base)
	if _, err := m.Render(n); err != nil { // not kept
		t.Fatal(err)
	}
	n2 := mutations[slices.IndexFunc(mutations, func(mu mutation) bool { return mu.name == "domainmapping changed" })].f(base)
	d2, err := m.Render(n2)
	if err != nil {
		t.Fatal(err)
	}
	checkDelta(t, &base, n2, d2)
	for _, o := range d2.Objects {
		if o.GetName() == "svc-00003-routes" {
			t.Errorf("Objects has %v, changed only in a state that was not kept", RefOf(o))
		}
	}
	if len(d2.Objects) != 1 {
		t.Errorf("Objects: %v, want the DomainMapping's route only", refsOf(d2.Objects))
	}

	// Relative to n, n2 changes svc-00003's traffic back.
	m.Keep(mustMemoRender(t, &m, n))
	d3 := mustMemoRender(t, &m, n2)
	checkDelta(t, &n, n2, d3)
	if !slices.ContainsFunc(d3.Objects, func(o *unstructured.Unstructured) bool { return o.GetName() == "svc-00003-routes" }) {
		t.Errorf("Objects: %v, want svc-00003's routes, kept with other traffic", refsOf(d3.Objects))
	}
}

func mustMemoRender(t *testing.T, m *Memo, in Input) *Delta {
	t.Helper()
	d, err := m.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMemoReset(t *testing.T) {
	base := memoInput(config.IngressClassGatewayAPI)
	var m Memo
	m.Keep(mustMemoRender(t, &m, base))
	m.Reset()
	d := mustMemoRender(t, &m, base)
	checkDelta(t, nil, base, d)
	full, err := Render(base)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(refsOf(full), refsOf(d.Objects)); diff != "" || len(d.Same) > 0 {
		t.Errorf("after Reset: Same %v and Objects (-want +got):\n%s", d.Same, diff)
	}
}

// TestMemoErrors wants Render's errors, with its messages, for states
// whose changed parts fail or collide with unchanged ones.
func TestMemoErrors(t *testing.T) {
	tests := []struct {
		name string
		f    func(Input) Input
		dup  bool
	}{{
		name: "pass-through object named as a revision's Deployment",
		dup:  true,
		f: func(in Input) Input {
			in = cloneInput(in)
			in.Objects = append(in.Objects, testObject("apps/v1", "Deployment", "team-2", "svc-00002-00001-deployment"))
			return in
		},
	}, {
		name: "pass-through object of another version named as a route",
		dup:  true,
		f: func(in Input) Input {
			in = cloneInput(in)
			in.Objects = append(in.Objects, testObject("v2", "Service", "team-2", "svc-00002-00001"))
			return in
		},
	}, {
		name: "new ledger with a revision of an unchanged one's name",
		dup:  true,
		f: func(in Input) Input {
			in = cloneInput(in)
			s := testService("clash")
			s.Namespace = "team-1"
			l := testLedger(s)
			l.Revisions[0].Name, l.Latest, l.Traffic[0].RevisionName = "svc-00001-00002", "svc-00001-00002", "svc-00001-00002"
			in.Services = append(in.Services, s)
			in.Ledgers = append(in.Ledgers, l)
			return in
		},
	}, {
		name: "new DomainMapping's route named as a Service's",
		dup:  true,
		f: func(in Input) Input {
			in = cloneInput(in)
			name := "svc-00000" // svc-00000-routes, svc-00000-ingress
			if in.Config.Network.IngressClass == config.IngressClassGatewayAPI {
				name = "svc-00000.team-0.example.com" // an HTTPRoute is named by its host
			}
			in.DomainMappings = append(in.DomainMappings, testDomainMapping(name, "team-0", serving.KindService, "borrower"))
			return in
		},
	}, {
		name: "errors in several parts and collisions",
		dup:  true,
		f: func(in Input) Input {
			in = editLedger(in, "svc-00001", func(l *serving.Ledger) { l.Revisions[1].Template.Spec.Containers = nil })
			in = editService(in, "svc-00003", func(s *serving.Service) {
				s.Annotations = map[string]string{AnnotationIngressClass: "nginx"}
			})
			in = editDomainMapping(in, "www.example.org", func(dm *serving.DomainMapping) { dm.Spec.Ref.Name = "svc-00001" })
			in.Objects = append(in.Objects,
				testObject("apps/v1", "Deployment", "team-2", "svc-00002-00002-deployment"),
				testObject("apps/v1", "Deployment", "team-0", "svc-00000-00001-deployment"))
			return in
		},
	}, {
		// Its routes split to the unchanged ledger's revision of that name.
		name: "new ledger with a failing revision named as an unchanged one's",
		f: func(in Input) Input {
			in = cloneInput(in)
			s := testService("zzz")
			s.Namespace = "team-0"
			l := testLedger(s)
			l.Revisions[0].Name, l.Latest, l.Traffic[0].RevisionName = "svc-00000-00001", "svc-00000-00001", "svc-00000-00001"
			l.Revisions[0].Template.Spec.Containers = nil
			in.Services = append(in.Services, s)
			in.Ledgers = append(in.Ledgers, l)
			return in
		},
	}, {
		name: "KIngress with an unknown http-protocol",
		f: func(in Input) Input {
			return editService(in, "svc-00002", func(s *serving.Service) {
				s.Annotations = map[string]string{AnnotationIngressClass: "nginx", AnnotationHTTPProtocol: "sometimes"}
			})
		},
	}, {
		name: "Service without a ledger",
		f: func(in Input) Input {
			in = cloneInput(in)
			in.Services = append(in.Services, testService("orphan"))
			return in
		},
	}, {
		name: "traffic to a revision no ledger has",
		f: func(in Input) Input {
			return editLedger(in, "borrower", func(l *serving.Ledger) { l.Traffic[0].RevisionName = "svc-00000-00009" })
		},
	}, {
		name: "traffic to a revision its ledger lost",
		f: func(in Input) Input {
			return editLedger(in, "svc-00000", func(l *serving.Ledger) {
				l.Revisions = l.Revisions[1:]
				l.Traffic = []serving.Target{{RevisionName: l.Revisions[0].Name, Percent: 100}}
			})
		},
	}}
	for _, class := range memoClasses {
		for _, tt := range tests {
			t.Run(class+"/"+tt.name, func(t *testing.T) {
				base := memoInput(class)
				var m Memo
				m.Keep(mustMemoRender(t, &m, base))
				next := tt.f(base)
				_, want := Render(next)
				if want == nil {
					t.Fatal("Render: no error, want one")
				}
				if tt.dup != errors.Is(want, ErrDuplicate) {
					t.Fatalf("Render: %v, want ErrDuplicate %t", want, tt.dup)
				}
				d, err := m.Render(next)
				if err == nil {
					t.Fatalf("Memo.Render: no error, want %q; Objects %v", want, refsOf(d.Objects))
				}
				if diff := cmp.Diff(want.Error(), err.Error()); diff != "" {
					t.Errorf("Memo.Render error (-want +got):\n%s", diff)
				}
				if errors.Is(err, ErrDuplicate) != tt.dup {
					t.Errorf("errors.Is(%v, ErrDuplicate) = %t, want %t", err, !tt.dup, tt.dup)
				}
				// The failed render changed nothing: the base renders as itself.
				if d := mustMemoRender(t, &m, base); len(d.Objects) > 0 {
					t.Errorf("after the error, the base renders Objects %v, want none", refsOf(d.Objects))
				}
				// Without a base, rendered lean a namespace at a time.
				withLeanChunk(t, 1)
				var lean Memo
				if _, err := lean.RenderLean(next); err == nil || err.Error() != want.Error() {
					t.Errorf("Memo.RenderLean error: %v, want %q", err, want)
				}
			})
		}
	}
}

// TestMemoLarge renders enough parts for render's batches to run in
// parallel: everything again, then a few parts, then nothing.
func TestMemoLarge(t *testing.T) {
	base := benchInput(300, 2)
	base.Config = memoConfig(config.IngressClassEbb, nil)
	for _, s := range base.Services[:150] {
		base.DomainMappings = append(base.DomainMappings, testDomainMapping(s.Name+".example.org", s.Namespace, serving.KindService, s.Name))
	}
	var m Memo
	d := mustMemoRender(t, &m, base)
	checkDelta(t, nil, base, d)
	m.Keep(d)
	steps := []Input{
		func() Input {
			in := cloneInput(base)
			in.Config = memoConfig(config.IngressClassIstio, nil)
			return in
		}(),
		editLedger(editService(base, "svc-00007", func(s *serving.Service) { s.Labels["tier"] = "web" }), "svc-00123", func(l *serving.Ledger) {
			l.Traffic = []serving.Target{{RevisionName: "svc-00123-00001", Percent: 100}}
		}),
		// Every DomainMapping, in parallel batches, reading the facts of
		// ledgers not rendered again.
		func() Input {
			in := cloneInput(base)
			for i, dm := range in.DomainMappings {
				dm = copyDomainMapping(dm)
				dm.Labels = map[string]string{"tier": "web"}
				in.DomainMappings[i] = dm
			}
			return in
		}(),
	}
	for i, next := range steps {
		d := mustMemoRender(t, &m, next)
		checkDelta(t, &base, next, d)
		if want := []int{len(d.Objects), 20, 150}[i]; len(d.Objects) > want {
			t.Errorf("step %d: Objects has %d objects, want at most %d", i, len(d.Objects), want)
		}
	}
}

// TestMemoUncut: a state with two DomainMappings of one name cannot be cut
// into parts, but it renders (neither targets a Service): every object is
// in Objects, and keeping it forgets the base.
func TestMemoUncut(t *testing.T) {
	base := memoInput(config.IngressClassEbb)
	var m Memo
	m.Keep(mustMemoRender(t, &m, base))
	next := cloneInput(base)
	next.DomainMappings = append(next.DomainMappings, copyDomainMapping(next.DomainMappings[domainMappingAt(next, "elsewhere.example.org")]))
	d := mustMemoRender(t, &m, next)
	checkDelta(t, nil, next, d)
	full, err := Render(next)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Objects) != len(full) {
		t.Errorf("Objects has %d objects, want all %d", len(d.Objects), len(full))
	}
	m.Keep(d)
	d = mustMemoRender(t, &m, base)
	checkDelta(t, nil, base, d)
}
