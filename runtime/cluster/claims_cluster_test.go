//go:build unix

package cluster_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/ebb-dev/ebb/serving"
)

// writeMapping writes a DomainMapping of domain onto ns's hello Service
// into a serving repository.
func writeMapping(t *testing.T, dir, ns, domain string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "mapping.yaml"), []byte(`apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata:
  name: `+domain+`
  namespace: `+ns+`
spec:
  ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: hello}
`), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestHostClaims: two sources, each through ebb itself, map one domain
// from two namespaces. The first to apply claims it; the second is
// refused (its status and an Event say so, once) and the claim stays the
// first's. Once the first stops serving the domain its claim is released,
// and the second takes it at its next pass.
func TestHostClaims(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := t.Context()
	w := &writes{}
	cfg, cs := counted(t, c, w)
	k := kubetest.Clients(t, cfg)
	mustNamespace(t, cs, "ebb-system")
	ssa, err := apply.New(cfg, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const domain = "shared.claims.example.com"
	type tenant struct {
		ns     string
		dir    string
		target *cluster.Target
		rec    *engine.Pipeline
		at     serving.Stamp // of the last pass
	}
	minute := 0
	mk := func(ns string) *tenant {
		tn := &tenant{ns: ns, dir: helloIn(t, cs, ns)}
		writeMapping(t, tn.dir, ns, domain)
		tn.target = &cluster.Target{Applier: ssa, Source: ns, Claims: cluster.NewClaims(k, "ebb-system", ns, nil),
			Status: cluster.NewStatus(k, "ebb-system", ns, nil, nil), Events: cluster.NewEvents(k, "ebb-system", ns, "test", nil)}
		tn.rec = &engine.Pipeline{Writer: engine.DirWriter{Dir: tn.dir}, Target: tn.target}
		return tn
	}
	// pass applies tn's repository as a new commit, or again at the same
	// commit.
	pass := func(tn *tenant, again bool) {
		t.Helper()
		if !again {
			minute++
			tn.at = stamp(fmt.Sprintf("%s-%d", tn.ns, minute), minute)
		}
		if _, err := tn.rec.Pass(ctx, os.DirFS(tn.dir), tn.at, time.Time{}); err != nil {
			t.Fatalf("%s: %v", tn.ns, err)
		}
		if err := tn.target.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	claimed := func() string {
		t.Helper()
		cm, err := cs.CoreV1().ConfigMaps("ebb-system").Get(ctx, route.ClaimObjectName(domain), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		if cm.Labels[route.ClaimLabelKey] != route.ClaimLabelValue {
			t.Errorf("claim labels %v", cm.Labels)
		}
		cl, err := route.ParseClaim(cm.Data)
		if err != nil {
			t.Fatal(err)
		}
		return cl.Namespace + " by " + cl.Kind + " " + cl.Name + " of source " + cl.Source
	}
	mappingStatus := func(tn *tenant) string {
		t.Helper()
		doc, err := cluster.ReadStatus(ctx, k, "ebb-system", tn.ns)
		if err != nil {
			t.Fatal(err)
		}
		if doc.Condition != cluster.Ready || len(doc.DomainMappings) != 1 {
			t.Fatalf("%s: status %s %q, DomainMappings %+v", tn.ns, doc.Condition, doc.Message, doc.DomainMappings)
		}
		dm := doc.DomainMappings[0]
		return string(dm.Ready) + " " + dm.Reason
	}
	refusedEvents := func(ns string) []corev1.Event {
		t.Helper()
		evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=DomainAlreadyClaimed"})
		if err != nil {
			t.Fatal(err)
		}
		return evs.Items
	}

	first, second := mk("claims-first"), mk("claims-second")
	pass(first, false)
	if got, want := claimed(), "claims-first by DomainMapping "+domain+" of source claims-first"; got != want {
		t.Fatalf("after the first source: claim %q, want %q", got, want)
	}
	if got := mappingStatus(first); got != "True " {
		t.Errorf("the first source's mapping: %s", got)
	}
	pass(second, false)
	if got, want := claimed(), "claims-first by DomainMapping "+domain+" of source claims-first"; got != want {
		t.Errorf("after the second source: claim %q, want %q (the first claim stays)", got, want)
	}
	want := "False host " + domain + " is already in use by another namespace"
	if got := mappingStatus(second); got != want {
		t.Errorf("the second source's mapping: %q, want %q", got, want)
	}
	evs := refusedEvents("claims-second")
	if len(evs) != 1 || evs[0].InvolvedObject.Kind != serving.KindDomainMapping || evs[0].InvolvedObject.Name != domain ||
		evs[0].Type != corev1.EventTypeWarning || !strings.Contains(evs[0].Message, "already in use by another namespace") {
		t.Errorf("Events of the refused mapping: %+v", evs)
	}
	// Its route table is applied all the same: the gateway leaves the
	// host out (it follows the claim).
	if _, err := cs.CoreV1().ConfigMaps("claims-second").Get(ctx, domain+"-routes", metav1.GetOptions{}); err != nil {
		t.Errorf("the refused mapping's route table: %v", err)
	}

	// Passes that change nothing: no write at all, and the refusal is
	// not recorded again.
	pass(first, true)
	pass(second, true)
	w.take()
	pass(first, true)
	pass(second, true)
	if got := without(w.take(), "/leases/"); len(got) != 0 {
		t.Errorf("unchanged passes wrote %v", got)
	}
	if n := len(refusedEvents("claims-second")); n != 1 {
		t.Errorf("%d DomainAlreadyClaimed Events after passes that changed nothing, want 1", n)
	}

	// The first source drops its mapping: its route table is pruned and
	// its claim released; the second source claims the domain next.
	if err := os.Remove(filepath.Join(first.dir, "mapping.yaml")); err != nil {
		t.Fatal(err)
	}
	pass(first, false)
	if got := claimed(); got != "" {
		t.Errorf("after the first source dropped its mapping: claim %q, want none", got)
	}
	if _, err := cs.CoreV1().ConfigMaps("claims-first").Get(ctx, domain+"-routes", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the dropped mapping's route table: %v, want it pruned", err)
	}
	pass(second, false)
	if got, want := claimed(), "claims-second by DomainMapping "+domain+" of source claims-second"; got != want {
		t.Errorf("after the second source's next pass: claim %q, want %q", got, want)
	}
	if got := mappingStatus(second); got != "True " {
		t.Errorf("the second source's mapping once it holds the domain: %q", got)
	}
}
