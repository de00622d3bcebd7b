package engine

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
	"github.com/ebb-dev/ebb/serving/gc"
)

type recordingWriter struct {
	changed, deleted []*serving.Ledger
	messages         []string
}

func (w *recordingWriter) WriteLedgers(_ context.Context, changed, deleted []*serving.Ledger, msg string) error {
	w.changed, w.deleted = append(w.changed, changed...), append(w.deleted, deleted...)
	w.messages = append(w.messages, msg)
	return nil
}

// retiredState holds hello-00001, retired at t0+1h, which config-gc
// collects two hours after.
func retiredState(t *testing.T, t0 time.Time) *Desired {
	t.Helper()
	at := func(h int) serving.Stamp {
		return serving.Stamp{Commit: "c", Time: metav1.NewTime(t0.Add(time.Duration(h) * time.Hour))}
	}
	retired := at(1)
	l := testLedger("hello", 2)
	l.Revisions = []serving.Revision{
		{Name: "hello-00001", Generation: 1, Created: at(0), Retired: &retired},
		{Name: "hello-00002", Generation: 2, Created: at(1)},
	}
	l.Traffic = []serving.Target{{RevisionName: "hello-00002", Percent: 100, LatestRevision: true}}
	cfg := config.Default()
	var err error
	if cfg.GC, err = config.NewGCFromMap(map[string]string{"min-non-active-revisions": "0", "retain-since-create-time": "disabled", "retain-since-last-active-time": "2h"}); err != nil {
		t.Fatal(err)
	}
	return &Desired{Tree: &serving.Tree{Config: cfg}, Ledgers: []*serving.Ledger{l}}
}

func TestCollectGarbage(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := retiredState(t, t0)
	w := &recordingWriter{}
	res, err := CollectGarbage(context.Background(), d, w, t0.Add(2*time.Hour))
	if err != nil || !res.Empty() || len(w.messages) != 0 {
		t.Fatalf("within the retain time: %+v, %v, writes %v", res, err, w.messages)
	}
	res, err = CollectGarbage(context.Background(), d, w, t0.Add(3*time.Hour))
	if err != nil || res.Empty() {
		t.Fatalf("past the retain time: %+v, %v", res, err)
	}
	if len(w.changed) != 1 || len(w.changed[0].Revisions) != 1 || w.changed[0].Revisions[0].Name != "hello-00002" {
		t.Errorf("written ledger %+v", w.changed)
	}
	if want := "ebb gc: removed hello-00001 (inactive for 2h0m0s or more)"; len(w.messages) != 1 || w.messages[0] != want {
		t.Errorf("messages %q, want %q", w.messages, want)
	}
	if len(d.Ledgers[0].Revisions) != 2 {
		t.Error("CollectGarbage changed the desired state it was given")
	}
}

// gcState is a state whose config-gc runs on schedule ("" disables
// collection).
func gcState(t *testing.T, schedule string) *Desired {
	t.Helper()
	m := map[string]string{"schedule": schedule}
	if schedule == "" {
		m = map[string]string{"max-non-active-revisions": "disabled", "retain-since-create-time": "disabled", "retain-since-last-active-time": "disabled"}
	}
	cfg := config.Default()
	var err error
	if cfg.GC, err = config.NewGCFromMap(m); err != nil {
		t.Fatal(err)
	}
	return &Desired{Tree: &serving.Tree{Config: cfg}}
}

func TestGCFollowsTheSchedule(t *testing.T) {
	// Run reads time.Now: inside a synctest bubble, the bubble's fake time.
	synctest.Test(t, func(t *testing.T) {
		state := gcState(t, "@every 10s")
		g := &GC{State: func() *Desired { return state }}
		g.Note(state)
		var mu sync.Mutex
		var runs []time.Time
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		done := make(chan struct{})
		go func() {
			g.Run(ctx, func(now time.Time) {
				mu.Lock()
				defer mu.Unlock()
				runs = append(runs, now)
			})
			close(done)
		}()
		// advance lets d pass and checks the runs so far.
		advance := func(d time.Duration, want int, what string) {
			t.Helper()
			time.Sleep(d)
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			if len(runs) != want {
				t.Fatalf("%s: %d runs, want %d", what, len(runs), want)
			}
		}
		advance(35*time.Second, 3, "35s of every 10s")
		mu.Lock()
		if first := runs[0].Sub(start); first != 10*time.Second {
			t.Errorf("first run %s after start, want 10s", first)
		}
		mu.Unlock()
		// A pass that plans the same schedule changes nothing.
		advance(4*time.Second, 3, "39s")
		g.Note(gcState(t, "@every 10s"))
		advance(1500*time.Millisecond, 4, "40.5s, the schedule noted again at 39s")
		// A new schedule takes effect at once.
		state = gcState(t, "@every 1s")
		g.Note(state)
		advance(3200*time.Millisecond, 7, "3.2s of every second")
		// No schedule: nothing runs.
		state = gcState(t, "")
		g.Note(state)
		advance(time.Minute, 7, "a minute without a schedule")
		cancel()
		<-done
	})
}

type failingWriter struct{}

func (failingWriter) WriteLedgers(context.Context, []*serving.Ledger, []*serving.Ledger, string) error {
	return errors.New("push refused")
}

// GC.Collect reports what removed revisions or failed, and says whether
// a pass must apply a removal.
func TestGCCollect(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type report struct {
		Message, Err string
	}
	for _, tc := range []struct {
		name    string
		state   bool
		writer  LedgerWriter
		at      time.Duration
		want    bool
		reports []report
	}{
		{"no state yet", false, &recordingWriter{}, 3 * time.Hour, false, nil},
		{"nothing to collect", true, &recordingWriter{}, 2 * time.Hour, false, nil},
		{"a revision collected", true, &recordingWriter{}, 3 * time.Hour, true,
			[]report{{Message: "ebb gc: removed hello-00001 (inactive for 2h0m0s or more)"}}},
		{"the write fails", true, failingWriter{}, 3 * time.Hour, false, []report{{Err: "push refused"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d *Desired
			if tc.state {
				d = retiredState(t, t0)
			}
			var got []report
			g := &GC{State: func() *Desired { return d }, Writer: tc.writer, Report: func(res *gc.Result, err error) {
				if err != nil {
					got = append(got, report{Err: err.Error()})
					return
				}
				got = append(got, report{Message: res.Message()})
			}}
			if collected := g.Collect(context.Background(), t0.Add(tc.at)); collected != tc.want {
				t.Errorf("Collect = %v, want %v", collected, tc.want)
			}
			if diff := cmp.Diff(tc.reports, got); diff != "" {
				t.Errorf("reports (-want +got):\n%s", diff)
			}
		})
	}
}
