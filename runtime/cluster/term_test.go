//go:build unix

package cluster_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	gosync "sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
)

// TestReportsEndWithTheTerm: a Target's reports run under the term they
// were made in. The first status write of a pass is held in flight when
// the term ends: it is cancelled, the reports queued behind it (the
// Events of the objects created, the status of the apply) write nothing,
// and once Flush returns no write of that term has been sent; the
// apiserver holds neither the status ConfigMap nor an Event. The next
// term's reports are written. The hold is in the client's transport,
// since the apiserver cannot be made slow for one request; it lets the
// request go when the request's context ends, so a report that outlived
// its term would go on (after reportTimeout) and be counted.
func TestReportsEndWithTheTerm(t *testing.T) {
	c := kubetest.Shared(t)
	w := &writes{}
	cfg, cs := counted(t, c, w)
	held := make(chan struct{})
	var hold gosync.Once
	count := cfg.WrapTransport
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return count(roundTripper(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/configmaps/"+cluster.ConfigMapName("term")) {
				hold.Do(func() {
					close(held)
					<-r.Context().Done()
				})
			}
			return rt.RoundTrip(r)
		}))
	}
	k := kubetest.Clients(t, cfg)
	dir := helloIn(t, cs, "term")
	mustNamespace(t, cs, "ebb-system")
	ssa, err := apply.New(cfg, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	target := &cluster.Target{Applier: ssa, Source: "term", Status: cluster.NewStatus(k, "ebb-system", "term", nil, nil),
		Events: cluster.NewEvents(k, "ebb-system", "term", "test", nil)}
	rec := &engine.Pipeline{Writer: engine.DirWriter{Dir: dir}, Target: target}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	term, end := context.WithCancel(ctx)
	target.Term(term)
	if _, err := rec.Pass(ctx, os.DirFS(dir), stamp("c1", 0), time.Time{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held:
	case <-ctx.Done():
		t.Fatal("no status write was made")
	}
	w.take()
	end()
	if err := target.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := w.take(); len(got) > 0 {
		t.Errorf("after its term ended, a report wrote:\n%s", strings.Join(got, "\n"))
	}
	if _, err := cs.CoreV1().ConfigMaps("ebb-system").Get(ctx, cluster.ConfigMapName("term"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("status ConfigMap of the ended term: %v, want not found", err)
	}
	events, err := cs.CoreV1().Events("term").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if e.Source.Component != cluster.Component {
			continue // the controller-manager's
		}
		t.Errorf("Event of the ended term: %s %s/%s: %s", e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message)
	}

	next, endNext := context.WithCancel(ctx)
	defer endNext()
	target.Term(next)
	if _, err := rec.Pass(ctx, os.DirFS(dir), stamp("c2", 1), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := target.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	doc, err := cluster.ReadStatus(ctx, k, "ebb-system", "term")
	if err != nil || doc.Condition != cluster.Ready || doc.Commit != "c2" {
		t.Errorf("status written in the next term: %+v, %v; want Ready at c2", doc, err)
	}
}
