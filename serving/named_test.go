package serving

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRetireFollowsRoutingStates plans steps and checks, after the last,
// which commit retired each revision ("" for none): Knative's routing
// states pending → active → reserve, read from the ledger.
func TestRetireFollowsRoutingStates(t *testing.T) {
	tests := []struct {
		name  string
		steps [][]*Service
		want  map[string]string
	}{{
		name: "a revision pinned at 0% without a tag is named, not retired",
		steps: [][]*Service{
			{svc("a")},
			{svc("b", routes(pin("hello-00001", 0, ""), latest(100, "")))},
		},
		want: map[string]string{"hello-00001": "", "hello-00002": ""},
	}, {
		name: "retired when the last target naming it goes, not when its share went to 0%",
		steps: [][]*Service{
			{svc("a")},
			{svc("b", routes(pin("hello-00001", 0, ""), latest(100, "")))},
			{svc("b")},
		},
		want: map[string]string{"hello-00001": "ccc", "hello-00002": ""},
	}, {
		name: "a revision no route ever named stays pending when it is no longer the latest",
		steps: [][]*Service{
			{svc("a")},
			{svc("b", routes(pin("hello-00001", 100, "")))},
			{svc("c", routes(pin("hello-00001", 100, "")))},
		},
		want: map[string]string{"hello-00001": "", "hello-00002": "", "hello-00003": ""},
	}, {
		name: "the latest is retired when the routes stop naming it",
		steps: [][]*Service{
			{svc("a")},
			{svc("b")},
			{svc("b", routes(pin("hello-00001", 100, "")))},
		},
		want: map[string]string{"hello-00001": "", "hello-00002": "ccc"},
	}, {
		name: "a latestRevision target names the latest before it is ready",
		steps: [][]*Service{
			{svc("a", routes(pin("hello-00001", 100, "")))},
			{svc("b", routes(pin("hello-00001", 50, ""), latest(50, "")))},
			{svc("c", routes(pin("hello-00001", 50, ""), latest(50, "")))},
		},
		want: map[string]string{"hello-00001": "", "hello-00002": "ccc", "hello-00003": ""},
	}, {
		name: "a tag names its revision",
		steps: [][]*Service{
			{svc("a")},
			{svc("b", routes(pin("hello-00001", 0, "old"), latest(100, "")))},
			{svc("c", routes(pin("hello-00001", 0, "old"), latest(100, "")))},
		},
		want: map[string]string{"hello-00001": "", "hello-00002": "ccc", "hello-00003": ""},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ledgers, err := run(t, tt.steps)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, r := range ledgers[0].Revisions {
				got[r.Name] = ""
				if r.Retired != nil {
					got[r.Name] = r.Retired.Commit
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("retired by commit (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStampKnown(t *testing.T) {
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{
		{time.Time{}, false},
		{time.Unix(0, 0).UTC(), false},
		{time.Unix(1, 0), true},
		{time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC), true},
	} {
		if got := (Stamp{Commit: "uncommitted", Time: metav1.NewTime(tt.at)}).Known(); got != tt.want {
			t.Errorf("Stamp at %v: Known() = %v, want %v", tt.at, got, tt.want)
		}
	}
}
