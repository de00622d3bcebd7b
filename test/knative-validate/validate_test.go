package knativevalidate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAgreement runs the corpus through Knative's validation and ebb's
// loader: both must accept or reject each case alike, naming the same
// field paths with the same messages, except in the cases marked as
// deliberate differences, which must differ. The figure is logged:
// go test -run TestAgreement -v .
func TestAgreement(t *testing.T) {
	corpus := Corpus()
	var agree, accepted, differs, sameMessages int
	for _, c := range corpus {
		kn, err := Knative(c)
		if err != nil {
			t.Fatalf("%s: Knative: %v", c.Name, err)
		}
		eb, err := Ebb(c)
		if err != nil {
			t.Fatalf("%s: ebb: %v", c.Name, err)
		}
		same := cmp.Equal(kn.Paths, eb.Paths)
		if c.Differs != "" {
			differs++
			if same {
				t.Errorf("%s: marked as a deliberate difference (%s), but both answer %v", c.Name, c.Differs, kn.Paths)
			}
			continue
		}
		if !same {
			t.Errorf("%s: field paths (-knative +ebb):\n%s\nKnative: %q\nebb: %q", c.Name, cmp.Diff(kn.Paths, eb.Paths), kn.Messages, eb.Messages)
			continue
		}
		agree++
		if kn.Accepted() {
			accepted++
		}
		if cmp.Equal(kn.Messages, eb.Messages) {
			sameMessages++
		} else {
			t.Errorf("%s: messages (-knative +ebb):\n%s", c.Name, cmp.Diff(kn.Messages, eb.Messages))
		}
	}
	compared := len(corpus) - differs
	t.Logf("corpus: %d cases; %d compared, %d agree (%d accepted by both, %d rejected by both with the same field paths, %d of them with the same messages); %d marked as deliberate differences",
		len(corpus), compared, agree, accepted, agree-accepted, sameMessages-accepted, differs)
	if len(corpus) < 300 {
		t.Errorf("corpus has %d cases, want several hundred", len(corpus))
	}
}
