//go:build unix

package apply_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// benchQPS is the client-side rate limit of the benchmark's client; B9
// wants applied objects/s of at least 0.9× it.
const benchQPS = 100

// serviceObjects renders what one revision of a service needs in the
// cluster: its Deployment and its private and public Services.
func serviceObjects(b *testing.B, ns string, i int) []*unstructured.Unstructured {
	name := fmt.Sprintf("svc-%04d-00001", i)
	return objects(b,
		deployment(ns, name+"-deployment", 1, "example.com/app:1", true),
		service(ns, name+"-private"),
		fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: %s}\nspec:\n  ports: [{name: http, port: 80, targetPort: 8012}]\n", name, ns),
	)
}

// BenchmarkApply1000Services (B9, apply part): 1000 services (3000 objects
// in 10 namespaces) applied into a real kube-apiserver by a client limited
// to benchQPS requests/s, then resynced with nothing to do: a full pass (a
// restarted SSA's) and a push pass.
//
//	go test -run '^$' -bench Apply1000Services -benchtime 1x ./runtime/cluster/apply/
func BenchmarkApply1000Services(b *testing.B) {
	const services, namespaces = 1000, 10
	c := kubetest.Start(b, kubetest.Options{})
	w := &writes{}
	cfg := c.Config()
	cfg.QPS, cfg.Burst = benchQPS, benchQPS
	cfg.WrapTransport = w.wrap
	for n := 0; b.Loop(); n++ {
		ssa, err := apply.New(cfg, apply.Options{})
		if err != nil {
			b.Fatal(err)
		}
		source := fmt.Sprintf("bench-%d", n)
		var objs []*unstructured.Unstructured
		for ns := range namespaces {
			objs = append(objs, objects(b, namespace(fmt.Sprintf("%s-%d", source, ns)))...)
		}
		for i := range services {
			objs = append(objs, serviceObjects(b, fmt.Sprintf("%s-%d", source, i%namespaces), i)...)
		}

		start := time.Now()
		cs, err := ssa.Apply(b.Context(), source, objs, time.Now())
		first := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if got := cs.Count(apply.Created); got != len(objs) {
			b.Fatalf("created %d of %d", got, len(objs))
		}
		w.take()

		// A full pass: a restarted controller's (the periodic resync's
		// are the same).
		restarted, err := apply.New(cfg, apply.Options{})
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		cs, err = restarted.Apply(b.Context(), source, objs, time.Now())
		resync := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		writes, reads := w.takeAll()
		if got := cs.Count(apply.Unchanged); got != len(objs) {
			b.Fatalf("resync: %d of %d unchanged", got, len(objs))
		}
		// A push pass with nothing changed.
		start = time.Now()
		cs, err = restarted.Apply(b.Context(), source, objs, time.Now())
		push := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		pushWrites, pushReads := w.takeAll()
		if got := cs.Count(apply.Unchanged); got != len(objs) {
			b.Fatalf("push pass: %d of %d unchanged", got, len(objs))
		}
		objPerSec := float64(len(objs)) / first.Seconds()
		b.ReportMetric(objPerSec, "applied-obj/s")
		b.ReportMetric(objPerSec/benchQPS, "x-qps")
		b.ReportMetric(resync.Seconds(), "resync-s")
		b.ReportMetric(float64(len(reads)), "resync-reads")
		b.ReportMetric(float64(len(writes)), "resync-writes")
		b.ReportMetric(push.Seconds(), "push-pass-s")
		b.ReportMetric(float64(len(pushReads)), "push-pass-reads")
		b.ReportMetric(float64(len(pushWrites)), "push-pass-writes")
	}
}
