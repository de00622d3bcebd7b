package rollout

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestHeldAt follows the 20 s rollout of TestPlanTwentySeconds (1 %, then
// 5 % a second from 2 s on) as an edge reports it: a share not programmed
// holds the split where the edge carries it, a programmed one lets it
// move one step further, never past the plan's time.
func TestHeldAt(t *testing.T) {
	plan, _ := Plan(Desired("hello", "hello-00001", 100), Desired("hello", "hello-00002", 100), t0, 20*time.Second)
	for _, tc := range []struct {
		name string
		now  float64
		edge Programmed
		want []RevisionRollout
	}{
		{"previous revision programmed: the plan's start, 1 %", 10, Programmed{"hello-00001", 100, true}, revs("hello-00001", 99, "hello-00002", 1)},
		{"previous revision not programmed: the plan's start", 10, Programmed{"hello-00001", 100, false}, revs("hello-00001", 99, "hello-00002", 1)},
		{"nothing reported: the plan's start", 10, Programmed{}, revs("hello-00001", 99, "hello-00002", 1)},
		{"1 % not programmed: hold", 10, Programmed{"hello-00002", 1, false}, revs("hello-00001", 99, "hello-00002", 1)},
		{"1 % programmed: one step", 10, Programmed{"hello-00002", 1, true}, revs("hello-00001", 94, "hello-00002", 6)},
		{"6 % not programmed: hold", 10, Programmed{"hello-00002", 6, false}, revs("hello-00001", 94, "hello-00002", 6)},
		{"6 % programmed: one step", 10, Programmed{"hello-00002", 6, true}, revs("hello-00001", 89, "hello-00002", 11)},
		{"programmed ahead of the plan's time: the plan's time", 1.5, Programmed{"hello-00002", 1, true}, revs("hello-00001", 99, "hello-00002", 1)},
		{"programmed, step not due yet: the plan's time", 2.5, Programmed{"hello-00002", 6, true}, revs("hello-00001", 94, "hello-00002", 6)},
		{"96 % not programmed: the end waits", 30, Programmed{"hello-00002", 96, false}, revs("hello-00001", 4, "hello-00002", 96)},
		{"96 % programmed: the last step", 30, Programmed{"hello-00002", 96, true}, revs("hello-00002", 100)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := at(tc.now)
			held := HeldAt(plan, "hello", now, tc.edge)
			if held.After(now) {
				t.Errorf("HeldAt = %v, after now %v", held, now)
			}
			got := SplitAt(plan, held).Configurations[0].Revisions
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("split (-want +got):\n%s", diff)
			}
		})
	}
	// A plan with no rollout of the configuration holds nothing.
	if now := at(10); !HeldAt(plan, "other", now, Programmed{}).Equal(now) || !HeldAt(Rollout{}, "hello", now, Programmed{}).Equal(now) {
		t.Error("HeldAt of a configuration not rolling out is not now")
	}
}
