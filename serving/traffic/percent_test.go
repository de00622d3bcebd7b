package traffic

import (
	"encoding/json"
	"testing"
)

func TestValid(t *testing.T) {
	for p, want := range map[Percent]bool{-1: false, 0: true, 1: true, 100: true, 101: false} {
		if got := p.Valid(); got != want {
			t.Errorf("Percent(%d).Valid() = %t, want %t", p, got, want)
		}
	}
}

// TestEncoding: a percent is written and read as a plain integer, as the
// route table, the ledger and the rollout annotation carry it.
func TestEncoding(t *testing.T) {
	b, err := json.Marshal(struct {
		Percent Percent `json:"percent"`
	}{10})
	if err != nil || string(b) != `{"percent":10}` {
		t.Errorf("Marshal = %s, %v; want {\"percent\":10}", b, err)
	}
	var p Percent
	if err := json.Unmarshal([]byte("90"), &p); err != nil || p != 90 {
		t.Errorf("Unmarshal(90) = %d, %v; want 90", p, err)
	}
}

func TestWeights(t *testing.T) {
	if got := Percent(90).Int32(); got != 90 {
		t.Errorf("Int32 = %d, want 90", got)
	}
	if got := Percent(10).Int64(); got != 10 {
		t.Errorf("Int64 = %d, want 10", got)
	}
}
