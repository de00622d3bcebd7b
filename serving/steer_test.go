package serving

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/serving/canary"
	"github.com/ebb-dev/ebb/serving/config"
)

// canaryAt plans hello's second revision as a canary: waiting to be ready,
// or (ready) at 20%.
func canaryAt(t *testing.T, ready bool) []*Ledger {
	t.Helper()
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	w := &world{ready: []string{"hello-00001"}, since: t0, now: t0}
	l := rolloutRun(t, nil, []*Service{svc("a", analysed)}, w, []string{"revision: new revision hello-00001", "ready: revision hello-00001 is ready",
		"traffic: hello-00001 at 100% (latestRevision)"}, "hello-00001 at 100% (latestRevision)")
	if !ready {
		return rolloutRun(t, l, []*Service{svc("b", analysed)}, w, []string{"revision: new revision hello-00002",
			"canary: canary hello-00002 waits to be ready (stable hello-00001)"}, "hello-00001 at 100% (latestRevision)")
	}
	w.ready = append(w.ready, "hello-00002")
	split := "hello-00001 at 80% (latestRevision), hello-00002 at 20% (latestRevision)"
	return rolloutRun(t, l, []*Service{svc("b", analysed)}, w, []string{"revision: new revision hello-00002", "ready: revision hello-00002 is ready",
		"canary: canary hello-00002 waits to be ready (stable hello-00001)", "canary: canary hello-00002 0% -> 20% (ready)", "traffic: " + split}, split)
}

// TestSteer: a promoted or aborted canary's ledger holds the decision and
// the traffic it resolves to; planning that ledger again, with the
// runtime's observations, keeps both.
func TestSteer(t *testing.T) {
	at := Stamp{Commit: "c2"}
	at.Time.Time = time.Date(2026, 12, 7, 12, 1, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		ready   bool
		steer   Steer
		changes []string
		phase   canary.Phase
		reason  string
		traffic string
		failed  bool
		// readyTraffic is the traffic once the canary is seen ready.
		readyTraffic string
	}{
		{name: "abort at 20%", ready: true, steer: Abort,
			changes: []string{"rolled-back: rollback hello-00002: aborted by alice", "traffic: hello-00001 at 100% (latestRevision)"},
			phase:   canary.RolledBack, reason: "aborted by alice", traffic: "hello-00001 at 100% (latestRevision)", failed: true,
			readyTraffic: "hello-00001 at 100% (latestRevision)"},
		{name: "promote at 20%", ready: true, steer: Promote,
			changes: []string{"promote: promote hello-00002 (by alice)", "traffic: hello-00002 at 100% (latestRevision)",
				"retired: revision hello-00001 retired (no traffic, no tag)"},
			phase: canary.Promoted, reason: "promoted by alice", traffic: "hello-00002 at 100% (latestRevision)",
			readyTraffic: "hello-00002 at 100% (latestRevision)"},
		{name: "abort before ready", steer: Abort,
			changes: []string{"rolled-back: rollback hello-00002: aborted by alice"},
			phase:   canary.RolledBack, reason: "aborted by alice", traffic: "hello-00001 at 100% (latestRevision)", failed: true,
			readyTraffic: "hello-00001 at 100% (latestRevision)"},
		{name: "promote before ready: the full share once ready", steer: Promote,
			changes: []string{"promote: promote hello-00002 (by alice)"},
			phase:   canary.Promoted, reason: "promoted by alice", traffic: "hello-00001 at 100% (latestRevision)",
			readyTraffic: "hello-00002 at 100% (latestRevision)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev := canaryAt(t, tc.ready)
			tree := &Tree{Services: []*Service{svc("b", analysed)}, Ledgers: prev, Config: config.Default()}
			before := prev[0].DeepCopy()
			l, changes, err := tree.Steer("default", "hello", tc.steer, "alice", at)
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, c := range changes {
				msgs = append(msgs, string(c.Kind)+": "+c.Message)
			}
			if diff := cmp.Diff(tc.changes, msgs); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			r := l.Rollout
			if r.Phase != tc.phase || r.Reason != tc.reason || r.NextCheck != nil || r.Canary != "hello-00002" || r.Stable != "hello-00001" {
				t.Errorf("rollout %+v, want phase %s, reason %q", r, tc.phase, tc.reason)
			}
			if got := FormatTraffic(l.Traffic); got != tc.traffic {
				t.Errorf("traffic %s, want %s", got, tc.traffic)
			}
			if failed := l.Revisions[1].Failed; (failed != nil) != tc.failed || (failed != nil && !cmp.Equal(*failed, at)) {
				t.Errorf("the canary's failed stamp %v, want one: %v", failed, tc.failed)
			}
			if diff := cmp.Diff(before, prev[0]); diff != "" {
				t.Errorf("steering changed the tree's ledger (-before +after):\n%s", diff)
			}
			// ebb plans the steered ledger like any other: it keeps the
			// decision, and routes the canary once it is ready.
			w := &world{ready: []string{"hello-00001"}, since: at.Time.Time, now: at.Time.Add(time.Hour)}
			services := []*Service{svc("b", analysed)}
			l = rolloutRun(t, []*Ledger{l}, services, w, nil, tc.traffic)[0]
			w.ready = append(w.ready, "hello-00002")
			l = rolloutRun(t, []*Ledger{l}, services, w, planned(t, []*Ledger{l}, services, w), tc.readyTraffic)[0]
			if l.Rollout.Phase != tc.phase || FormatTraffic(l.Traffic) != tc.readyTraffic {
				t.Errorf("planned with the canary ready: %s, %s; want %s, %s", l.Rollout.Phase, FormatTraffic(l.Traffic), tc.phase, tc.readyTraffic)
			}
		})
	}
}

// planned is the changes planning ledgers makes as w observes, in
// rolloutRun's words.
func planned(t *testing.T, ledgers []*Ledger, services []*Service, w *world) []string {
	t.Helper()
	at := Stamp{Commit: "c"}
	at.Time.Time = w.now.Truncate(time.Second)
	_, changes, err := Plan(services, ledgers, at, w.observed())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range changes {
		if c.Kind == ChangeCanary || c.Kind == ChangeRolledBack || c.Kind == ChangePromote {
			t.Errorf("planning a steered ledger: %s: %s", c.Kind, c.Message)
		}
		out = append(out, string(c.Kind)+": "+c.Message)
	}
	return out
}

// TestSteerRefused: steering needs a progressing rollout, and a ledger
// that has planned the Service's file.
func TestSteerRefused(t *testing.T) {
	at := Stamp{Commit: "c2"}
	at.Time.Time = time.Date(2026, 12, 7, 12, 1, 0, 0, time.UTC)
	progressing := canaryAt(t, true)
	aborted, _, err := (&Tree{Services: []*Service{svc("b", analysed)}, Ledgers: progressing, Config: config.Default()}).Steer("default", "hello", Abort, "bob", at)
	if err != nil {
		t.Fatal(err)
	}
	first := rolloutRun(t, nil, []*Service{svc("a", analysed)}, &world{ready: []string{"hello-00001"}, now: at.Time.Time}, []string{"revision: new revision hello-00001",
		"ready: revision hello-00001 is ready", "traffic: hello-00001 at 100% (latestRevision)"}, "hello-00001 at 100% (latestRevision)")
	for _, tc := range []struct {
		name      string
		service   *Service
		ledgers   []*Ledger
		noRollout bool
		want      string
	}{
		{"never rolled out", svc("a", analysed), first, true, "default/hello: no rollout in progress (it has never rolled out analysed)"},
		{"already rolled back", svc("b", analysed), []*Ledger{aborted}, true,
			"default/hello: no rollout in progress (canary hello-00002 ended RolledBack: aborted by bob)"},
		{"no such Service", svc("b", analysed, named("other")), progressing, false, "default/hello: no such Service in the repository"},
		{"the ledger is behind the file", svc("c", analysed), progressing, false,
			"default/hello: the ledger has not planned the Service's file yet (new revision hello-00003; canary hello-00003 waits to be ready (stable hello-00002)): " +
				"let ebb plan it, or pull ebb's ledger commit, first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree := &Tree{Services: []*Service{tc.service}, Ledgers: tc.ledgers, Config: config.Default()}
			_, _, err := tree.Steer("default", "hello", Promote, "alice", at)
			if err == nil || err.Error() != tc.want || errors.Is(err, ErrNoRollout) != tc.noRollout {
				t.Errorf("error %v (no rollout: %v), want %q", err, errors.Is(err, ErrNoRollout), tc.want)
			}
		})
	}
	if _, _, err := (&Tree{}).Steer("default", "hello", "pause", "alice", at); err == nil || !strings.Contains(err.Error(), `unknown decision "pause"`) {
		t.Errorf("an unknown decision: %v", err)
	}
}
