package gc

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/canary"
	"github.com/ebb-dev/ebb/serving/config"
	"github.com/ebb-dev/ebb/serving/rollout"
	"github.com/ebb-dev/ebb/serving/traffic"
)

// The vectors of Knative's pkg/reconciler/gc tests (TestCollectMin,
// TestCollectMax, TestCollectSettings, TestGCInOrder), replayed on
// ledgers: each case name starts with the Knative test and case it
// carries over. A Knative revision's routing state becomes the ledger's:
// "active" is a traffic target naming it, "reserve" a retired stamp at
// its routingStateModified time, "pending" (or no state at all) neither.
// Knative's fixtures mostly leave the creation time unset, the zero time,
// which is long before any retain time: here that is a day ago.

var knNow = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// Knative's fixture times.
var (
	knOld    = knNow.Add(-11 * time.Minute)
	knOlder  = knNow.Add(-12 * time.Minute)
	knOldest = knNow.Add(-13 * time.Minute)
	knOld4   = knNow.Add(-14 * time.Minute)
	knOld5   = knNow.Add(-15 * time.Minute)
	longAgo  = knNow.Add(-24 * time.Hour)
)

// knRev is one revision of a Knative fixture.
type knRev struct {
	name  string
	state string // "active", "reserve", "pending" or "" (unset)
	// modified is routingStateModified; created the creation time (zero:
	// unset, long ago).
	modified, created time.Time
	// percent is an active revision's share; 0 pins it at 0 %.
	percent  traffic.Percent
	tag      string
	preserve bool
	// staleStamp gives an active revision a retired stamp too, as a
	// ledger written by an earlier ebb did for one pinned at 0 %.
	staleStamp bool
}

// knLedger is the ledger of a Knative Configuration whose latest created
// and latest ready revision is latest ("" for none) and its revisions.
func knLedger(latest string, revs ...knRev) *serving.Ledger {
	l := &serving.Ledger{Namespace: "foo", Service: "keep-two", Latest: latest, LatestReady: latest, Traffic: []serving.Target{}}
	for i, kr := range revs {
		created := kr.created
		if created.IsZero() {
			created = longAgo
		}
		r := serving.Revision{Name: kr.name, Generation: int64(i + 1), Created: serving.Stamp{Commit: "c", Time: metav1.NewTime(created)}}
		switch kr.state {
		case "active":
			l.Traffic = append(l.Traffic, serving.Target{RevisionName: kr.name, Percent: kr.percent, Tag: kr.tag})
			if kr.staleStamp {
				r.Retired = &serving.Stamp{Commit: "c", Time: metav1.NewTime(longAgo)}
			}
		case "reserve":
			at := kr.modified
			if at.IsZero() {
				at = created
			}
			r.Retired = &serving.Stamp{Commit: "c", Time: metav1.NewTime(at)}
		}
		if kr.preserve {
			r.Template.Annotations = map[string]string{NoGCAnnotation: "true"}
		}
		l.Revisions = append(l.Revisions, r)
		l.Generation = r.Generation
	}
	return l
}

// knConfig is a config-gc in Knative's units (-1: disabled).
func knConfig(create, active time.Duration, min, max int64) *config.GC {
	c := config.DefaultGC()
	c.RetainSinceCreateTime, c.RetainSinceLastActiveTime = create, active
	c.MinNonActiveRevisions, c.MaxNonActiveRevisions = min, max
	return c
}

const off = config.DisabledDuration

func TestKnativeVectors(t *testing.T) {
	minCfg := knConfig(5*time.Minute, 5*time.Minute, 1, -1)
	maxCfg := knConfig(time.Hour, time.Hour, 1, 2)
	settings := func(latest string) *serving.Ledger {
		return knLedger(latest,
			knRev{name: "5554", state: "reserve", modified: knOldest},
			knRev{name: "5555", state: "reserve", modified: knOlder},
			knRev{name: "5556", state: "active", modified: knOld, percent: 100})
	}
	// TestGCInOrder's revisions, listed newest first: what goes is
	// chosen by when each was retired, not by where the ledger lists it.
	inOrder := func() *serving.Ledger {
		return knLedger("5557",
			knRev{name: "5557", state: "active", modified: knOld, percent: 100},
			knRev{name: "5556", state: "reserve", modified: knOlder},
			knRev{name: "5555", state: "reserve", modified: knOldest},
			knRev{name: "5554", state: "reserve", modified: knOld4},
			knRev{name: "5553", state: "reserve", modified: knOld5})
	}
	tests := []struct {
		name   string
		cfg    *config.GC
		ledger *serving.Ledger
		want   []string
	}{{
		name:   "TestCollectMin/too few revisions",
		cfg:    minCfg,
		ledger: knLedger("5556", knRev{name: "5556", state: "active", created: knOld, percent: 100}),
	}, {
		name: "TestCollectMin/delete oldest, keep one recent, one active",
		cfg:  minCfg,
		ledger: knLedger("5556",
			knRev{name: "5554", state: "reserve", modified: knOldest},
			knRev{name: "5555", state: "reserve", modified: knOlder},
			knRev{name: "5556", state: "active", modified: knOld, percent: 100}),
		want: []string{"5554"},
	}, {
		name: "TestCollectMin/no latest ready, one active",
		cfg:  minCfg,
		ledger: knLedger("",
			knRev{name: "5554", state: "reserve", modified: knOldest},
			knRev{name: "5555", state: "reserve", modified: knOlder},
			knRev{name: "5556", state: "active", modified: knOld, percent: 100}),
		want: []string{"5554"},
	}, {
		name: "TestCollectMin/keep oldest when none Reserved",
		cfg:  minCfg,
		ledger: knLedger("5556",
			knRev{name: "5554", state: "pending", created: knOldest},
			knRev{name: "5555", state: "", created: knOlder},
			knRev{name: "5556", state: "active", created: knOld, percent: 100}),
	}, {
		name: "TestCollectMin/none stale",
		cfg:  minCfg,
		ledger: knLedger("",
			knRev{name: "5554", state: "reserve", modified: knNow},
			knRev{name: "5555", state: "reserve", modified: knNow},
			knRev{name: "5556", state: "reserve", modified: knNow}),
	}, {
		name: "TestCollectMin/keep oldest because of the preserve annotation",
		cfg:  minCfg,
		ledger: knLedger("",
			knRev{name: "5554", state: "reserve", modified: knOldest, preserve: true},
			knRev{name: "5555", state: "reserve", modified: knOlder},
			knRev{name: "5556", state: "reserve", modified: knOld}),
		want: []string{"5555"},
	}, {
		name: "TestCollectMax/at max",
		cfg:  maxCfg,
		ledger: knLedger("5556",
			knRev{name: "5554", state: "reserve", modified: knOlder},
			knRev{name: "5555", state: "reserve", modified: knOlder},
			knRev{name: "5556", state: "active", modified: knOld, percent: 100}),
	}, {
		name: "TestCollectMax/delete oldest, keep three max",
		cfg:  maxCfg,
		ledger: knLedger("5556",
			knRev{name: "5553", state: "reserve", modified: knOldest},
			knRev{name: "5554", state: "reserve", modified: knOlder},
			knRev{name: "5555", state: "reserve", modified: knOlder},
			knRev{name: "5556", state: "active", modified: knOld, percent: 100}),
		want: []string{"5553"},
	}, {
		name: "TestCollectMax/over max, all active",
		cfg:  maxCfg,
		ledger: knLedger("5556",
			knRev{name: "5553", state: "active", percent: 25},
			knRev{name: "5554", state: "active", percent: 25},
			knRev{name: "5555", state: "active", percent: 25},
			knRev{name: "5556", state: "active", percent: 25}),
	}, {
		name:   "TestCollectSettings/all disabled",
		cfg:    knConfig(off, off, 1, -1),
		ledger: settings("5556"),
	}, {
		name:   "TestCollectSettings/staleness disabled",
		cfg:    knConfig(off, off, 0, 1),
		ledger: settings("5556"),
		want:   []string{"5554"},
	}, {
		name:   "TestCollectSettings/max disabled",
		cfg:    knConfig(off, time.Minute, 1, -1),
		ledger: settings("5556"),
		want:   []string{"5554"},
	}, {
		name:   "TestGCInOrder/retain one item",
		cfg:    knConfig(off, off, 1, 1),
		ledger: inOrder(),
		want:   []string{"5553", "5554", "5555"},
	}, {
		name:   "TestGCInOrder/retain two items",
		cfg:    knConfig(off, off, 2, 2),
		ledger: inOrder(),
		want:   []string{"5553", "5554"},
	}, {
		// Knative labels every revision a traffic target names active,
		// whatever its percent and whether or not it has a tag.
		name: "ebb/0%-pinned untagged is kept, whatever the config says",
		cfg:  knConfig(0, 0, 0, 0),
		ledger: knLedger("5556",
			knRev{name: "5554", state: "active", created: knOldest, percent: 0, staleStamp: true},
			knRev{name: "5555", state: "reserve", modified: knOlder},
			knRev{name: "5556", state: "active", modified: knOld, percent: 100}),
		want: []string{"5555"},
	}, {
		name: "ebb/0%-pinned tagged is kept",
		cfg:  knConfig(0, 0, 0, 0),
		ledger: knLedger("5556",
			knRev{name: "5554", state: "active", created: knOldest, percent: 0, tag: "old", staleStamp: true},
			knRev{name: "5556", state: "active", modified: knOld, percent: 100}),
	}, {
		name: "ebb/nothing reserved → nothing collected, whatever the config says",
		cfg:  knConfig(0, 0, 0, 0),
		ledger: knLedger("5556",
			knRev{name: "5553", state: "pending", created: knOld5},
			knRev{name: "5554", state: "", created: knOld4},
			knRev{name: "5555", state: "active", created: knOldest, percent: 0, staleStamp: true},
			knRev{name: "5556", state: "active", modified: knOld, percent: 100}),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collected(Decide(tt.ledger, tt.cfg, knNow))
			slices.Sort(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("collected (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRolloutsPinRevisions: a revision that a rollout in progress splits
// traffic to is kept, though the ledger's traffic may not name it; once
// the rollout is over it is reserve like any other.
func TestRolloutsPinRevisions(t *testing.T) {
	cfg := knConfig(0, 0, 0, 0)
	retired := func(l *serving.Ledger, names ...string) *serving.Ledger {
		for i := range l.Revisions {
			if slices.Contains(names, l.Revisions[i].Name) {
				l.Revisions[i].Retired = &serving.Stamp{Commit: "c", Time: metav1.NewTime(knOldest)}
			}
		}
		return l
	}
	base := func() *serving.Ledger {
		return retired(knLedger("web-3",
			knRev{name: "web-1", state: "pending"},
			knRev{name: "web-2", state: "pending"},
			knRev{name: "web-3", state: "active", percent: 100}), "web-1", "web-2")
	}
	gradual := base()
	gradual.Gradual = &rollout.Rollout{Configurations: []rollout.ConfigurationRollout{{ConfigurationName: "web", Percent: 100,
		Revisions: []rollout.RevisionRollout{{RevisionName: "web-2", Percent: 60}, {RevisionName: "web-3", Percent: 40}}}}}
	progressing := base()
	progressing.Rollout = &canary.State{Stable: "web-1", Canary: "web-3", Phase: canary.Progressing}
	promoted := base()
	promoted.Rollout = &canary.State{Stable: "web-1", Canary: "web-3", Phase: canary.Promoted}

	for _, tt := range []struct {
		name   string
		ledger *serving.Ledger
		want   []string
	}{
		{"no rollout", base(), []string{"web-1", "web-2"}},
		{"gradual rollout in progress", gradual, []string{"web-1"}},
		{"analysed rollout in progress", progressing, []string{"web-2"}},
		{"analysed rollout promoted", promoted, []string{"web-1", "web-2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, collected(Decide(tt.ledger, cfg, knNow))); diff != "" {
				t.Errorf("collected (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRetirementFirstSeen: a revision retired with no time recorded (a
// plain directory planned without a clock, stamped at the Unix epoch)
// counts from the first collection that sees it, which records that time;
// it goes only once the retain time has passed since.
func TestRetirementFirstSeen(t *testing.T) {
	cfg := knConfig(off, time.Hour, 0, -1)
	epoch := serving.Stamp{Commit: "uncommitted", Time: metav1.NewTime(time.Unix(0, 0).UTC())}
	l := knLedger("hello-00002",
		knRev{name: "hello-00001", state: "reserve"},
		knRev{name: "hello-00002", state: "active", percent: 100})
	l.Revisions[0].Created, l.Revisions[0].Retired = epoch, epoch.DeepCopy()

	first := knNow.Add(500 * time.Millisecond)
	res := Collect([]*serving.Ledger{l}, cfg, first)
	if len(res.Collected) != 0 || len(res.Ledgers) != 1 {
		t.Fatalf("first run: collected %v, changed %d ledgers; want none collected, one ledger recorded", res.Collected, len(res.Ledgers))
	}
	if diff := cmp.Diff([]string{"hello-00001"}, res.FirstSeen); diff != "" {
		t.Errorf("first seen (-want +got):\n%s", diff)
	}
	if want := "ebb gc: first saw hello-00001 (no time recorded)"; res.Message() != want {
		t.Errorf("message %q, want %q", res.Message(), want)
	}
	rec := res.Ledgers[0].Revisions[0]
	if got := rec.Retired.Time.Time; !got.Equal(knNow) {
		t.Errorf("recorded retirement at %v, want %v", got, knNow)
	}
	if rec.Created.Known() {
		t.Errorf("creation recorded at %v though retain-since-create-time is disabled", rec.Created.Time)
	}
	if !l.Revisions[0].Retired.Time.Equal(&epoch.Time) {
		t.Error("Collect changed its input")
	}

	for _, tt := range []struct {
		after time.Duration
		want  []string
	}{{30 * time.Minute, nil}, {59 * time.Minute, nil}, {time.Hour, []string{"hello-00001"}}} {
		res := Collect(res.Ledgers, cfg, knNow.Add(tt.after))
		var got []string
		for _, v := range res.Collected {
			got = append(got, v.Revision)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%v after it was first seen: collected (-want +got):\n%s", tt.after, diff)
		}
		if len(res.FirstSeen) != 0 {
			t.Errorf("%v after: first seen again %v", tt.after, res.FirstSeen)
		}
	}

	// Without the record, every run counts from its own now: never old.
	if res := Collect([]*serving.Ledger{l}, cfg, knNow.Add(48*time.Hour)); len(res.Collected) != 0 {
		t.Errorf("an unrecorded retirement was collected: %v", res.Collected)
	}
	// With retain-since-create-time, an unknown creation is recorded too.
	withCreate := knConfig(time.Hour, time.Hour, 0, -1)
	res = Collect([]*serving.Ledger{l}, withCreate, first)
	if c := res.Ledgers[0].Revisions[0].Created; !c.Time.Time.Equal(knNow) {
		t.Errorf("creation recorded at %v, want %v", c.Time, knNow)
	}
}
