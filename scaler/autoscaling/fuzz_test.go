package autoscaling

import (
	"strings"
	"testing"
)

// FuzzNewConfigFromMap: any data either parses into a configuration that
// validates, or is rejected with an error; nothing panics.
func FuzzNewConfigFromMap(f *testing.F) {
	f.Add("stable-window", "60s", "container-concurrency-target-percentage", "70")
	f.Add("max-scale-limit", "10", "max-scale", "11")
	f.Add("target-burst-capacity", "-1", "initial-scale", "0")
	f.Add("scale-down-delay", "1.5s", "panic-window-percentage", "NaN")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		c, err := NewConfigFromMap(map[string]string{k1: v1, k2: v2})
		if err != nil {
			if c != nil {
				t.Fatalf("error %v with a config", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config fails validation: %v", err)
		}
	})
}

// FuzzValidateAnnotations: validation never panics, and the values the
// scaler derives from annotations that pass are within Knative's bounds.
func FuzzValidateAnnotations(f *testing.F) {
	f.Add("min-scale", "3", "max-scale", "2")
	f.Add("initialScale", "0", "window", "5s")
	f.Add("target", "0.001", "target-utilization-percentage", "101")
	f.Add("activation-scale", "1", "panic-window-percentage", "1e309")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		ann := map[string]string{GroupName + "/" + k1: v1, GroupName + "/" + k2: v2}
		cfg := DefaultConfig()
		if errs := ValidateAnnotations(cfg, ann); len(errs) != 0 {
			for _, e := range errs {
				if !strings.HasPrefix(e.Key, GroupName+"/") || e.Message == "" {
					t.Fatalf("malformed error %+v", e)
				}
			}
			return
		}
		spec := NewDeciderSpec(cfg, ann, 0, true)
		if spec.TargetValue < TargetMin || spec.StableWindow < WindowMin || spec.StableWindow > WindowMax {
			t.Fatalf("valid annotations %v gave spec %+v", ann, spec)
		}
		if w := PanicWindow(cfg, ann); w < BucketSize || w > spec.StableWindow {
			t.Fatalf("valid annotations %v gave panic window %v", ann, w)
		}
		minScale, maxScale := MinMaxScale(cfg, ann, true)
		if maxScale != 0 && minScale > maxScale {
			t.Fatalf("valid annotations %v gave min %d > max %d", ann, minScale, maxScale)
		}
	})
}
