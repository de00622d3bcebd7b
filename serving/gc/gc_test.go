package gc

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
	"github.com/ebb-dev/ebb/serving/traffic"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func stamp(h int) serving.Stamp {
	return serving.Stamp{Commit: fmt.Sprintf("c%d", h), Time: metav1.NewTime(t0.Add(time.Duration(h) * time.Hour))}
}

func stampPtr(h int) *serving.Stamp { s := stamp(h); return &s }

// rev is a revision created at hour created and retired at hour retired
// (-1: never retired).
func rev(gen int64, created, retired int) serving.Revision {
	r := serving.Revision{Name: serving.RevisionName("hello", gen), Generation: gen, Created: stamp(created)}
	if retired >= 0 {
		r.Retired = stampPtr(retired)
	}
	return r
}

func ledger(latest int64, targets []serving.Target, revs ...serving.Revision) *serving.Ledger {
	return &serving.Ledger{Namespace: "default", Service: "hello", Generation: latest,
		Latest: serving.RevisionName("hello", latest), Revisions: revs, Traffic: targets}
}

func to(gen int64, percent traffic.Percent, tag string) serving.Target {
	return serving.Target{RevisionName: serving.RevisionName("hello", gen), Percent: percent, Tag: tag}
}

func gcConfig(t *testing.T, data map[string]string) *config.GC {
	t.Helper()
	c, err := config.NewGCFromMap(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func collected(vs []Verdict) []string {
	var out []string
	for _, v := range vs {
		if v.Collect {
			out = append(out, v.Revision)
		}
	}
	return out
}

func names(gens ...int64) []string {
	var out []string
	for _, g := range gens {
		out = append(out, serving.RevisionName("hello", g))
	}
	return out
}

// fiveRevisions: 1..3 retired long ago, 4 routed at 100%, 5 latest and
// not routed (traffic pinned to 4).
func fiveRevisions() *serving.Ledger {
	return ledger(5, []serving.Target{to(4, 100, "")},
		rev(1, 0, 10), rev(2, 10, 20), rev(3, 20, 30), rev(4, 30, -1), rev(5, 40, 40))
}

func TestDecide(t *testing.T) {
	now := t0.Add(100 * time.Hour)
	tests := []struct {
		name   string
		cfg    map[string]string
		ledger *serving.Ledger
		now    time.Time
		want   []string
	}{{
		name:   "defaults keep up to 20 non-active revisions",
		ledger: fiveRevisions(),
		now:    now,
		want:   nil,
	}, {
		name: "collect immediately (min 0, max 0, times disabled)",
		cfg: map[string]string{"min-non-active-revisions": "0", "max-non-active-revisions": "0",
			"retain-since-create-time": "disabled", "retain-since-last-active-time": "disabled"},
		ledger: fiveRevisions(),
		now:    now,
		want:   names(1, 2, 3),
	}, {
		name: "keep only the newest two (times disabled, max 2)",
		cfg: map[string]string{"min-non-active-revisions": "0", "max-non-active-revisions": "2",
			"retain-since-create-time": "disabled", "retain-since-last-active-time": "disabled"},
		ledger: fiveRevisions(),
		now:    now,
		want:   names(1),
	}, {
		name: "disabled",
		cfg: map[string]string{"min-non-active-revisions": "0", "max-non-active-revisions": "disabled",
			"retain-since-create-time": "disabled", "retain-since-last-active-time": "disabled"},
		ledger: fiveRevisions(),
		now:    now,
		want:   nil,
	}, {
		name:   "stale by last-active time only, down to min",
		cfg:    map[string]string{"min-non-active-revisions": "1", "retain-since-create-time": "disabled", "retain-since-last-active-time": "75h"},
		ledger: fiveRevisions(),
		now:    now, // revisions retired at 10 and 20 are 90h and 80h inactive, the one at 30 only 70h
		want:   names(1, 2),
	}, {
		name:   "min stops the stale pass",
		cfg:    map[string]string{"min-non-active-revisions": "2", "retain-since-create-time": "disabled", "retain-since-last-active-time": "1h"},
		ledger: fiveRevisions(),
		now:    now,
		want:   names(1),
	}, {
		name:   "both times must pass when both are enabled",
		cfg:    map[string]string{"min-non-active-revisions": "0", "retain-since-create-time": "85h", "retain-since-last-active-time": "1h"},
		ledger: fiveRevisions(),
		now:    now, // created at 0 and 10 are 100h and 90h old; created at 20 is 80h old
		want:   names(1, 2),
	}, {
		name:   "max overrides retain times",
		cfg:    map[string]string{"min-non-active-revisions": "0", "max-non-active-revisions": "1", "retain-since-create-time": "1000h"},
		ledger: fiveRevisions(),
		now:    now,
		want:   names(1, 2),
	}, {
		name: "tags, routes, latest and no-gc are never collected",
		cfg: map[string]string{"min-non-active-revisions": "0", "max-non-active-revisions": "0",
			"retain-since-create-time": "disabled", "retain-since-last-active-time": "disabled"},
		ledger: func() *serving.Ledger {
			l := ledger(5, []serving.Target{to(4, 100, ""), to(2, 0, "old")},
				rev(1, 0, 10), rev(2, 10, -1), rev(3, 20, 30), rev(4, 30, -1), rev(5, 40, -1))
			l.Revisions[2].Template.Annotations = map[string]string{NoGCAnnotation: "TRUE"}
			return l
		}(),
		now:  now,
		want: names(1),
	}, {
		name: "a removed Service has no latest and no minimum",
		cfg:  map[string]string{"retain-since-create-time": "disabled", "retain-since-last-active-time": "15h"},
		ledger: func() *serving.Ledger {
			l := ledger(2, nil, rev(1, 0, 50), rev(2, 10, 50))
			l.Removed = stampPtr(50)
			return l
		}(),
		now:  t0.Add(65 * time.Hour),
		want: names(1, 2),
	}, {
		name: "a removed Service within the retain time stays",
		cfg:  map[string]string{"retain-since-create-time": "disabled", "retain-since-last-active-time": "15h"},
		ledger: func() *serving.Ledger {
			l := ledger(2, nil, rev(1, 0, 50), rev(2, 10, 50))
			l.Removed = stampPtr(50)
			return l
		}(),
		now:  t0.Add(64 * time.Hour),
		want: nil,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collected(Decide(tt.ledger, gcConfig(t, tt.cfg), tt.now))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("collected (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecideExplainsEveryRevision(t *testing.T) {
	cfg := gcConfig(t, map[string]string{"min-non-active-revisions": "1", "retain-since-create-time": "disabled", "retain-since-last-active-time": "75h"})
	got := Decide(fiveRevisions(), cfg, t0.Add(100*time.Hour))
	want := []Verdict{
		{Revision: "hello-00001", Collect: true, Why: "inactive for 75h0m0s or more"},
		{Revision: "hello-00002", Collect: true, Why: "inactive for 75h0m0s or more"},
		{Revision: "hello-00003", Why: "within min-non-active-revisions (1)"},
		{Revision: "hello-00004", Why: "routed (100%)"},
		{Revision: "hello-00005", Why: "latest revision"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
}

func TestCollect(t *testing.T) {
	cfg := gcConfig(t, map[string]string{"min-non-active-revisions": "0", "retain-since-create-time": "disabled", "retain-since-last-active-time": "15h"})
	live := fiveRevisions()
	removed := ledger(1, nil, rev(1, 0, 50))
	removed.Service, removed.Latest, removed.Revisions[0].Name = "gone", "gone-00001", "gone-00001"
	removed.Removed = stampPtr(50)
	untouched := ledger(1, []serving.Target{to(1, 100, "")}, rev(1, 0, -1))
	untouched.Service = "steady"
	before := live.DeepCopy()

	res := Collect([]*serving.Ledger{live, removed, untouched}, cfg, t0.Add(100*time.Hour))

	if diff := cmp.Diff(before, live); diff != "" {
		t.Fatalf("Collect modified its input (-before +after):\n%s", diff)
	}
	if len(res.Ledgers) != 1 || res.Ledgers[0].Service != "hello" {
		t.Fatalf("changed ledgers: %+v", res.Ledgers)
	}
	var kept []string
	for _, r := range res.Ledgers[0].Revisions {
		kept = append(kept, r.Name)
	}
	if diff := cmp.Diff(names(4, 5), kept); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	if len(res.Deleted) != 1 || res.Deleted[0].Service != "gone" {
		t.Errorf("deleted ledgers: %+v", res.Deleted)
	}
	want := "ebb gc: removed hello-00001, hello-00002, hello-00003, gone-00001 (inactive for 15h0m0s or more)"
	if got := res.Message(); got != want {
		t.Errorf("message:\n got %q\nwant %q", got, want)
	}
	if res := Collect([]*serving.Ledger{untouched}, cfg, t0.Add(100*time.Hour)); !res.Empty() || res.Message() != "" {
		t.Errorf("nothing to collect, got %+v", res)
	}
}

// TestNeverCollectsWhatIsInUse checks, over random ledgers and
// configurations, that no routed, tagged, latest or no-gc revision is
// collected, and that staleness alone never takes the non-active count
// below the minimum.
func TestNeverCollectsWhatIsInUse(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	durations := []string{"disabled", "0s", "1h", "15h", "48h", "200h"}
	for i := range 3000 {
		n := 1 + rng.IntN(30)
		var revs []serving.Revision
		for g := 1; g <= n; g++ {
			created := rng.IntN(300)
			retired := -1
			if rng.IntN(4) > 0 {
				retired = created + rng.IntN(100)
			}
			r := rev(int64(g), created, retired)
			if rng.IntN(10) == 0 {
				r.Template.Annotations = map[string]string{NoGCAnnotation: "true"}
			}
			revs = append(revs, r)
		}
		var targets []serving.Target
		for range rng.IntN(4) {
			tag := ""
			if rng.IntN(2) == 0 {
				tag = fmt.Sprintf("t%d", rng.IntN(5))
			}
			targets = append(targets, to(int64(1+rng.IntN(n)), traffic.Percent(rng.IntN(2)*rng.IntN(100)), tag))
		}
		l := ledger(int64(1+rng.IntN(n)), targets, revs...)
		if rng.IntN(8) == 0 {
			l.Removed = stampPtr(300)
		}
		min := rng.IntN(25)
		data := map[string]string{
			"min-non-active-revisions":      fmt.Sprint(min),
			"retain-since-create-time":      durations[rng.IntN(len(durations))],
			"retain-since-last-active-time": durations[rng.IntN(len(durations))],
			"max-non-active-revisions":      "disabled",
		}
		overMax := rng.IntN(2) == 0
		if overMax {
			data["max-non-active-revisions"] = fmt.Sprint(min + rng.IntN(10))
		}
		cfg := gcConfig(t, data)
		verdicts := Decide(l, cfg, t0.Add(time.Duration(rng.IntN(500))*time.Hour))

		nonActive, left := 0, 0
		for j, v := range verdicts {
			r := l.Revisions[j]
			inUse := active(l, &r, l.Named()) != ""
			if v.Collect && inUse {
				t.Fatalf("case %d: collected %s: %s", i, r.Name, active(l, &r, l.Named()))
			}
			if v.Collect && strings.Contains(v.Why, "max") && !overMax {
				t.Fatalf("case %d: %s collected for max with max disabled", i, r.Name)
			}
			if !inUse {
				nonActive++
				if !v.Collect {
					left++
				}
			}
		}
		floor := min
		if l.Removed != nil {
			floor = 0
		}
		if !overMax && left < floor && left < nonActive {
			t.Fatalf("case %d: %d non-active revisions left of %d, below min %d", i, left, nonActive, floor)
		}
	}
}

// TestLatestReadyIsKept: the latest ready revision is kept like the
// latest, even unrouted and retired long ago.
func TestLatestReadyIsKept(t *testing.T) {
	l := fiveRevisions()
	l.LatestReady = serving.RevisionName("hello", 2)
	vs := Decide(l, gcConfig(t, map[string]string{"retain-since-create-time": "1h", "retain-since-last-active-time": "1h",
		"min-non-active-revisions": "0", "max-non-active-revisions": "disabled"}), t0.Add(100*time.Hour))
	if diff := cmp.Diff(names(1, 3), collected(vs)); diff != "" {
		t.Errorf("collected (-want +got):\n%s", diff)
	}
	for _, v := range vs {
		if v.Revision == l.LatestReady && v.Why != "latest ready revision" {
			t.Errorf("%s kept because %q", v.Revision, v.Why)
		}
	}
}
