package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/serving"
)

// noModes stands in for the gateway, which this package does not run:
// the autoscaler needs somewhere to set a revision's mode.
type noModes struct{}

func (noModes) SetMode(context.Context, scaler.RevisionKey, route.Mode, int32) error { return nil }

// planned is examples/hello planned at commit c1, or, with no Services,
// the same tree without them or their ledgers.
func planned(t *testing.T, services bool) *engine.Desired {
	t.Helper()
	tree, err := serving.Load(os.DirFS(filepath.Join("..", "..", "examples", "hello")))
	if err != nil {
		t.Fatal(err)
	}
	if !services {
		tree.Services = nil
	}
	at := serving.Stamp{Commit: "c1"}
	ledgers, _, err := tree.Plan(at, serving.Observed{})
	if err != nil {
		t.Fatal(err)
	}
	if !services {
		ledgers = nil
	}
	return &engine.Desired{Tree: tree, Ledgers: ledgers, At: at}
}

// TestTarget applies examples/hello through the Target to a real local
// runtime and autoscaler, then a state without it: what the runtime asks
// of the state follows it, and Status reports the revision as
// engine.Health reads it.
func TestTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	tgt := &Target{}
	var failed []error
	tgt.Failed = func(err error) { failed = append(failed, err) }
	r := newTestRuntime(t, nil, func(o *Options) {
		o.Reachable, o.Source, o.Code, o.Locate = tgt.Reachable, tgt.Source, tgt.Code, tgt.Locate
	})
	sc, err := scaler.New(scaler.Options{Scaler: r, Modes: noModes{}, Pods: r})
	if err != nil {
		t.Fatal(err)
	}
	tgt.Runtime, tgt.Scaler = r, sc
	key := scaler.RevisionKey{Namespace: "default", Name: "hello-00001"}

	// A state Prepare refuses applies nothing.
	tgt.Prepare = func(*engine.Desired) (map[scaler.RevisionKey]string, error) { return nil, errors.New("no checkout") }
	d := planned(t, true)
	if err := tgt.Apply(t.Context(), d); err == nil || tgt.Applied() != nil || len(r.Status()) != 0 {
		t.Fatalf("Apply with a failed Prepare: %v, applied %v, runtime %+v", err, tgt.Applied(), r.Status())
	}

	// The revision builds from a directory of its own, as a preview's
	// does: here the module again, by its absolute path.
	src, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tgt.Prepare = func(d *engine.Desired) (map[scaler.RevisionKey]string, error) {
		if len(d.Ledgers) == 0 {
			return nil, nil
		}
		return map[scaler.RevisionKey]string{key: src}, nil
	}
	if err := tgt.Apply(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if tgt.Applied() != d || !tgt.Reachable(key) || tgt.Source(key) != src {
		t.Errorf("after Apply: applied %p (want %p), reachable %v, source %q", tgt.Applied(), d, tgt.Reachable(key), tgt.Source(key))
	}
	if _, ok := sc.Status(key); !ok {
		t.Error("the autoscaler does not scale hello-00001")
	}
	waitReady(t, r, "hello-00001", 1)
	type row struct {
		Service, Revision string
		Ready             engine.Condition
		Actual            int
	}
	var got []row
	for _, s := range tgt.Status(tgt.Applied(), time.Now()) {
		for _, rev := range s.Revisions {
			got = append(got, row{s.Name, rev.Name, rev.Ready, rev.Actual})
		}
	}
	if diff := cmp.Diff([]row{{"hello", "hello-00001", engine.True, 1}}, got); diff != "" {
		t.Errorf("Status (-want +got):\n%s", diff)
	}

	// Without the Service, the revision leaves the runtime's routes and
	// the autoscaler.
	gone := planned(t, false)
	if err := tgt.Apply(t.Context(), gone); err != nil {
		t.Fatal(err)
	}
	if tgt.Reachable(key) || tgt.Source(key) != "" {
		t.Errorf("after the Service left: reachable %v, source %q", tgt.Reachable(key), tgt.Source(key))
	}
	if _, ok := sc.Status(key); ok {
		t.Error("the autoscaler still scales hello-00001")
	}
	if len(failed) != 0 {
		t.Errorf("failures reported: %v", failed)
	}
	if got := tgt.Locate(errors.New("x")); !strings.Contains(got.Error(), "x") {
		t.Errorf("Locate: %v", got)
	}
}
