package cluster

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

// autoscalerCalls records what a Target tells the autoscaler.
type autoscalerCalls struct {
	upserted []string
	removed  []string
	configs  int
}

func (a *autoscalerCalls) Upsert(rev scaler.Revision) {
	a.upserted = append(a.upserted, rev.Key.Namespace+"/"+rev.Key.Name)
}
func (a *autoscalerCalls) Remove(key scaler.RevisionKey) {
	a.removed = append(a.removed, key.Namespace+"/"+key.Name)
}
func (a *autoscalerCalls) SetConfig(*autoscaling.Config) { a.configs++ }

// take returns the calls so far, sorted, and forgets them.
func (a *autoscalerCalls) take() (upserted, removed []string) {
	upserted, removed = a.upserted, a.removed
	a.upserted, a.removed = nil, nil
	slices.Sort(upserted)
	slices.Sort(removed)
	return upserted, removed
}

func registerLedger(service string, revisions ...string) *serving.Ledger {
	l := &serving.Ledger{Namespace: "default", Service: service}
	for _, r := range revisions {
		l.Revisions = append(l.Revisions, serving.Revision{Name: r})
	}
	l.Latest = revisions[len(revisions)-1]
	l.Traffic = []serving.Target{{RevisionName: l.Latest, Percent: 100}}
	return l
}

// TestRegisterTellsOnlyChangedLedgers: the autoscaler is told the
// revisions of ledgers that are new or changed, under a configuration
// that did not change; revisions that went away are removed.
func TestRegisterTellsOnlyChangedLedgers(t *testing.T) {
	calls := &autoscalerCalls{}
	var forgot []string
	tg := &Target{Autoscaler: calls, Forget: func(k scaler.RevisionKey) { forgot = append(forgot, k.Name) }}
	cfg := config.Default()
	a, b := registerLedger("a", "a-00001"), registerLedger("b", "b-00001", "b-00002")
	state := func(cfg *config.Config, ledgers ...*serving.Ledger) *engine.Desired {
		return &engine.Desired{Tree: &serving.Tree{Config: cfg}, Ledgers: ledgers}
	}
	steps := []struct {
		name              string
		d                 *engine.Desired
		upserted, removed []string
	}{
		{"first", state(cfg, a, b), []string{"default/a-00001", "default/b-00001", "default/b-00002"}, nil},
		{"the same ledgers", state(cfg, a, b), nil, nil},
		{"b changed", state(cfg, a, registerLedger("b", "b-00002")), []string{"default/b-00002"}, []string{"default/b-00001"}},
		{"an equal configuration", state(config.Default(), a, registerLedger("b", "b-00002")), []string{"default/b-00002"}, nil},
		{"a new configuration", func() *engine.Desired {
			c := config.Default()
			c.Autoscaler.ContainerConcurrencyTargetDefault++
			return state(c, a)
		}(), []string{"default/a-00001"}, []string{"default/b-00002"}},
	}
	for _, s := range steps {
		tg.register(s.d)
		upserted, removed := calls.take()
		if diff := cmp.Diff(s.upserted, upserted); diff != "" {
			t.Errorf("%s: upserted (-want +got):\n%s", s.name, diff)
		}
		if diff := cmp.Diff(s.removed, removed); diff != "" {
			t.Errorf("%s: removed (-want +got):\n%s", s.name, diff)
		}
	}
	if diff := cmp.Diff([]string{"b-00001", "b-00002"}, forgot); diff != "" {
		t.Errorf("forgot (-want +got):\n%s", diff)
	}
	if calls.configs != len(steps) {
		t.Errorf("SetConfig called %d times, want %d", calls.configs, len(steps))
	}
}
