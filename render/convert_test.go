package render

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestToMapMatchesConverter holds the renderer's converter to
// runtime.DefaultUnstructuredConverter on every typed object of renders
// that use every builder and every ingress class.
func TestToMapMatchesConverter(t *testing.T) {
	var mu sync.Mutex
	seen := 0
	check := func(typed any, got map[string]any) {
		mu.Lock()
		seen++
		mu.Unlock()
		want, err := runtime.DefaultUnstructuredConverter.ToUnstructured(typed)
		if err != nil {
			t.Fatal(err)
		}
		dropNoise(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%T: toMap differs from the converter (-want +got):\n%s", typed, diff)
		}
	}
	for _, in := range richInputs() {
		if _, err := render(in, check); err != nil {
			t.Fatal(err)
		}
	}
	if seen == 0 {
		t.Fatal("no typed object was rendered")
	}
}
