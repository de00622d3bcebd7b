package autoscaling

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateAnnotations(t *testing.T) {
	limited := DefaultConfig()
	limited.MaxScaleLimit = 10
	zeroOK := DefaultConfig()
	zeroOK.AllowZeroInitialScale = true
	hpa := DefaultConfig()
	hpa.PodAutoscalerClass = HPA

	tests := []struct {
		name string
		cfg  *Config
		ann  map[string]string
		want []AnnotationError
	}{{
		name: "empty",
		ann:  nil,
	}, {
		name: "all valid",
		ann: map[string]string{
			ClassAnnotationKey:                    KPA,
			MetricAnnotationKey:                   RPS,
			TargetAnnotationKey:                   "0.01",
			TargetUtilizationPercentageKey:        "100",
			MinScaleAnnotationKey:                 "2",
			MaxScaleAnnotationKey:                 "5",
			InitialScaleAnnotationKey:             "3",
			ActivationScaleKey:                    "3",
			WindowAnnotationKey:                   "6s",
			PanicWindowPercentageAnnotationKey:    "1",
			PanicThresholdPercentageAnnotationKey: "1000",
			TargetBurstCapacityKey:                "-1",
			ScaleDownDelayAnnotationKey:           "1h",
			ScaleToZeroPodRetentionPeriodKey:      "1h",
			MetricAggregationAlgorithmKey:         "weightedExponential",
			GroupName + "/something-new":          "ok",
		},
	}, {
		name: "custom class and its metric",
		ann:  map[string]string{ClassAnnotationKey: "example.com/mine", MetricAnnotationKey: "queue-length", MetricAggregationAlgorithmKey: "magic"},
	}, {
		name: "knative-domain class",
		ann:  map[string]string{ClassAnnotationKey: "foo.knative.dev"},
		want: []AnnotationError{{ClassAnnotationKey, "invalid value: foo.knative.dev"}},
	}, {
		name: "min scale not a number",
		ann:  map[string]string{MinScaleAnnotationKey: "one"},
		want: []AnnotationError{{MinScaleAnnotationKey, "invalid value: one"}},
	}, {
		name: "negative max scale, legacy key",
		ann:  map[string]string{legacyMaxScaleAnnotationKey: "-1"},
		want: []AnnotationError{{legacyMaxScaleAnnotationKey, "expected 0 <= -1 <= 2147483647"}},
	}, {
		name: "min scale out of int32 range",
		ann:  map[string]string{MinScaleAnnotationKey: "3000000000"},
		want: []AnnotationError{{MinScaleAnnotationKey, "expected 0 <= 3000000000 <= 2147483647"}},
	}, {
		name: "max below min",
		ann:  map[string]string{MinScaleAnnotationKey: "5", MaxScaleAnnotationKey: "4"},
		want: []AnnotationError{{MaxScaleAnnotationKey, "max-scale=4 is less than min-scale=5"}},
	}, {
		name: "kebab-case wins over alias",
		ann:  map[string]string{MinScaleAnnotationKey: "1", legacyMinScaleAnnotationKey: "9", MaxScaleAnnotationKey: "4"},
	}, {
		name: "max over limit",
		cfg:  limited,
		ann:  map[string]string{MaxScaleAnnotationKey: "11"},
		want: []AnnotationError{{MaxScaleAnnotationKey, "expected 1 <= 11 <= 10"}},
	}, {
		name: "unlimited max with a limit",
		cfg:  limited,
		ann:  map[string]string{MaxScaleAnnotationKey: "0"},
		want: []AnnotationError{{MaxScaleAnnotationKey, "max-scale=0 (unlimited), must be less than 10"}},
	}, {
		name: "activation scale below min",
		ann:  map[string]string{MinScaleAnnotationKey: "3", ActivationScaleKey: "2"},
		want: []AnnotationError{{ActivationScaleKey, "min-scale=3 is greater than activation-scale=2"}},
	}, {
		name: "activation scale above max",
		ann:  map[string]string{MaxScaleAnnotationKey: "3", ActivationScaleKey: "4"},
		want: []AnnotationError{{ActivationScaleKey, "max-scale=3 is less than activation-scale=4"}},
	}, {
		name: "activation scale one",
		ann:  map[string]string{ActivationScaleKey: "1"},
		want: []AnnotationError{{ActivationScaleKey, "activation-scale=1 must be greater than 1"}},
	}, {
		name: "activation scale garbage",
		ann:  map[string]string{ActivationScaleKey: "x"},
		want: []AnnotationError{{ActivationScaleKey, "invalid value: x"}},
	}, {
		name: "floats",
		ann: map[string]string{
			legacyPanicWindowPercentageKey:        "0.5",
			PanicThresholdPercentageAnnotationKey: "100",
			TargetAnnotationKey:                   "0.001",
			TargetUtilizationPercentageKey:        "101",
			TargetBurstCapacityKey:                "-2",
		},
		want: []AnnotationError{
			{legacyPanicWindowPercentageKey, "expected 1 <= 0.5 <= 100"},
			{PanicThresholdPercentageAnnotationKey, "expected 110 <= 100 <= 1000"},
			{TargetAnnotationKey, "target 0.001 should be at least 0.01"},
			{TargetUtilizationPercentageKey, "expected 1 <= 101 <= 100"},
			{TargetBurstCapacityKey, "invalid value: -2"},
		},
	}, {
		name: "floats not numbers",
		ann:  map[string]string{TargetAnnotationKey: "many", legacyTargetBurstCapacityKey: "lots"},
		want: []AnnotationError{
			{TargetAnnotationKey, "invalid value: many"},
			{legacyTargetBurstCapacityKey, "invalid value: lots"},
		},
	}, {
		name: "window too short",
		ann:  map[string]string{WindowAnnotationKey: "5s"},
		want: []AnnotationError{{WindowAnnotationKey, "expected 6s <= 5s <= 1h0m0s"}},
	}, {
		name: "window sub-second",
		ann:  map[string]string{WindowAnnotationKey: "6500ms"},
		want: []AnnotationError{{WindowAnnotationKey, "must be specified with at most second precision"}},
	}, {
		name: "window garbage",
		ann:  map[string]string{WindowAnnotationKey: "long"},
		want: []AnnotationError{{WindowAnnotationKey, "invalid value: long"}},
	}, {
		name: "retention too long",
		ann:  map[string]string{legacyScaleToZeroPodRetentionPeriodKey: "2h"},
		want: []AnnotationError{{legacyScaleToZeroPodRetentionPeriodKey, "expected 0s <= 2h <= 1h0m0s"}},
	}, {
		name: "scale down delay",
		ann:  map[string]string{ScaleDownDelayAnnotationKey: "1500ms"},
		want: []AnnotationError{{ScaleDownDelayAnnotationKey, "must be specified with at most second precision"}},
	}, {
		name: "scale down delay negative",
		ann:  map[string]string{legacyScaleDownDelayKey: "-1s"},
		want: []AnnotationError{{legacyScaleDownDelayKey, "expected 0s <= -1s <= 1h0m0s"}},
	}, {
		name: "kpa metric",
		ann:  map[string]string{MetricAnnotationKey: CPU},
		want: []AnnotationError{{MetricAnnotationKey, "invalid value: cpu"}},
	}, {
		name: "hpa by config takes cpu",
		cfg:  hpa,
		ann:  map[string]string{MetricAnnotationKey: CPU},
	}, {
		name: "hpa empty metric",
		ann:  map[string]string{ClassAnnotationKey: HPA, MetricAnnotationKey: ""},
		want: []AnnotationError{{MetricAnnotationKey, "invalid value: "}},
	}, {
		name: "algorithm",
		ann:  map[string]string{ClassAnnotationKey: KPA, legacyMetricAggregationAlgorithmKey: "median"},
		want: []AnnotationError{{legacyMetricAggregationAlgorithmKey, "invalid value: median"}},
	}, {
		name: "initial scale zero not allowed",
		ann:  map[string]string{InitialScaleAnnotationKey: "0"},
		want: []AnnotationError{{InitialScaleAnnotationKey, "invalid value: 0: autoscaling.knative.dev/initial-scale=0 not allowed by cluster"}},
	}, {
		name: "initial scale zero allowed",
		cfg:  zeroOK,
		ann:  map[string]string{legacyInitialScaleAnnotationKey: "0"},
	}, {
		name: "initial scale negative",
		ann:  map[string]string{legacyInitialScaleAnnotationKey: "-2"},
		want: []AnnotationError{{legacyInitialScaleAnnotationKey, "invalid value: -2: autoscaling.knative.dev/initialScale must be greater than 0"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg == nil {
				cfg = DefaultConfig()
			}
			got := ValidateAnnotations(cfg, tt.ann)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnnotationErrorFormat(t *testing.T) {
	e := AnnotationError{Key: WindowAnnotationKey, Message: "expected 6s <= 5s <= 1h0m0s"}
	if got, want := e.Error(), "expected 6s <= 5s <= 1h0m0s: autoscaling.knative.dev/window"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestValidateNoAutoscalingAnnotations(t *testing.T) {
	got := ValidateNoAutoscalingAnnotations(map[string]string{
		MinScaleAnnotationKey: "1", "example.com/x": "y", ClassAnnotationKey: KPA,
	})
	want := []AnnotationError{
		{ClassAnnotationKey, `invalid key name "autoscaling.knative.dev/class": autoscaling annotations must be put under "spec.template.metadata.annotations" to work`},
		{MinScaleAnnotationKey, `invalid key name "autoscaling.knative.dev/min-scale": autoscaling annotations must be put under "spec.template.metadata.annotations" to work`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}
