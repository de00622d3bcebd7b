package engine

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
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

func TestCollectGarbage(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
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
	d := &Desired{Tree: &serving.Tree{Config: cfg}, Ledgers: []*serving.Ledger{l}}

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
		var runs []time.Time
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		done := make(chan struct{})
		go func() {
			g.Run(ctx, func(now time.Time) { runs = append(runs, now) })
			close(done)
		}()
		time.Sleep(35 * time.Second)
		synctest.Wait()
		if len(runs) != 3 || runs[0].Sub(start) != 10*time.Second {
			t.Fatalf("runs at %v after start, want 3 from 10s", runs)
		}
		// A pass that plans the same schedule changes nothing.
		time.Sleep(4 * time.Second)
		g.Note(gcState(t, "@every 10s"))
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		if len(runs) != 4 {
			t.Fatalf("%d runs 40.5s after start with the schedule noted again at 39s, want 4", len(runs))
		}
		// A new schedule takes effect at once.
		state = gcState(t, "@every 1s")
		g.Note(state)
		time.Sleep(3200 * time.Millisecond)
		synctest.Wait()
		if len(runs) != 7 {
			t.Errorf("%d runs after switching to every second, want 7", len(runs))
		}
		// No schedule: nothing runs.
		state = gcState(t, "")
		g.Note(state)
		time.Sleep(time.Minute)
		synctest.Wait()
		if len(runs) != 7 {
			t.Errorf("%d runs without a schedule", len(runs))
		}
		cancel()
		<-done
	})
}
