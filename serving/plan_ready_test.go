package serving

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readyOnly observes exactly the revisions named as ready.
func readyOnly(names ...string) Observed {
	return Observed{Ready: func(_, rev string) bool { return slices.Contains(names, rev) }}
}

// TestPlanLatestReady: latestRevision traffic follows the newest revision
// that became ready. A new revision that is not ready yet takes nothing
// from the one before, which is not retired, and takes the traffic in one
// more ledger change once it is ready.
func TestPlanLatestReady(t *testing.T) {
	type step struct {
		services []*Service
		seen     Observed
		changes  []string
		latest   string // Latest, LatestReady
		traffic  string
		retired  []string
	}
	split := routes(latest(90, ""), pin("hello-00001", 10, "stable"))
	steps := []step{
		{[]*Service{svc("a")}, Observed{}, []string{"revision: new revision hello-00001", "traffic: hello-00001 at 100% (latestRevision)"},
			"hello-00001,", "hello-00001 at 100% (latestRevision)", nil},
		// While no revision has become ready, the latest takes the traffic.
		{[]*Service{svc("a")}, readyOnly(), nil, "hello-00001,", "hello-00001 at 100% (latestRevision)", nil},
		{[]*Service{svc("a")}, readyOnly("hello-00001"), []string{"ready: revision hello-00001 is ready"},
			"hello-00001,hello-00001", "hello-00001 at 100% (latestRevision)", nil},
		// A new template: its revision is not ready, the old one keeps all.
		{[]*Service{svc("b")}, readyOnly("hello-00001"), []string{"revision: new revision hello-00002"},
			"hello-00002,hello-00001", "hello-00001 at 100% (latestRevision)", nil},
		// Failing, it stays so across passes.
		{[]*Service{svc("b")}, readyOnly("hello-00001"), nil, "hello-00002,hello-00001", "hello-00001 at 100% (latestRevision)", nil},
		// Ready: it takes the traffic, and the old one retires.
		{[]*Service{svc("b")}, readyOnly("hello-00001", "hello-00002"), []string{"ready: revision hello-00002 is ready",
			"traffic: hello-00002 at 100% (latestRevision)", "retired: revision hello-00001 retired (no traffic, no tag)"},
			"hello-00002,hello-00002", "hello-00002 at 100% (latestRevision)", []string{"hello-00001"}},
		// A split on the latest with a pinned stable: a new revision not
		// ready yet leaves the latest share on the last ready one.
		{[]*Service{svc("c", split)}, readyOnly("hello-00001", "hello-00002"), []string{"revision: new revision hello-00003",
			"traffic: hello-00002 at 90% (latestRevision), hello-00001 at 10% (tag stable)"},
			"hello-00003,hello-00002", "hello-00002 at 90% (latestRevision), hello-00001 at 10% (tag stable)", nil},
		{[]*Service{svc("c", split)}, readyOnly("hello-00003"), []string{"ready: revision hello-00003 is ready",
			"traffic: hello-00003 at 90% (latestRevision), hello-00001 at 10% (tag stable)", "retired: revision hello-00002 retired (no traffic, no tag)"},
			"hello-00003,hello-00003", "hello-00003 at 90% (latestRevision), hello-00001 at 10% (tag stable)", []string{"hello-00002"}},
	}
	var ledgers []*Ledger
	for i, st := range steps {
		next, changes, err := Plan(st.services, ledgers, stamp(strings.Repeat("c", i+1), i), st.seen)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		var got []string
		for _, c := range changes {
			got = append(got, string(c.Kind)+": "+c.Message)
		}
		if diff := cmp.Diff(st.changes, got); diff != "" {
			t.Errorf("step %d changes (-want +got):\n%s", i, diff)
		}
		l := next[0]
		if got := l.Latest + "," + l.LatestReady; got != st.latest {
			t.Errorf("step %d: latest,latestReady = %s, want %s", i, got, st.latest)
		}
		if got := FormatTraffic(l.Traffic); got != st.traffic {
			t.Errorf("step %d: traffic %s, want %s", i, got, st.traffic)
		}
		var retired []string
		for _, r := range l.Revisions {
			if r.Retired != nil && r.Retired.Commit == strings.Repeat("c", i+1) {
				retired = append(retired, r.Name)
			}
		}
		if diff := cmp.Diff(st.retired, retired); diff != "" {
			t.Errorf("step %d retired now (-want +got):\n%s", i, diff)
		}
		// Planning the result again with the same observations changes
		// nothing.
		if _, again, err := Plan(st.services, next, stamp("again", 59), st.seen); err != nil || len(again) != 0 {
			t.Errorf("step %d planned again: %v %v", i, again, err)
		}
		ledgers = next
	}
}

// TestPlanLatestReadyFromAnOlderLedger: a ledger written before ebb
// recorded readiness names no latest ready revision; its running latest
// revision is recorded as ready before a new template is planned, so the
// new revision does not take the traffic before it is ready.
func TestPlanLatestReadyFromAnOlderLedger(t *testing.T) {
	old, _, err := Plan([]*Service{svc("a")}, nil, stamp("c1", 0), Observed{})
	if err != nil {
		t.Fatal(err)
	}
	next, _, err := Plan([]*Service{svc("b")}, old, stamp("c2", 1), readyOnly("hello-00001"))
	if err != nil {
		t.Fatal(err)
	}
	if l := next[0]; l.Latest != "hello-00002" || l.LatestReady != "hello-00001" || FormatTraffic(l.Traffic) != "hello-00001 at 100% (latestRevision)" {
		t.Errorf("latest %s, latest ready %s, traffic %s", l.Latest, l.LatestReady, FormatTraffic(l.Traffic))
	}
}
