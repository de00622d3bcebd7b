package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/render"
)

// TestLoopLargeStateRendersLean: a first pass over Services of several
// namespaces, more than render renders at once, checks the state without
// keeping its objects; the Target renders them (All, or Parts a namespace
// at a time), and the next push renders only what changed relative to it.
func TestLoopLargeStateRendersLean(t *testing.T) {
	f := newLoopFixture(t, false)
	files := map[string]string{}
	for i := range 150 {
		y := strings.NewReplacer("name: hello", fmt.Sprintf("name: svc-%d", i), "namespace: default", fmt.Sprintf("namespace: team-%d", i%3)).
			Replace(helloService("World", ""))
		files[fmt.Sprintf("services/svc-%d.yaml", i)] = y
	}
	f.user.CommitAndPush(t, files, "150 services")
	ctx := context.Background()
	if p := f.loop.Sync(ctx); p.Err != nil {
		t.Fatal(p.Err)
	}
	d := f.target.last(t)
	if d.Objects != nil || len(d.Same) != 0 {
		t.Fatalf("first pass: %d objects and %d named the same, want neither", len(d.Objects), len(d.Same))
	}
	full, err := render.Render(render.TreeInput(d.Tree, d.Ledgers))
	if err != nil {
		t.Fatal(err)
	}
	all, err := d.All()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(full, all); diff != "" {
		t.Errorf("All (-full render +got):\n%s", diff)
	}
	var parts int
	if err := d.Parts(func(objs []*unstructured.Unstructured) error { parts += len(objs); return nil }); err != nil || parts != len(full) {
		t.Errorf("Parts: %d objects, %v; want %d", parts, err, len(full))
	}

	f.pull(t)
	f.user.CommitAndPush(t, map[string]string{"services/svc-7.yaml": strings.NewReplacer("name: hello", "name: svc-7", "namespace: default", "namespace: team-1").
		Replace(helloService("Ebb", ""))}, "svc-7: Ebb")
	if p := f.loop.Sync(ctx); p.Err != nil {
		t.Fatal(p.Err)
	}
	d = f.target.last(t)
	if len(d.Objects) == 0 || len(d.Same) == 0 {
		t.Fatalf("push pass: %d objects and %d named the same, want both", len(d.Objects), len(d.Same))
	}
	for _, u := range d.Objects {
		if u.GetLabels()["serving.knative.dev/service"] != "svc-7" {
			t.Errorf("push pass rendered %s %s, want only svc-7's objects", u.GetKind(), u.GetName())
		}
	}
	if full, err = render.Render(render.TreeInput(d.Tree, d.Ledgers)); err != nil {
		t.Fatal(err)
	}
	if got := len(d.Objects) + len(d.Same); got != len(full) {
		t.Errorf("%d objects rendered and %d named the same, want %d in all", len(d.Objects), len(d.Same), len(full))
	}
}
