package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/serving"
)

func TestChangedLedgers(t *testing.T) {
	ledger := func(svc, latest string, revs []serving.Revision) *serving.Ledger {
		return &serving.Ledger{APIVersion: "ebb.dev/v1", Kind: "Ledger", Namespace: "default", Service: svc, Generation: 1, Latest: latest, Revisions: revs}
	}
	same := ledger("same", "same-00001", nil)
	prev := []*serving.Ledger{
		same,
		ledger("copy", "copy-00001", []serving.Revision{{Name: "copy-00001"}}),
		ledger("moved", "moved-00001", nil),
	}
	next := []*serving.Ledger{
		same, // the same pointer
		ledger("copy", "copy-00001", []serving.Revision{{Name: "copy-00001"}}), // an equal value
		ledger("moved", "moved-00002", nil),                                    // a change
		ledger("new", "new-00001", nil),                                        // not in prev
	}
	got, err := ChangedLedgers(prev, next)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range got {
		names = append(names, l.Service)
	}
	if diff := cmp.Diff([]string{"moved", "new"}, names); diff != "" {
		t.Errorf("changed ledgers (-want +got):\n%s", diff)
	}
}
