package activator

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ebb-dev/ebb/proxy/backend"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler/metric"
)

func TestReportSubtractsTheFirstPokeOnce(t *testing.T) {
	info := route.Revision{Namespace: "default", Name: "hello-00001"}
	a, err := New(Config{Backends: backend.NewStatic(), Revisions: revs{{"default", "hello-00001"}: info}, PodName: "act-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	t0 := time.Now()
	rev := a.revision(info)
	a.track(rev)
	// Two requests held from the start, through the whole report periods.
	rev.tracker.In(t0, false)
	rev.tracker.In(t0, false)
	ignore := cmpopts.IgnoreFields(metric.Stat{}, "ProcessUptime", "Timestamp")
	want := []metric.Message{{Namespace: "default", Revision: "hello-00001", Stat: metric.Stat{PodName: "act-1", AverageConcurrentRequests: 1}}}
	if diff := cmp.Diff(want, a.Report(t0.Add(2500*time.Millisecond)), ignore); diff != "" {
		t.Errorf("first report (-want +got):\n%s", diff)
	}
	want[0].Stat.AverageConcurrentRequests = 2
	if diff := cmp.Diff(want, a.Report(t0.Add(3500*time.Millisecond)), ignore); diff != "" {
		t.Errorf("second report (-want +got):\n%s", diff)
	}
	// Both leave; an idle second is reported once more, then nothing.
	rev.tracker.Out(t0.Add(3600*time.Millisecond), false, 200, 3600*time.Millisecond)
	rev.tracker.Out(t0.Add(3600*time.Millisecond), false, 200, 3600*time.Millisecond)
	want[0].Stat.AverageConcurrentRequests = 0
	if diff := cmp.Diff(want, a.Report(t0.Add(6*time.Second)), ignore); diff != "" {
		t.Errorf("idle report (-want +got):\n%s", diff)
	}
	if got := a.Report(t0.Add(7 * time.Second)); len(got) != 0 {
		t.Errorf("revision still reported after an idle second: %+v", got)
	}
}
