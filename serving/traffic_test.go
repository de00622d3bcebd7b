package serving

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/serving/traffic"
)

// TestMainSplit: the main host's split holds every target with a share,
// tagged or not, a revision listed twice summed where it is first listed
// (latestRevision if either is); a target at 0 % is left out.
func TestMainSplit(t *testing.T) {
	got := MainSplit([]Target{
		{RevisionName: "a-2", LatestRevision: true, Percent: 50},
		{RevisionName: "a-1", Percent: 30, Tag: "old"},
		{RevisionName: "a-2", Percent: 20, Tag: "new"},
		{RevisionName: "a-3", Percent: 0, Tag: "next"},
	})
	want := []Target{
		{RevisionName: "a-2", LatestRevision: true, Percent: 70},
		{RevisionName: "a-1", Percent: 30},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("MainSplit (-want +got):\n%s", d)
	}
}

// TestShare: a revision's share is its MainSplit entry, tagged targets
// and a revision listed twice counted, 0 for one at 0 % or not routed.
func TestShare(t *testing.T) {
	targets := []Target{
		{RevisionName: "a-2", LatestRevision: true, Percent: 50},
		{RevisionName: "a-1", Percent: 30, Tag: "old"},
		{RevisionName: "a-2", Percent: 20, Tag: "new"},
		{RevisionName: "a-3", Percent: 0, Tag: "next"},
	}
	for rev, want := range map[string]traffic.Percent{"a-2": 70, "a-1": 30, "a-3": 0, "a-4": 0} {
		if got := Share(targets, rev); got != want {
			t.Errorf("Share(%s) = %d, want %d", rev, got, want)
		}
	}
}
