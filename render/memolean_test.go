package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

// withLeanChunk sets leanChunk for the test.
func withLeanChunk(t *testing.T, n int) {
	old := leanChunk
	leanChunk = n
	t.Cleanup(func() { leanChunk = old })
}

// TestMemoLean: a state rendered lean names every object Render renders,
// and is a base every mutation renders relative to as it would to a base
// rendered whole.
func TestMemoLean(t *testing.T) {
	for _, chunk := range []int{1, 12} {
		for _, class := range memoClasses {
			t.Run(class, func(t *testing.T) {
				withLeanChunk(t, chunk)
				base := memoInput(class)
				if len(leanSteps(base)) < 2 {
					t.Fatalf("the input is one chunk of %d: nothing is rendered lean", chunk)
				}
				var m Memo
				d, err := m.RenderLean(base)
				if err != nil {
					t.Fatal(err)
				}
				if d.Objects != nil || d.Same != nil {
					t.Fatalf("RenderLean without a base: %d Objects, %d Same; want neither", len(d.Objects), len(d.Same))
				}
				m.Keep(d)
				full, err := Render(base)
				if err != nil {
					t.Fatal(err)
				}
				again := mustMemoRender(t, &m, base)
				if diff := cmp.Diff(refsOf(full), again.Same); diff != "" || len(again.Objects) > 0 {
					t.Errorf("the lean base rendered again: Objects %v; Same (-want +got):\n%s", refsOf(again.Objects), diff)
				}
				for _, mu := range mutations {
					if !applies(mu, base) {
						continue
					}
					next := mu.f(base)
					t.Run(mu.name, func(t *testing.T) {
						var m Memo
						m.Keep(mustLean(t, &m, base))
						checkDelta(t, &base, next, mustMemoRender(t, &m, next))
						// With a base of the same configuration and few new
						// parts, RenderLean is Render.
						var w Memo
						w.Keep(mustLean(t, &w, base))
						whole := !sameConfig(base.Config, next.Config) || !sameGateways(base.Gateways, next.Gateways) || w.base.manyNew(next)
						got := mustLean(t, &w, next)
						if !whole {
							checkDelta(t, &base, next, got)
						} else if got.Objects != nil || got.Same != nil {
							t.Errorf("a new configuration or many new parts: %d Objects, %d Same; want a lean render", len(got.Objects), len(got.Same))
						}
					})
				}
			})
		}
	}
}

func mustLean(t *testing.T, m *Memo, in Input) *Delta {
	t.Helper()
	d, err := m.RenderLean(in)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestMemoLeanOneChunk: a state of one chunk renders as Render does, with
// its objects.
func TestMemoLeanOneChunk(t *testing.T) {
	base := memoInput(config.IngressClassEbb)
	var m Memo
	d := mustLean(t, &m, base)
	checkDelta(t, nil, base, d)
	full, err := Render(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Objects) != len(full) {
		t.Errorf("Objects has %d objects, want all %d", len(d.Objects), len(full))
	}
}

// TestMemoLeanLarge: Services of ten namespaces, rendered in parallel
// batches a few namespaces at a time.
func TestMemoLeanLarge(t *testing.T) {
	base := benchInput(300, 2)
	base.Config = memoConfig(config.IngressClassEbb, nil)
	for _, s := range base.Services[:150] {
		base.DomainMappings = append(base.DomainMappings, testDomainMapping(s.Name+".example.org", s.Namespace, serving.KindService, s.Name))
	}
	if n := len(leanSteps(base)); n < 3 {
		t.Fatalf("%d steps, want several", n)
	}
	var m Memo
	m.Keep(mustLean(t, &m, base))
	next := editLedger(base, "svc-00123", func(l *serving.Ledger) {
		l.Traffic = []serving.Target{{RevisionName: "svc-00123-00001", Percent: 100}}
	})
	d := mustMemoRender(t, &m, next)
	checkDelta(t, &base, next, d)
	if !slices.ContainsFunc(d.Objects, func(o *unstructured.Unstructured) bool { return o.GetName() == "svc-00123-routes" }) ||
		slices.ContainsFunc(d.Objects, func(o *unstructured.Unstructured) bool { return !strings.HasPrefix(o.GetName(), "svc-00123") }) {
		t.Errorf("Objects: %v, want svc-00123's objects only", refsOf(d.Objects))
	}
}

// TestMemoLeanManyNew: relative to a base, a push that makes more than a
// chunk of Services new values (an image bumped in all of them) renders
// lean; one that changes a few renders what changed.
func TestMemoLeanManyNew(t *testing.T) {
	base := benchInput(300, 2)
	base.Config = memoConfig(config.IngressClassEbb, nil)
	var m Memo
	m.Keep(mustMemoRender(t, &m, base))

	few := editService(base, "svc-00007", func(s *serving.Service) { s.Labels["tier"] = "web" })
	if d := mustLean(t, &m, few); len(d.Objects) == 0 || len(d.Same) == 0 {
		t.Errorf("one Service changed: %d Objects, %d Same; want both", len(d.Objects), len(d.Same))
	}

	all := cloneInput(base)
	for i, s := range all.Services {
		s = copyService(s)
		s.Labels = map[string]string{"team": s.Namespace, "tier": "web"}
		all.Services[i] = s
	}
	d := mustLean(t, &m, all)
	if d.Objects != nil || d.Same != nil {
		t.Fatalf("every Service changed: %d Objects, %d Same; want a lean render", len(d.Objects), len(d.Same))
	}
	m.Keep(d)
	next := editLedger(all, "svc-00123", func(l *serving.Ledger) {
		l.Traffic = []serving.Target{{RevisionName: "svc-00123-00001", Percent: 100}}
	})
	got := mustMemoRender(t, &m, next)
	checkDelta(t, &all, next, got)
	if len(got.Same) == 0 {
		t.Error("relative to the lean state, nothing is the same")
	}
}

// TestMemoWholeNeverLean: with Whole set, a state of many chunks renders
// with every object, as Render does, and its names are the base of the
// next render.
func TestMemoWholeNeverLean(t *testing.T) {
	in := benchInput(300, 2)
	if n := len(leanSteps(in)); n < 2 {
		t.Fatalf("%d steps, want several", n)
	}
	want, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	m := Memo{Whole: true}
	d, err := m.RenderLean(in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(refsOf(want), refsOf(d.Objects)); diff != "" || len(d.Same) != 0 {
		t.Errorf("objects (-want +got), %d named the same:\n%s", len(d.Same), diff)
	}
	m.Keep(d)
	if d, err = m.RenderLean(in); err != nil || len(d.Objects) != 0 || len(d.Same) != len(want) {
		t.Errorf("the same state again: %v, %d objects and %d named the same, want none and %d", err, len(d.Objects), len(d.Same), len(want))
	}
}
